"""The field codec shared by CTI commands and messages: one dataclass field = one JSON key.

Field types come from the annotations, JSON keys are the camelCase of the names unless
``json_key`` says otherwise.  Decoding is strict unless the caller passes a ``notes`` list
(the phone does, the simulator does not): then a value of another JSON type that converts
without loss (a number where text is expected, ``"3600"`` for an integer, ``"true"`` for a
boolean) is taken converted and the conversion written into ``notes``, so a real XUC's frame
is kept and the caller can warn.  Fields named in ``STRICT`` never convert (xc_webrtc itself
refuses them).  Anything else is a ``CtiProtocolError``.
Internal to ``xctest.cti``; sans-IO (stdlib, ``xctest.errors``).
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import json
import operator
import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import MISSING, dataclass
from typing import Any, ClassVar, Self

from xctest.errors import CtiFrameNotJson, CtiProtocolError

QUOTE_LIMIT = 200  # characters of the offending frame quoted in an error message


def json_type(value: Any) -> str:
    """JSON name of a decoded value's type, for error messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def frame_error(
    problem: str, text: str, kind: type[CtiProtocolError] = CtiProtocolError
) -> CtiProtocolError:
    """``problem``, then the frame quoted (truncated); the whole frame rides on the error."""
    quoted = text if len(text) <= QUOTE_LIMIT else text[:QUOTE_LIMIT] + "..."
    return kind(f"{problem}: {quoted!r}", frame=text, problem=problem)


def shape_error(what: str, name: str, expected: str, value: Any) -> CtiProtocolError:
    return CtiProtocolError(f'{what} field "{name}" must be {expected}, got {json_type(value)}')


def parse_object(text: str) -> dict[str, Any]:
    """The JSON object of one text frame."""
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as exc:
        where = f"{exc.msg} at line {exc.lineno} column {exc.colno}"
        raise frame_error(f"CTI frame is not JSON: {where}", text, CtiFrameNotJson) from None
    if not isinstance(obj, dict):
        raise frame_error("CTI frame is not a JSON object", text)
    return obj


def plain(value: Any) -> Any:
    """JSON-ready copy: records as objects, mappings as dicts, tuples as lists, enums as values."""
    if isinstance(value, Record):
        return value._dump()
    if isinstance(value, Mapping):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, tuple | list):
        return [plain(item) for item in value]
    return value.value if isinstance(value, enum.Enum) else value


def dumps(obj: Any) -> str:
    """Compact JSON text, non-ASCII kept as is (websocket text frames are UTF-8)."""
    return json.dumps(plain(obj), separators=(",", ":"), ensure_ascii=False)


Notes = list[str] | None
"""Where a decoder writes what it converted (None: nowhere)."""

_REFUSED = object()  # what a coercion returns when the value does not convert


