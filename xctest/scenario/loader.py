"""Scenario files (*.scenario.yaml) -> validated ``Scenario`` models, before any call is placed.

Expands ``defaults``, the ``matrix``, ``include`` of step blocks and ``{variables}``; party
fields (``{carol.number}``) stay typed for the runner.  Every error is a ``ScenarioError``
at file:line:column with the lines shown.  Pure: no asyncio, no actors.
"""

from __future__ import annotations

import itertools
import re
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from xctest.errors import (
    ScenarioError,
    ScenarioSchemaError,
    ScenarioSyntaxError,
    SourceLocation,
    UnknownStepError,
    VariableError,
)
from xctest.scenario.model import TAGS, Scenario
from xctest.yamlsource import (
    MarkedDict,
    MarkedList,
    MarkedStr,
    did_you_mean,
    load_yaml,
    location_of,
    snippet,
)

__all__ = ["SCENARIO_SUFFIX", "load_scenario_text", "load_scenarios"]

SCENARIO_SUFFIX = ".scenario.yaml"
SCENARIO_KEYS = ("name", "description", "parties", "vars", "matrix", "timeouts", "blocks", "steps")
FILE_KEYS = ("defaults", "scenarios")
INCLUDE_KEYS = ("block", "from", "with")
_MAX_INCLUDE_DEPTH = 8
_VARIABLE = re.compile(r"\{\{|\}\}|\{([A-Za-z_][A-Za-z0-9_-]*)\}")


class _Source:
    """The files read so far, to show the lines an error points at."""

    def __init__(self) -> None:
        self.texts: dict[str, str] = {}

    def read(self, path: Path, at: SourceLocation | None = None) -> Any:
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ScenarioError(f"cannot read {path}: {exc.strerror}", at, self.show(at)) from exc
        self.texts[str(path)] = text
        return load_yaml(text, str(path), ScenarioSyntaxError)

    def show(self, where: SourceLocation | None) -> str:
        if where is None or where.file not in self.texts:
            return ""
        return snippet(self.texts[where.file], where.line, where.column)

    def unknown(
        self, word: str, allowed: tuple[str, ...], what: str, at: Any
    ) -> UnknownStepError | VariableError:
        where = at if isinstance(at, SourceLocation) else location_of(at)
        guess = did_you_mean(word, allowed)
        message = f"unknown {what} {word!r}" + (f"; did you mean {guess!r}?" if guess else "")
        shown = self.show(where) + f"\n  allowed: {', '.join(allowed) or '(none)'}"
        if what == "variable":
            return VariableError(message, where, shown)
        return UnknownStepError(message, where, shown, word=word, allowed=allowed)

    def schema_error(
        self, message: str, at: Any, cls: type[ScenarioError] = ScenarioSchemaError
    ) -> ScenarioError:
        where = at if isinstance(at, SourceLocation) else location_of(at)
        return cls(message, where, self.show(where))


def load_scenarios(path: str | Path) -> list[Scenario]:
    """Every scenario of a file (one per matrix row), validated; raise ``ScenarioError``."""
    source = _Source()
    path = Path(path)
    return _scenarios(source.read(path), path, source)


def load_scenario_text(text: str, file: str = "<scenario>") -> list[Scenario]:
    """Like ``load_scenarios`` for text already in memory (includes resolve from the cwd)."""
    source = _Source()
    source.texts[file] = text
    return _scenarios(load_yaml(text, file, ScenarioSyntaxError), Path(file), source)


def _scenarios(data: Any, path: Path, source: _Source) -> list[Scenario]:
    if not isinstance(data, MarkedDict):
        top = location_of(data) or SourceLocation(str(path), 1, 1)
        raise source.schema_error(
            "a scenario file is a mapping with name, parties and steps "
            "(or defaults and a scenarios list)",
            top,
        )
    if "scenarios" not in data:
        return _expand(data, path, source)
    _check_keys(data, FILE_KEYS, "file key", source)
    defaults = data.get("defaults") or MarkedDict()
    if not isinstance(defaults, MarkedDict):
        raise source.schema_error("defaults is a mapping of scenario keys", defaults)
    _check_keys(defaults, SCENARIO_KEYS, "scenario key", source)
    items = data["scenarios"]
    if not isinstance(items, list) or not items:
        raise source.schema_error(
            "scenarios is a list of scenarios", data.key_locations["scenarios"]
        )
    out: list[Scenario] = []
    for item in items:
        if not isinstance(item, MarkedDict):
            raise source.schema_error("each scenario is a mapping", item)
        out.extend(_expand(_merge(defaults, item), path, source))
    return out


