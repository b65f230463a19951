"""Scenario values: durations (``3s``, ``500ms``), ``{variable}`` templates and party fields,
and the ``Node`` base that keeps every node's source location.  Pure.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    PrivateAttr,
    StrictBool,
    StrictFloat,
    StrictInt,
    ValidationInfo,
    WithJsonSchema,
    model_validator,
)

from xctest.errors import SourceLocation
from xctest.scenario.words import (
    PARTY_FIELDS,
    _check_party,
    _key_at,
    invalid,
    unknown_word,
)
from xctest.yamlsource import MarkedDict, location_of

# --- durations and templates ---------------------------------------------------------------------

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|min)\s*$")
_DURATION_PATTERN = r"^\d+(\.\d+)?(ms|s|m|min)$"


def parse_duration(value: Any) -> float:
    """``3s``, ``500ms``, ``1.5s``, ``2m`` (or a number of seconds) -> seconds."""
    if isinstance(value, bool):
        raise invalid(f"{value!r} is not a duration (write 3s, 500ms, 1.5s or 2m)")
    if isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str) and (match := _DURATION.match(value)):
        scale = {"ms": 0.001, "s": 1.0, "m": 60.0, "min": 60.0}[match.group(2)]
        seconds = float(match.group(1)) * scale
    else:
        raise invalid(f"{value!r} is not a duration (write 3s, 500ms, 1.5s or 2m)")
    if seconds <= 0:
        raise invalid(f"a duration must be above zero, not {value!r}")
    return seconds


Duration = Annotated[
    float,
    BeforeValidator(parse_duration),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "string", "pattern": _DURATION_PATTERN},
                {"type": "number", "exclusiveMinimum": 0},
            ],
            "description": "a duration: 3s, 500ms, 1.5s, 2m",
        }
    ),
]


_SHARE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*%\s*$")
_SHARE_PATTERN = r"^\d+(\.\d+)?%$"


def parse_share(value: Any) -> float:
    """``1%``, ``0.5%`` (or a fraction, ``0.01``) -> a fraction in [0, 1]."""
    if isinstance(value, bool):
        raise invalid(f"{value!r} is not a share (write 1% or 0.5%)")
    if isinstance(value, int | float):
        share = float(value)
    elif isinstance(value, str) and (match := _SHARE.match(value)):
        share = float(match.group(1)) / 100.0
    else:
        raise invalid(f"{value!r} is not a share (write 1% or 0.5%)")
    if not 0.0 <= share <= 1.0:
        raise invalid(f"a share is between 0% and 100%, not {value!r}")
    return share


Share = Annotated[
    float,
    BeforeValidator(parse_share),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "string", "pattern": _SHARE_PATTERN},
                {"type": "number", "minimum": 0, "maximum": 1},
            ],
            "description": "a share: 1%, 0.5% (or a fraction 0.01)",
        }
    ),
]


class PartyField(BaseModel):
    """``{carol.number}``: a field of a party, resolved when the scenario runs."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    party: str
    field: Literal["number", "login", "line_name", "firstname", "lastname", "display_name"]

    def __str__(self) -> str:
        return f"{{{self.party}.{self.field}}}"


class Template(BaseModel):
    """Text with party fields in it, kept unresolved: ``"{carol.number}"``, ``"*10"``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    parts: tuple[str | PartyField, ...]

    def __str__(self) -> str:
        return "".join(
            p.replace("{", "{{").replace("}", "}}") if isinstance(p, str) else str(p)
            for p in self.parts
        )

    @property
    def party_fields(self) -> tuple[PartyField, ...]:
        return tuple(p for p in self.parts if isinstance(p, PartyField))

    @property
    def literal(self) -> str | None:
        """The text when there is no party field in it."""
        return None if self.party_fields else "".join(str(p) for p in self.parts)

    def render(self, lookup: Callable[[PartyField], str]) -> str:
        """The text with each party field replaced by ``lookup(field)``."""
        return "".join(p if isinstance(p, str) else lookup(p) for p in self.parts)


_BRACES = re.compile(r"\{\{|\}\}|\{([^{}]*)\}|[{}]")


def parse_template(value: Any, info: ValidationInfo) -> Any:
    """Split a string into literal text and ``{party.field}`` references."""
    if isinstance(value, Template):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        raise invalid(f"expected text, not {value!r}")
    parts: list[str | PartyField] = []
    last = 0
    for match in _BRACES.finditer(value):
        if match.start() > last:
            parts.append(value[last : match.start()])
        last = match.end()
        token = match.group(0)
        if token in ("{{", "}}"):
            parts.append(token[0])
        elif match.group(1) is None:
            raise invalid(f"unmatched {token!r} in {value!r} (write {token * 2} for a brace)")
        else:
            party, dot, field = match.group(1).partition(".")
            if not dot:
                raise invalid(f"{{{party}}} is not a variable of this scenario")
            _check_party(party, info)
            if field not in PARTY_FIELDS:
                raise unknown_word(field, PARTY_FIELDS, "party field")
            parts.append(PartyField(party=party, field=field))  # type: ignore[arg-type]
    if last < len(value):
        parts.append(value[last:])
    merged: list[str | PartyField] = []
    for part in parts:
        if isinstance(part, str) and merged and isinstance(merged[-1], str):
            merged[-1] += part
        else:
            merged.append(part)
    return Template(parts=tuple(merged))


Text = Annotated[
    Template,
    BeforeValidator(parse_template),
    PlainSerializer(str, return_type=str),
    WithJsonSchema({"type": "string", "description": "text; {party.field} is filled in at run"}),
]
Scalar = Annotated[
    StrictBool | StrictInt | StrictFloat | Text,
    Field(union_mode="left_to_right"),
    WithJsonSchema({"type": ["string", "number", "boolean"]}),
]


# --- the node base -------------------------------------------------------------------------------


class Node(BaseModel):
    """A node of a scenario: frozen, strict about its keys, and aware of where it was written."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)
    what: ClassVar[str] = "key"

    _location: SourceLocation | None = PrivateAttr(default=None)

    @property
    def location(self) -> SourceLocation | None:
        return self._location

    @classmethod
    def normalise(cls, data: Any, info: ValidationInfo) -> Any:
        """Turn a short form into the full one; the default keeps data as it is."""
        return data

    @classmethod
    def keys(cls) -> tuple[str, ...]:
        return tuple(f.alias or name for name, f in cls.model_fields.items())

    @model_validator(mode="wrap")
    @classmethod
    def _validate_node(cls, data: Any, handler: Any, info: ValidationInfo) -> Any:
        if isinstance(data, Node):
            return handler(data)
        where = location_of(data)
        data = cls.normalise(data, info)
        where = location_of(data) or where
        if isinstance(data, dict):
            allowed = cls.keys()
            for key in data:
                if key not in allowed:
                    raise unknown_word(key, allowed, cls.what, _key_at(data, key))
        node = handler(data)
        if where is not None:
            node._location = where
        return node


def _marked(data: dict[str, Any], where: SourceLocation | None) -> MarkedDict:
    out = MarkedDict(data)
    out.location = where
    return out
