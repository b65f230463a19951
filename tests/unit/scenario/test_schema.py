"""The exported JSON Schema describes the file as authors write it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from xctest.scenario import json_schema
from xctest.scenario.model import ACTIONS

DATA = Path(__file__).resolve().parents[2] / "data"
GOOD = sorted((DATA / "scenarios_good").glob("*.scenario.yaml"))


def test_schema_is_json_and_lists_every_action():
    schema = json_schema()
    json.dumps(schema)
    step = schema["$defs"]["Step"]
    assert set(step["properties"]) == {"expect", "keep_call_up", "include"}
    text = json.dumps(step["additionalProperties"]) + json.dumps(schema["$defs"])
    for word in ACTIONS:
        assert f'"{word}"' in text


def test_schema_refs_resolve():
    schema = json_schema()
    refs = set()

    def walk(node):
        if isinstance(node, dict):
            if "$ref" in node:
                refs.add(node["$ref"].split("/")[-1])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(schema)
    assert refs <= set(schema["$defs"])


@pytest.mark.parametrize("path", GOOD, ids=[p.name for p in GOOD])
def test_good_files_validate_against_the_schema(path):
    import jsonschema  # a dev dependency: absent, the test fails loudly

    jsonschema.validate(yaml.safe_load(path.read_text()), json_schema())


def test_schema_refuses_an_unknown_scenario_key():
    import jsonschema  # a dev dependency: absent, the test fails loudly

    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"name": "x", "parties": ["a"], "step": []}, json_schema())