def _merge(defaults: MarkedDict, scenario: MarkedDict) -> MarkedDict:
    merged = MarkedDict(defaults)
    merged.key_locations = dict(defaults.key_locations)
    merged.location = scenario.location
    for key, value in scenario.items():
        if (
            key in ("vars", "blocks")
            and isinstance(merged.get(key), MarkedDict)
            and isinstance(value, MarkedDict)
        ):
            both = MarkedDict({**merged[key], **value})
            both.key_locations = {**merged[key].key_locations, **value.key_locations}
            both.location = value.location
            value = both
        merged[key] = value
        merged.key_locations[key] = scenario.key_locations[key]
    return merged


def _check_keys(data: MarkedDict, allowed: tuple[str, ...], what: str, source: _Source) -> None:
    for key in data:
        if key not in allowed:
            raise source.unknown(key, allowed, what, data.key_locations.get(key))


def _expand(raw: MarkedDict, path: Path, source: _Source) -> list[Scenario]:
    _check_keys(raw, SCENARIO_KEYS, "scenario key", source)
    variables = _variables(raw.get("vars"), source)
    blocks = raw.get("blocks") or MarkedDict()
    if not isinstance(blocks, MarkedDict):
        raise source.schema_error("blocks is a mapping of name -> list of steps", blocks)
    out = []
    for row in _matrix(raw.get("matrix"), variables, source):
        values = {**variables, **row}
        body = MarkedDict({k: v for k, v in raw.items() if k not in ("vars", "matrix", "blocks")})
        body.key_locations = raw.key_locations
        body.location = raw.location
        if isinstance(body.get("steps"), list):
            body["steps"] = _includes(body["steps"], blocks, path, source, 0)
        body = _substitute(body, values, source)
        if row:
            label = ",".join(f"{k}={v}" for k, v in row.items())
            body["name"] = f"{body.get('name', '')}[{label}]"
            body["params"] = dict(row)
        out.append(_validate(body, source))
    return out


def _variables(data: Any, source: _Source) -> dict[str, Any]:
    if data is None:
        return {}
    if not isinstance(data, MarkedDict):
        raise source.schema_error("vars is a mapping of name -> value", data, VariableError)
    for key, value in data.items():
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_-]*", key):
            raise source.schema_error(
                f"{key!r} is not a variable name", data.key_locations[key], VariableError
            )
        if isinstance(value, dict | list) or value is None:
            raise source.schema_error(
                f"variable {key!r} holds text or a number, not {value!r}",
                data.key_locations[key],
                VariableError,
            )
    return dict(data)


def _matrix(data: Any, variables: dict[str, Any], source: _Source) -> list[dict[str, Any]]:
    """The rows of a ``matrix``: a mapping of name -> values (every combination) or a list."""
    if data is None:
        return [{}]
    rows: list[dict[str, Any]]
    if isinstance(data, MarkedDict):
        for key, values in data.items():
            if not isinstance(values, list) or not values:
                raise source.schema_error(
                    f"matrix {key!r} is a non-empty list of values", data.key_locations[key]
                )
        rows = [dict(zip(data, combo, strict=True)) for combo in itertools.product(*data.values())]
    elif isinstance(data, list) and data and all(isinstance(r, MarkedDict) for r in data):
        rows = [dict(r) for r in data]
    else:
        raise source.schema_error(
            "matrix is a mapping of name -> list of values, or a list of rows", data
        )
    for row in rows:
        _variables(_marked_like(row, data), source)
    return rows


def _marked_like(row: dict[str, Any], like: Any) -> MarkedDict:
    out = MarkedDict(row)
    out.location = location_of(like)
    if isinstance(like, MarkedDict):
        out.key_locations = {k: at for k in row if (at := like.key_locations.get(k))}
    return out


