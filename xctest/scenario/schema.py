"""The JSON Schema of scenario files, for editor completion (``xctest schema``).

Generated from the pydantic models, with the short forms the loader accepts (party-keyed
steps, events and checks; bare action words; includes).  Pure: no asyncio, no actors.
"""

from __future__ import annotations

from typing import Any

from xctest.scenario.model import (
    ACTION_MODELS,
    BARE_ACTIONS,
    PHONE_EVENTS,
    SIP_METHODS,
    STEP_KEYWORDS,
    WEBRTC_EVENTS,
    Expectations,
    KeepCallUp,
    Scenario,
)

__all__ = ["json_schema"]

_SCHEMA_URI = "https://json-schema.org/draft/2020-12/schema"


def _event_pattern() -> dict[str, Any]:
    sources = {
        "webrtc": {"enum": list(WEBRTC_EVENTS)},
        "phone_event": {"enum": list(PHONE_EVENTS)},
        "sip": {"anyOf": [{"enum": list(SIP_METHODS)}, {"type": "integer"}]},
    }
    return {
        "type": "object",
        "description": "one event: a source key (webrtc, phone_event, sip) and fields to match",
        "properties": sources,
        "oneOf": [{"required": [name]} for name in sources],
        "additionalProperties": {"type": ["string", "number", "boolean"]},
    }


def _event_match() -> dict[str, Any]:
    ids = {"anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]}
    return {
        "type": "object",
        "description": "<party>: event, with optional id/after/before for a partial order",
        "properties": {"id": {"type": "string"}, "after": ids, "before": ids},
        "additionalProperties": {"$ref": "#/$defs/EventPattern"},
        "minProperties": 1,
    }


def _per_party(ref: str) -> dict[str, Any]:
    return {"type": "object", "additionalProperties": {"$ref": ref}}


def _allow_variables(node: Any) -> None:
    """A ``{variable}`` may stand where a pattern would refuse the raw text."""
    if isinstance(node, dict):
        if isinstance(node.get("pattern"), str):
            node["pattern"] = f"(?:{node['pattern']})|\\{{[A-Za-z_]"
        for value in node.values():
            _allow_variables(value)
    elif isinstance(node, list):
        for value in node:
            _allow_variables(value)


def json_schema() -> dict[str, Any]:
    """The schema of a ``*.scenario.yaml`` file (one scenario, or defaults + scenarios)."""
    base = Scenario.model_json_schema(mode="validation", ref_template="#/$defs/{model}")
    defs: dict[str, Any] = base.pop("$defs", {})
    defs["EventPattern"] = _event_pattern()
    defs["EventMatch"] = _event_match()
    matches = {"type": "array", "items": {"$ref": "#/$defs/EventMatch"}}
    events = defs["Events"]["properties"]
    for key in ("in_order", "in_any_order", "never"):
        events[key] = matches
    for name in ("AudioCheck", "TimingCheck", "MosCheck", "QualityCheck"):
        defs[name]["properties"].pop("party", None)
        defs[name]["required"] = [r for r in defs[name].get("required", []) if r != "party"]
    expectations = defs[Expectations.__name__]["properties"]
    expectations["audio"] = _per_party("#/$defs/AudioCheck")
    expectations["timings"] = _per_party("#/$defs/TimingCheck")
    expectations["mos"] = _per_party("#/$defs/MosCheck")
    expectations["quality"] = _per_party("#/$defs/QualityCheck")
    defs["WaitFor"]["properties"]["wait_for"] = {"$ref": "#/$defs/EventPattern"}
    for stale in ("EventMatch_", "PartyStep", "Template", "PartyField"):
        defs.pop(stale, None)
    action = {
        "anyOf": [
            {"enum": list(BARE_ACTIONS)},
            *({"$ref": f"#/$defs/{model.__name__}"} for model in ACTION_MODELS.values()),
        ]
    }
    include = {
        "anyOf": [
            {"type": "string", "description": "a block of this file"},
            {
                "type": "object",
                "properties": {
                    "block": {"type": "string"},
                    "from": {"type": "string", "description": "file with a blocks: mapping"},
                    "with": {"type": "object"},
                },
                "required": ["block"],
                "additionalProperties": False,
            },
        ]
    }
    defs["Step"] = {
        "type": "object",
        "description": f"<party>: action, or one of {', '.join(STEP_KEYWORDS)}",
        "properties": {
            "expect": {"$ref": f"#/$defs/{Expectations.__name__}"},
            "keep_call_up": KeepCallUp.model_json_schema()["properties"]["keep_call_up"],
            "include": include,
        },
        "additionalProperties": action,
        "minProperties": 1,
        "maxProperties": 1,
    }
    props = base["properties"]
    props.pop("params", None)
    props["steps"] = {"type": "array", "items": {"$ref": "#/$defs/Step"}, "minItems": 1}
    props["vars"] = {
        "type": "object",
        "additionalProperties": {"type": ["string", "number", "boolean"]},
    }
    props["matrix"] = {
        "anyOf": [
            {"type": "object", "additionalProperties": {"type": "array", "minItems": 1}},
            {"type": "array", "items": {"type": "object"}},
        ]
    }
    props["blocks"] = {
        "type": "object",
        "additionalProperties": {"type": "array", "items": {"$ref": "#/$defs/Step"}},
    }
    scenario = {k: v for k, v in base.items() if k != "title"}
    scenario["additionalProperties"] = False
    defs["Scenario"] = scenario
    defaults = {**scenario, "required": []}
    _allow_variables(defs)
    return {
        "$schema": _SCHEMA_URI,
        "title": "xctest scenario file",
        "anyOf": [
            {"$ref": "#/$defs/Scenario"},
            {
                "type": "object",
                "properties": {
                    "defaults": defaults,
                    "scenarios": {"type": "array", "items": {**scenario, "required": ["name"]}},
                },
                "required": ["scenarios"],
                "additionalProperties": False,
            },
        ],
        "$defs": defs,
    }