def _text_of(value: Any) -> Any:
    """A JSON number or boolean as the text a JavaScript client would print."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return json.dumps(value)
    return _REFUSED


def _int_of(value: Any) -> Any:
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return _REFUSED


def _bool_of(value: Any) -> Any:
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    if isinstance(value, int) and not isinstance(value, bool) and value in (0, 1):
        return bool(value)
    return _REFUSED


def note(notes: Notes, what: str, name: str, value: Any, taken: Any) -> None:
    """Record that ``value`` of field ``name`` was taken as ``taken``."""
    if notes is not None:
        shown = json.dumps(value, ensure_ascii=False)
        notes.append(f'{what} field "{name}": {json_type(value)} {shown} taken as {taken!r}')


def json_key(key: str, default: Any = MISSING) -> Any:
    """A dataclass field whose JSON key is not the camelCase of its name."""
    return dataclasses.field(default=default, metadata={"json": key})


# --- kinds: how a field type is checked, loaded and frozen ------------------------------------


def _same(value: Any, what: str, name: str, notes: Notes) -> Any:
    return value


def _anything(value: Any) -> bool:
    return True


@dataclass(frozen=True)
class _Kind:
    expected: str  # for "must be <expected>"
    check: Callable[[Any], bool]
    load: Callable[[Any, str, str, Notes], Any] = _same
    freeze: Callable[[Any], Any] = lambda value: value
    coerce: Callable[[Any], Any] | None = None  # a lossless conversion, or _REFUSED


def _is_str(value: Any) -> bool:
    return isinstance(value, str)


def _is_object(value: Any) -> bool:
    return isinstance(value, dict)


def _load_str_map(value: dict[str, Any], what: str, name: str, notes: Notes) -> dict[str, str]:
    """Text values; when tolerant, numbers and booleans converted and ``null`` dropped."""
    out: dict[str, str] = {}
    for key, item in value.items():
        if isinstance(item, str):
            out[key] = item
        elif notes is None:
            raise shape_error(what, f"{name}.{key}", "a string", item)
        elif item is None:
            note(notes, what, f"{name}.{key}", item, "absent")
        elif (text := _text_of(item)) is not _REFUSED:
            note(notes, what, f"{name}.{key}", item, text)
            out[key] = text
        else:
            raise shape_error(what, f"{name}.{key}", "a string", item)
    return out


def _load_strings(value: Any, what: str, name: str, notes: Notes) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    out = []
    for i, item in enumerate(value):
        if not isinstance(item, str):
            text = _text_of(item)
            if notes is None or text is _REFUSED:
                raise shape_error(what, f"{name}[{i}]", "a string", item)
            note(notes, what, f"{name}[{i}]", item, text)
            item = text
        out.append(item)
    return tuple(out)


def _is_strings(value: Any) -> bool:
    return _is_str(value) or isinstance(value, list)  # items are checked as they load


def _frozen_map(value: Mapping[str, Any]) -> Mapping[str, Any]:
    return types.MappingProxyType(dict(value))


_SIMPLE: dict[Any, _Kind] = {
    str: _Kind("a string", _is_str, coerce=_text_of),
    int: _Kind(
        "an integer", lambda v: isinstance(v, int) and not isinstance(v, bool), coerce=_int_of
    ),
    bool: _Kind("a boolean", lambda v: isinstance(v, bool), coerce=_bool_of),
    Any: _Kind("any JSON value", _anything),
    Mapping[str, str]: _Kind("an object", _is_object, _load_str_map, _frozen_map),
    Mapping[str, Any]: _Kind("an object", _is_object, freeze=_frozen_map),
    tuple[str, ...]: _Kind("a string or an array of strings", _is_strings, _load_strings, tuple),
}


def _kind_of(tp: Any) -> _Kind:
    if tp in _SIMPLE:
        return _SIMPLE[tp]
    args = typing.get_args(tp)
    if isinstance(tp, type) and issubclass(tp, Record):
        return _Kind("an object", _is_object, tp._load)
    if typing.get_origin(tp) is tuple and len(args) == 2 and args[1] is Ellipsis:
        item: type[Record] = args[0]
        return _Kind(
            "an array",
            lambda v: isinstance(v, list),
            lambda v, w, n, notes: tuple(
                item._load(e, w, f"{n}[{i}]", notes) for i, e in enumerate(v)
            ),
            tuple,
        )
    if typing.get_origin(tp) is types.UnionType and args[1:] == (str,):
        values: type[enum.StrEnum] = args[0]  # StrEnum | str: unknown values stay strings

        def load(value: str, what: str, name: str, notes: Notes) -> Any:
            return values(value) if value in values._value2member_map_ else value

        return _Kind("a string", _is_str, load, coerce=_text_of)
    raise TypeError(f"no JSON kind for field type {tp!r}")


@dataclass(frozen=True)
class _Spec:
    name: str  # Python attribute
    key: str  # JSON key
    kind: _Kind
    optional: bool  # typed "| None": absent or null on the wire means None
    required: bool  # no default and not optional
    strict: bool  # never converted from another JSON type


_SPECS: dict[type, tuple[_Spec, ...]] = {}


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def _specs(cls: type[Record]) -> tuple[_Spec, ...]:
    if cls not in _SPECS:
        hints = typing.get_type_hints(cls)
        specs = []
        for f in dataclasses.fields(cls):
            tp, args = hints[f.name], typing.get_args(hints[f.name])
            optional = typing.get_origin(tp) is types.UnionType and types.NoneType in args
            if optional:
                tp = functools.reduce(operator.or_, [a for a in args if a is not types.NoneType])
            no_default = f.default is MISSING and f.default_factory is MISSING
            key = f.metadata.get("json", _camel(f.name))
            required = no_default and not optional
            is_strict = f.name in cls.STRICT
            specs.append(_Spec(f.name, key, _kind_of(tp), optional, required, is_strict))
        _SPECS[cls] = tuple(specs)
    return _SPECS[cls]


def _coerced(spec: _Spec, value: Any, notes: Notes) -> Any:
    """``value`` converted for a tolerant decoder, or ``_REFUSED``."""
    if notes is None or spec.strict or spec.kind.coerce is None:
        return _REFUSED
    return spec.kind.coerce(value)


class Record:
    """A model that is one JSON object (subclasses are frozen dataclasses)."""

    __dataclass_fields__: ClassVar[dict[str, Any]]
    KEEP_NULL: ClassVar[bool] = False  # encode None as null instead of omitting the key
    STRICT: ClassVar[frozenset[str]] = frozenset()  # fields never converted from another type

    def __post_init__(self) -> None:
        # read-only copies of mappings; lists given for tuple fields become tuples
        for spec in _specs(type(self)):
            value = getattr(self, spec.name)
            if value is not None:
                object.__setattr__(self, spec.name, spec.kind.freeze(value))

    def _dump(self) -> dict[str, Any]:
        return {
            spec.key: plain(value)
            for spec in _specs(type(self))
            if (value := getattr(self, spec.name)) is not None or self.KEEP_NULL
        }

    @classmethod
    def _load(cls, obj: Any, what: str, path: str, notes: Notes = None) -> Self:
        """Build from a decoded object; ``what`` names the frame, ``path`` this object in it;
        conversions are written into ``notes``."""
        if not isinstance(obj, dict):
            if path:
                raise shape_error(what, path, "an object", obj)
            raise CtiProtocolError(f"{what} must be an object, got {json_type(obj)}")
        kwargs: dict[str, Any] = {}
        for spec in _specs(cls):
            name = f"{path}.{spec.key}" if path else spec.key
            value = obj.get(spec.key)
            if value is None:  # null counts as absent, except where a value is required
                if spec.required and spec.key in obj:
                    raise shape_error(what, name, spec.kind.expected, value)
                if spec.required:
                    raise CtiProtocolError(f'{what} is missing field "{name}"')
                if spec.optional:
                    kwargs[spec.name] = None
            elif spec.kind.check(value):
                kwargs[spec.name] = spec.kind.load(value, what, name, notes)
            elif (taken := _coerced(spec, value, notes)) is not _REFUSED:
                note(notes, what, name, value, taken)
                kwargs[spec.name] = spec.kind.load(taken, what, name, notes)
            else:
                raise shape_error(what, name, spec.kind.expected, value)
        return cls(**kwargs)