def _includes(
    steps: list[Any], blocks: MarkedDict, path: Path, source: _Source, depth: int
) -> MarkedList:
    """Steps with every ``- include:`` replaced by the steps of its block."""
    out = MarkedList()
    out.location = location_of(steps)
    for step in steps:
        if not (isinstance(step, MarkedDict) and "include" in step):
            out.append(step)
            continue
        where = step.key_locations["include"]
        if len(step) != 1:
            raise source.schema_error("an include step has only the include key", where)
        if depth >= _MAX_INCLUDE_DEPTH:
            raise source.schema_error(
                "includes nest too deep (an include cycle?)", where, VariableError
            )
        spec = step["include"]
        if isinstance(spec, str):
            spec = MarkedDict(block=spec)
            spec.location = where
        if not isinstance(spec, MarkedDict) or "block" not in spec:
            raise source.schema_error(
                "include names a block: 'include: name' or {block: name, from: file, with: {...}}",
                where,
            )
        _check_keys(spec, INCLUDE_KEYS, "include key", source)
        library, library_path = blocks, path
        if "from" in spec:
            library_path = path.parent / str(spec["from"])
            loaded = source.read(library_path, location_of(spec["from"]))
            if not isinstance(loaded, MarkedDict) or not isinstance(
                loaded.get("blocks"), MarkedDict
            ):
                raise source.schema_error(f"{library_path} has no 'blocks:' mapping", spec["from"])
            library = loaded["blocks"]
        name = str(spec["block"])
        if name not in library:
            raise source.unknown(name, tuple(library), "block", spec["block"])
        body = library[name]
        if not isinstance(body, list):
            raise source.schema_error(f"block {name!r} is a list of steps", body)
        given = _variables(spec.get("with"), source)
        body = _substitute(body, given, source, strict=False)
        out.extend(_includes(body, library, library_path, source, depth + 1))
    return out


def _substitute(data: Any, values: dict[str, Any], source: _Source, strict: bool = True) -> Any:
    """``{name}`` replaced by the variable's value everywhere (keys too); party fields kept."""
    if isinstance(data, MarkedDict):
        out = MarkedDict()
        out.location = data.location
        for key, value in data.items():
            new_key = str(
                _substitute_text(key, values, source, strict, data.key_locations.get(key))
            )
            out[new_key] = _substitute(value, values, source, strict)
            if key in data.key_locations:
                out.key_locations[new_key] = data.key_locations[key]
        return out
    if isinstance(data, list):
        items = MarkedList(_substitute(v, values, source, strict) for v in data)
        items.location = location_of(data)
        return items
    if isinstance(data, str):
        return _substitute_text(data, values, source, strict, location_of(data))
    return data


def _substitute_text(
    text: str, values: dict[str, Any], source: _Source, strict: bool, where: SourceLocation | None
) -> Any:
    whole = _VARIABLE.fullmatch(text)
    if whole and whole.group(1) in values and not isinstance(values[whole.group(1)], str):
        return values[whole.group(1)]

    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if name is None:
            return match.group(0)
        if name in values:
            return str(values[name])
        if strict:
            raise source.unknown(name, tuple(values), "variable", where)
        return match.group(0)

    result = MarkedStr(_VARIABLE.sub(replace, text))
    result.location = where
    return result


def _validate(body: MarkedDict, source: _Source) -> Scenario:
    parties = body.get("parties")
    context: dict[str, Any] = {}
    if isinstance(parties, list) and all(isinstance(p, str) for p in parties):
        context["parties"] = tuple(parties)
    try:
        return Scenario.model_validate(body, context=context)
    except ValidationError as exc:
        raise _translate(exc, body, source) from exc


def _translate(exc: ValidationError, body: MarkedDict, source: _Source) -> ScenarioError:
    err = exc.errors()[0]
    ctx = err.get("ctx") or {}
    loc = tuple(p for p in err["loc"] if p not in TAGS)
    if "line" in ctx:
        where: SourceLocation | None = SourceLocation(ctx["file"], ctx["line"], ctx["column"])
    else:
        where = location_of(err["input"]) or _walk(body, loc)
    if err["type"] == "unknown_word":
        allowed = tuple(a for a in str(ctx["allowed"]).split(", ") if a)
        return UnknownStepError(
            str(ctx["message"]),
            where,
            source.show(where) + f"\n  allowed: {', '.join(allowed) or '(none)'}",
            word=str(ctx["word"]),
            allowed=allowed,
        )
    field = ".".join(str(p) for p in loc)
    if err["type"] == "missing" and loc:
        field, message = ".".join(str(p) for p in loc[:-1]), f"missing key {loc[-1]!r}"
    elif err["type"] == "scenario":
        message = str(ctx["message"])
    else:
        message = err["msg"]
    return ScenarioSchemaError(
        f"{field}: {message}" if field else message, where, source.show(where)
    )


def _walk(data: Any, loc: tuple[int | str, ...]) -> SourceLocation | None:
    """The deepest place along an error path; parts the file does not spell are skipped."""
    where = location_of(data)
    node = data
    for part in loc:
        if isinstance(node, MarkedDict) and isinstance(part, str) and part in node:
            where = node.key_locations.get(part, where)
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            node = node[part]
            where = location_of(node) or where
        elif isinstance(node, MarkedDict) and len(node) == 1:
            node = next(iter(node.values()))
    return where
