"""YAML that remembers where things were written, for errors that point at file:line:column.

Mappings, lists and strings come back as ``MarkedDict``/``MarkedList``/``MarkedStr`` carrying a
``SourceLocation``; ``locate`` walks an error path back to the text and ``snippet`` shows it.
Leaf module: imports only the stdlib, yaml and ``xctest.errors``.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from xctest.errors import ScenarioError, SourceLocation

__all__ = [
    "MarkedDict",
    "MarkedList",
    "MarkedStr",
    "did_you_mean",
    "load_yaml",
    "locate",
    "location_of",
    "snippet",
]


class MarkedDict(dict[str, Any]):
    """A mapping with the place it starts and the place of each of its keys."""

    location: SourceLocation | None = None
    key_locations: dict[str, SourceLocation]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.key_locations = {}


class MarkedList(list[Any]):
    """A sequence with the place it starts."""

    location: SourceLocation | None = None


class MarkedStr(str):
    """A string with the place it was written."""

    location: SourceLocation | None = None


def _at(file: str, mark: Any) -> SourceLocation:
    return SourceLocation(file, mark.line + 1, mark.column + 1)


class _MarkingLoader(yaml.SafeLoader):
    """SafeLoader whose mappings, sequences and strings keep their source marks."""

    file = "<string>"


def _construct_mapping(loader: _MarkingLoader, node: yaml.MappingNode) -> MarkedDict:
    own: dict[str, yaml.Node] = {}
    for key_node, _ in node.value:
        if key_node.tag == "tag:yaml.org,2002:merge":
            continue
        key = str(key_node.value) if isinstance(key_node, yaml.ScalarNode) else None
        if key is None:
            raise yaml.constructor.ConstructorError(
                "while constructing a mapping",
                node.start_mark,
                "keys must be words",
                key_node.start_mark,
            )
        if key in own:
            raise yaml.constructor.ConstructorError(
                "while constructing a mapping",
                node.start_mark,
                f"found duplicate key {key!r}",
                key_node.start_mark,
            )
        own[key] = key_node
    loader.flatten_mapping(node)
    result = MarkedDict()
    result.location = _at(loader.file, node.start_mark)
    for key_node, value_node in node.value:
        key = str(key_node.value)
        result[key] = loader.construct_object(value_node, deep=True)
        result.key_locations[key] = _at(loader.file, key_node.start_mark)
    return result


def _construct_sequence(loader: _MarkingLoader, node: yaml.SequenceNode) -> MarkedList:
    result = MarkedList(loader.construct_object(child, deep=True) for child in node.value)
    result.location = _at(loader.file, node.start_mark)
    return result


def _construct_str(loader: _MarkingLoader, node: yaml.ScalarNode) -> MarkedStr:
    result = MarkedStr(loader.construct_scalar(node))
    result.location = _at(loader.file, node.start_mark)
    return result


_MarkingLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
_MarkingLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_sequence)
_MarkingLoader.add_constructor("tag:yaml.org,2002:str", _construct_str)


def load_yaml(text: str, file: str, error: type[ScenarioError] = ScenarioError) -> Any:
    """Parse ``text`` (read from ``file``) keeping marks; YAML errors become ``error``."""
    loader = _MarkingLoader(text)
    loader.file = file
    try:
        return loader.get_single_data()
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        where = _at(file, mark) if mark is not None else None
        shown = snippet(text, where.line, where.column) if where else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise error(f"not valid YAML: {problem}", where, shown) from exc
    finally:
        loader.dispose()


def location_of(value: Any) -> SourceLocation | None:
    """Where a loaded value was written, if it remembers."""
    where = getattr(value, "location", None)
    return where if isinstance(where, SourceLocation) else None


def locate(data: Any, path: Iterable[int | str], default: SourceLocation) -> SourceLocation:
    """The deepest place along ``path`` (a pydantic error ``loc``) that the data remembers.

    A mapping entry points at its key, a list item at the item.
    """
    where = location_of(data) or default
    node = data
    for part in path:
        if isinstance(node, MarkedDict) and isinstance(part, str) and part in node:
            where = node.key_locations.get(part, where)
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            node = node[part]
            where = location_of(node) or where
        else:
            break
    return where


def snippet(text: str, line: int, column: int, context: int = 1) -> str:
    """The offending line with ``context`` lines before it and a caret under ``column``."""
    lines = text.splitlines()
    if not 0 < line <= len(lines):
        return ""
    first = max(1, line - context)
    width = len(str(line))
    out = []
    for number in range(first, line + 1):
        marker = ">" if number == line else " "
        out.append(f"{marker} {number:>{width}} | {lines[number - 1]}".rstrip())
    out.append(f"  {'':>{width}} | {' ' * (column - 1)}^")
    return "\n".join(out)


def did_you_mean(word: str, allowed: Sequence[str]) -> str | None:
    """The closest allowed word to a misspelt one, if one is close enough."""
    close = difflib.get_close_matches(word, list(allowed), n=1, cutoff=0.6)
    return close[0] if close else None


def read_mapping(
    path: Path, error: type[ScenarioError], kind: str, shape: str
) -> tuple[str, MarkedDict]:
    """The text and top mapping of a ``kind`` file (lab, target); ``error`` when it cannot be
    read, is not YAML, or is not a mapping (``shape`` says what it should be)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise error(f"cannot read {kind} file {path}: {exc.strerror}") from exc
    data = load_yaml(text, str(path), error)
    if not isinstance(data, MarkedDict):
        raise error(f"a {kind} file is {shape}", SourceLocation(str(path), 1, 1))
    return text, data


def model_error(
    exc: ValidationError, data: Any, text: str, path: Path, error: type[ScenarioError]
) -> ScenarioError:
    """A pydantic error on a loaded file as ``error`` at the place it names, with the line."""
    err = exc.errors()[0]
    where = locate(data, err["loc"], SourceLocation(str(path), 1, 1))
    field = ".".join(str(p) for p in err["loc"])
    message = str(err["msg"]).removeprefix("Value error, ")
    shown = snippet(text, where.line, where.column, context=0)
    return error(f"{field}: {message}" if field else message, where, shown)
