"""``expect`` blocks: event patterns and orderings, audio, timings, MOS and media quality
checks.  Pure."""

from __future__ import annotations

from typing import Annotated, Any, ClassVar

from pydantic import (
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from xctest.scenario.values import (
    Duration,
    Node,
    Scalar,
    Share,
    _marked,
)
from xctest.scenario.words import (
    PHONE_EVENTS,
    SIP_METHODS,
    WEBRTC_EVENTS,
    EventSource,
    Sound,
    _check_party,
    _key_at,
    _parties,
    invalid,
    unknown_word,
)
from xctest.yamlsource import MarkedDict, location_of

# --- events --------------------------------------------------------------------------------------


class EventPattern(Node):
    """One event of one party: ``{phone_event: EventEstablished, otherDN: "{carol.number}"}``.

    ``fields`` match the event's fields by equality; unknown names are kept (events differ).
    """

    what: ClassVar[str] = "event source"

    source: EventSource
    name: str
    fields: dict[str, Scalar] = Field(default_factory=dict)

    @classmethod
    def normalise(cls, data: Any, info: ValidationInfo) -> Any:
        if not isinstance(data, dict) or "source" in data:
            return data
        sources = [k for k in data if k in tuple(EventSource)]
        if len(sources) != 1:
            if not sources:
                for key in data:
                    raise unknown_word(key, tuple(EventSource), "event source", _key_at(data, key))
            raise invalid(f"an event has one of webrtc, phone_event, sip; found {sources}")
        source = sources[0]
        name = data[source]
        known = {"webrtc": WEBRTC_EVENTS, "phone_event": PHONE_EVENTS, "sip": SIP_METHODS}
        if isinstance(name, int) and source == "sip":
            name = str(name)
        if not isinstance(name, str):
            raise invalid(f"{source} names an event, not {name!r}")
        if name not in known[source] and not (source == "sip" and name.isdigit()):
            raise unknown_word(name, known[source], f"{source} event", name)
        fields = {k: v for k, v in data.items() if k != source}
        return _marked({"source": source, "name": name, "fields": fields}, location_of(data))


class EventMatch(Node):
    """An event of one party in an ``expect: {events: ...}`` list; ``id``/``after``/``before``
    give a partial order (Asterisk testsuite style)."""

    what: ClassVar[str] = "event key"

    party: str
    event: EventPattern
    id: str | None = None
    after: tuple[str, ...] = ()
    before: tuple[str, ...] = ()

    @classmethod
    def normalise(cls, data: Any, info: ValidationInfo) -> Any:
        if not isinstance(data, dict) or "party" in data:
            return data
        extra = ("id", "after", "before")
        parties = [k for k in data if k not in extra]
        if len(parties) != 1:
            found = ", ".join(parties) or "none"
            raise invalid(f"an event belongs to one party (with id/after/before); found {found}")
        party = str(parties[0])
        _check_party(party, info, _key_at(data, party))
        out = {k: v for k, v in data.items() if k in extra}
        for key in ("after", "before"):
            if isinstance(out.get(key), str):
                out[key] = [out[key]]
        out.update(party=party, event=data[party])
        return _marked(out, _key_at(data, party))


class Events(Node):
    """Events to see, in order or in any order, and events never to see, within a window."""

    what: ClassVar[str] = "events key"

    in_order: tuple[EventMatch, ...] = ()
    in_any_order: tuple[EventMatch, ...] = ()
    never: tuple[EventMatch, ...] = ()
    within: Duration | None = None

    @model_validator(mode="after")
    def _ordering(self) -> Events:
        if not (self.in_order or self.in_any_order or self.never):
            raise invalid("events need at least one of in_order, in_any_order, never")
        if self.in_order and self.in_any_order:
            raise invalid("use in_order or in_any_order (with after/before), not both")
        ids: set[str] = set()
        for match in (*self.in_order, *self.in_any_order):
            if match.id is not None:
                if match.id in ids:
                    raise invalid(f"two events have the id {match.id!r}")
                ids.add(match.id)
        for match in self.in_order:
            if match.after or match.before:
                raise invalid("after/before belong in in_any_order; in_order is already ordered")
        for match in self.never:
            if match.id or match.after or match.before:
                raise invalid("a never event takes no id, after or before")
        for match in self.in_any_order:
            for ref in (*match.after, *match.before):
                if ref not in ids:
                    raise unknown_word(ref, sorted(ids), "event id")
        return self

    @classmethod
    def normalise(cls, data: Any, info: ValidationInfo) -> Any:
        items = data.get("in_any_order") if isinstance(data, dict) else None
        if not isinstance(items, list):
            return data
        ids = [str(m["id"]) for m in items if isinstance(m, dict) and "id" in m]
        for match in items:
            for key in ("after", "before"):
                refs = match.get(key) if isinstance(match, dict) else None
                for ref in [refs] if isinstance(refs, str) else refs or ():
                    if ref not in ids:
                        raise unknown_word(ref, ids, "event id", ref)
        return data


# --- audio, timings, MOS -------------------------------------------------------------------------


class HearsDtmf(Node):
    """``hears: {dtmf: "123#"}``: the digits, in-band, in this order."""

    what: ClassVar[str] = "hearing key"

    dtmf: str = Field(pattern=r"^[0-9A-D*#]+$")


class AudioCheck(Node):
    """``alice: {hears: bob, for: 2s}``: what a party hears over a window."""

    what: ClassVar[str] = "audio key"

    party: str
    hears: Annotated[Sound | HearsDtmf | str, Field(union_mode="left_to_right")]
    for_: Duration | None = Field(default=None, alias="for")

    @field_validator("hears")
    @classmethod
    def _hears_a_party(cls, value: Any, info: ValidationInfo) -> Any:
        parties = _parties(info)
        if isinstance(value, str) and not isinstance(value, Sound) and parties is not None:
            if value not in parties:
                raise unknown_word(value, (*tuple(Sound), *parties), "sound or party")
        return value


class Bound(Node):
    """``{below: 2s}``."""

    what: ClassVar[str] = "bound"

    below: Duration


class TimingCheck(Node):
    """``alice: {setup_time: {below: 2s}, post_dial_delay: {below: 800ms}}``."""

    what: ClassVar[str] = "timing"

    party: str
    setup_time: Bound | None = None
    post_dial_delay: Bound | None = None


class MosCheck(Node):
    """``alice: {at_least: 4.0}``: MOS of what the party receives."""

    what: ClassVar[str] = "MOS key"

    party: str
    at_least: float = Field(ge=1.0, le=5.0)


class ShareBound(Node):
    """``{below: 1%}``."""

    what: ClassVar[str] = "bound"

    below: Share


class QualityCheck(Node):
    """``alice: {loss: {below: 1%}, late: {below: 1%}, jitter: {below: 30ms}, for: 3s}``: the
    media path of what a party receives, over a window (``for``, default 3 s)."""

    what: ClassVar[str] = "quality key"

    party: str
    loss: ShareBound | None = None
    late: ShareBound | None = None
    jitter: Bound | None = None
    for_: Duration | None = Field(default=None, alias="for")

    @model_validator(mode="after")
    def _something(self) -> QualityCheck:
        if self.loss is None and self.late is None and self.jitter is None:
            raise invalid("quality needs at least one of loss, late, jitter")
        return self


def _per_party(data: Any, info: ValidationInfo, what: str) -> Any:
    """``{alice: {...}, bob: {...}}`` -> a list of nodes with a ``party`` key."""
    if not isinstance(data, dict):
        return data
    out = []
    for party, body in data.items():
        _check_party(party, info, _key_at(data, party))
        if not isinstance(body, dict):
            raise invalid(f"{what} of {party} is a mapping, not {body!r}", body)
        where = _key_at(data, party)
        out.append(_marked({"party": party, **body}, where))
    return out


class Expectations(Node):
    """The body of an ``expect`` step; each part is checked over its own window."""

    what: ClassVar[str] = "expectation"

    events: Events | None = None
    audio: tuple[AudioCheck, ...] = ()
    timings: tuple[TimingCheck, ...] = ()
    mos: tuple[MosCheck, ...] = ()
    quality: tuple[QualityCheck, ...] = ()

    @classmethod
    def normalise(cls, data: Any, info: ValidationInfo) -> Any:
        if not isinstance(data, dict):
            return data
        out = _marked(dict(data), location_of(data))
        if isinstance(data, MarkedDict):
            out.key_locations = data.key_locations
        for key in ("audio", "timings", "mos", "quality"):
            if isinstance(data.get(key), dict):
                out[key] = _per_party(data[key], info, key)
        return out

    @model_validator(mode="after")
    def _not_empty(self) -> Expectations:
        if not (self.events or self.audio or self.timings or self.mos or self.quality):
            raise invalid("expect needs at least one of events, audio, timings, mos, quality")
        return self
