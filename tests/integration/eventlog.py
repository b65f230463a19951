"""Assertions on a phone's complete ordered log of xc_webrtc events (X) and PhoneEvents (P).

The two streams arrive on two sockets, so their interleaving is only fixed where causality
fixes it.  An expected log is a list of *segments*: every entry of a segment comes after every
entry of the previous segment; inside a segment each stream keeps its order while the two
streams may interleave.  ``Var`` matches any value the first time and the same value after.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from xctest.timeline import Timeline


@dataclass(frozen=True)
class Var:
    name: str


@dataclass(frozen=True)
class X:
    """An xc_webrtc event: ``name`` is ``topic/Type``; ``data`` and ``sip`` exactly (None:
    absent)."""

    name: str
    data: dict[str, Any] | None = None
    sip: Any = None

    stream = "X"

    def expected(self) -> dict[str, Any]:
        kind = self.name.split("/", 1)[1]
        out: dict[str, Any] = {"type": None if kind == "None" else kind}
        if self.data is not None:
            out["data"] = self.data
        if self.sip is not None:
            out["sipCallId"] = self.sip
        return out

    def __str__(self) -> str:
        return f"X {self.name} {self.expected()}"


@dataclass(frozen=True)
class P:
    """A PhoneEvent with all of its fields."""

    event_type: str
    fields: dict[str, Any] = field(default_factory=dict)

    stream = "P"

    def expected(self) -> dict[str, Any]:
        return {"eventType": self.event_type, **self.fields}

    def __str__(self) -> str:
        return f"P {self.event_type} {self.fields}"


Entry = X | P


def project(timeline: Timeline, since: int = 0) -> list[tuple[str, str, dict[str, Any]]]:
    """(stream, name, fields) for every xc event and PhoneEvent of the timeline."""
    out = []
    for e in timeline.entries[since:]:
        if e.kind == "xc":
            out.append(("X", e.name, dict(e.fields)))
        elif e.kind == "cti" and e.name == "PhoneEvent":
            fields = {k: v for k, v in e.fields.items() if k != "direction"}
            out.append(("P", fields["eventType"], fields))
    return out


def _match(want: Any, got: Any, bound: dict[str, Any]) -> bool:
    if isinstance(want, Var):
        if want.name in bound:
            return bool(bound[want.name] == got)
        bound[want.name] = got
        return True
    if isinstance(want, dict):
        return (
            isinstance(got, dict)
            and want.keys() == got.keys()
            and all(_match(want[k], got[k], bound) for k in want)
        )
    return bool(want == got)


def _same(entry: Entry, actual: tuple[str, str, dict[str, Any]], bound: dict[str, Any]) -> bool:
    stream, name, fields = actual
    if stream != entry.stream:
        return False
    if isinstance(entry, X) and name != entry.name:
        return False
    trial = dict(bound)
    if _match(entry.expected(), fields, trial):
        bound.update(trial)
        return True
    return False


def check_log(
    timeline: Timeline, segments: list[list[Entry]], bound: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Assert the whole log against ``segments``; returns the ``Var`` bindings."""
    actual = project(timeline)
    bound = {} if bound is None else bound
    pos = 0
    for number, segment in enumerate(segments, 1):
        chunk = actual[pos : pos + len(segment)]
        for stream in ("X", "P"):
            want = [e for e in segment if e.stream == stream]
            got = [a for a in chunk if a[0] == stream]
            ok = len(want) == len(got) and all(
                _same(w, g, bound) for w, g in zip(want, got, strict=True)
            )
            if not ok:
                raise AssertionError(_render(timeline.party, segments, actual, number, stream))
        pos += len(segment)
    if pos != len(actual):
        raise AssertionError(_render(timeline.party, segments, actual, len(segments) + 1, "-"))
    return bound


def _render(
    party: str,
    segments: list[list[Entry]],
    actual: list[tuple[str, str, dict[str, Any]]],
    failed: int,
    stream: str,
) -> str:
    lines = [f"{party}: log differs in segment {failed} (stream {stream})", "expected:"]
    for number, segment in enumerate(segments, 1):
        lines.append(f"  -- segment {number}")
        lines += [f"     {e}" for e in segment]
    lines.append("actual:")
    lines += [f"     {s} {n} {f}" for s, n, f in actual]
    return "\n".join(lines)


def alice_to_bob_data(sip_call_id: Any, **attached: str) -> dict[str, Any]:
    """PhoneEvent ``userData`` of a call from alice (1001) to bob (1002) in the default lab:
    the dial plan's ``XIVO_*``, any ``USR_*`` attached data, and the party's own Call-ID."""
    return {
        "XIVO_USERID": "1",
        "XIVO_CONTEXT": "default",
        "XIVO_SRCNUM": "1001",
        "XIVO_DSTNUM": "1002",
        "XIVO_EXTENPATTERN": "1002",
        "XIVO_DST_FIRSTNAME": "Bob",
        "XIVO_DST_LASTNAME": "Brown",
        **attached,
        "SIPCALLID": sip_call_id,
    }
