"""Check the ``events`` part of an ``expect`` step against what each party has seen.  Pure.

The caller cuts each party's timeline to the window being checked and calls ``check_events``
again as events arrive (``final=False``), then once more when the window closes (``final=True``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from xctest.results import TimelineEvent
from xctest.scenario.expect import EventMatch, EventPattern, Events
from xctest.scenario.values import Scalar, Template
from xctest.scenario.words import EventSource

Resolve = Callable[[Template], str]
Logs = Mapping[str, Sequence[TimelineEvent]]

_ARROW_WORDS = {"<<<": "in", ">>>": "out"}
_HIDDEN_FIELDS = {"type", "message", "userData", "linkedId", "uniqueId", "call_id", "sipCallId"}
_ENTRY_WIDTH = 110
_MAX_SEEN_LINES = 40
_SEARCH_BUDGET = 100_000  # steps of the in_any_order search before it gives up


@dataclass(frozen=True)
class EventsOutcome:
    """The verdict on one ``events`` block.

    ``matched`` pairs each in_order/in_any_order match with the entry chosen for it (None when
    missing); ``seen`` is the merged timeline of the parties named in the block (xc, PhoneEvent
    and sip entries only).
    """

    ok: bool
    pending: bool
    message: str
    matched: tuple[tuple[EventMatch, TimelineEvent | None], ...]
    seen: tuple[TimelineEvent, ...]


# --- one pattern against one entry ---------------------------------------------------------------


def event_matches(pattern: EventPattern, entry: TimelineEvent, resolve: Resolve) -> bool:
    """Whether ``entry`` is the event ``pattern`` describes, with every field equal."""
    if not _same_event(pattern, entry):
        return False
    for name, expected in pattern.fields.items():
        found, actual = _lookup(entry, name)
        if not found:
            return False
        if entry.kind == "sip" and name == "direction" and isinstance(actual, str):
            if _value_matches(expected, _ARROW_WORDS.get(actual, actual), resolve):
                continue  # ``in``/``out`` for ``<<<``/``>>>``; the raw arrows match below
        if not _value_matches(expected, actual, resolve):
            return False
    return True


def _same_event(pattern: EventPattern, entry: TimelineEvent) -> bool:
    if pattern.source is EventSource.WEBRTC:
        return entry.kind == "xc" and entry.name.rpartition("/")[2] == pattern.name
    if pattern.source is EventSource.PHONE_EVENT:
        is_phone_event = entry.kind == "cti" and entry.name == "PhoneEvent"
        return is_phone_event and entry.fields.get("eventType") == pattern.name
    if pattern.name.isdigit():
        return entry.kind == "sip" and entry.name.partition(" ")[0] == pattern.name
    return entry.kind == "sip" and entry.name == pattern.name


def _lookup(entry: TimelineEvent, name: str) -> tuple[bool, Any]:
    """``(found, value)`` of a plain or dotted field name; xc events also look in ``data``."""
    if entry.kind == "xc" and name == "topic":
        return True, entry.name.rpartition("/")[0]
    roots = [entry.fields]
    if entry.kind == "xc" and isinstance(entry.fields.get("data"), dict):
        roots.append(entry.fields["data"])
    for root in roots:
        value: Any = root
        for key in name.split("."):
            value = value.get(key) if isinstance(value, dict) else None
        if value is not None:
            return True, value
    return False, None


def _value_matches(expected: Scalar, actual: Any, resolve: Resolve) -> bool:
    if isinstance(expected, bool):
        if isinstance(actual, str):
            return actual.lower() == str(expected).lower()
        return isinstance(actual, bool) and actual == expected
    if isinstance(expected, int | float):
        number = _as_number(actual)
        if number is None:
            return str(actual) == str(expected)
        return number == expected
    return resolve(expected) == str(actual)


def _as_number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        return float(value)
    except ValueError:
        return None


# --- a whole block -------------------------------------------------------------------------------


def check_events(events: Events, logs: Logs, resolve: Resolve, *, final: bool) -> EventsOutcome:
    """Check ``events`` against each party's entries in the window (``logs``: party -> entries).

    Pending while the expected events are incomplete and not ``final``; a never-event that
    happened fails at once.
    """
    parties = _named_parties(events, logs)
    seen = _merged(logs, parties)
    t0 = min((entry.t for entries in logs.values() for entry in entries), default=0.0)
    positives = events.in_order or events.in_any_order
    hits = [[i for i, entry in enumerate(seen) if _fits(m, entry, resolve)] for m in positives]
    if events.in_order:
        chosen = _find_in_order(hits)
    else:
        chosen = _find_in_any_order(events.in_any_order, hits)
    pairs = zip(positives, chosen, strict=True)
    matched = tuple((match, None if i is None else seen[i]) for match, i in pairs)
    satisfied = all(index is not None for index in chosen)
    violations = []
    for match in events.never:
        entry = next((e for e in seen if _fits(match, e, resolve)), None)
        if entry is not None:
            happened = describe_entry(entry, t0)
            violations.append(f"{describe_match(match)} was never to happen, but did: {happened}")
    if satisfied and not violations:
        return EventsOutcome(True, False, _summary(events), matched, seen)
    missing = [] if satisfied else _missing_report(events, hits, chosen, seen, t0)
    message = "\n".join([*missing, *violations, *_seen_report(seen, parties, t0)])
    pending = not final and not violations
    return EventsOutcome(False, pending, message, matched, seen)


def _named_parties(events: Events, logs: Logs) -> list[str]:
    named = {m.party for m in (*events.in_order, *events.in_any_order, *events.never)}
    in_logs = [party for party in logs if party in named]
    return in_logs + sorted(named - set(in_logs))


def _merged(logs: Logs, parties: list[str]) -> tuple[TimelineEvent, ...]:
    keyed = []
    for rank, party in enumerate(parties):
        for index, entry in enumerate(logs.get(party, ())):
            if entry.kind in ("xc", "sip") or (entry.kind, entry.name) == ("cti", "PhoneEvent"):
                keyed.append((entry.t, rank, index, entry))
    keyed.sort(key=lambda item: item[:3])
    return tuple(item[3] for item in keyed)


def _fits(match: EventMatch, entry: TimelineEvent, resolve: Resolve) -> bool:
    return entry.party == match.party and event_matches(match.event, entry, resolve)


def _find_in_order(hits: list[list[int]]) -> list[int | None]:
    """Greedy earliest subsequence; after a miss the next match is looked for after the last hit."""
    chosen: list[int | None] = []
    last = -1
    for candidates in hits:
        index = next((i for i in candidates if i > last), None)
        chosen.append(index)
        if index is not None:
            last = index
    return chosen


def _find_in_any_order(matches: Sequence[EventMatch], hits: list[list[int]]) -> list[int | None]:
    """Distinct entries, earliest first, honouring after/before; the most matches when not all.

    Backtracking, bounded by ``_SEARCH_BUDGET`` steps (only pathological blocks get near it).
    """
    by_id = {match.id: k for k, match in enumerate(matches) if match.id is not None}
    order = [(by_id[ref], k) for k, match in enumerate(matches) for ref in match.after]
    order += [(k, by_id[ref]) for k, match in enumerate(matches) for ref in match.before]
    best: list[int | None] = [None] * len(matches)
    chosen: list[int | None] = []
    steps = 0

    def allowed(index: int) -> bool:
        if index in chosen:
            return False
        k = len(chosen)
        for earlier, later in order:
            if later == k and earlier < k:
                other = chosen[earlier]
                if other is not None and other >= index:
                    return False
            if earlier == k and later < k:
                other = chosen[later]
                if other is not None and other <= index:
                    return False
        return True

    def search() -> bool:
        nonlocal steps
        steps += 1
        found = _count(chosen)
        if len(chosen) == len(matches):
            if found > _count(best):
                best[:] = chosen
            return found == len(matches)
        left = len(matches) - len(chosen)
        if steps > _SEARCH_BUDGET or found + left <= _count(best):
            return False
        options: list[int | None] = [i for i in hits[len(chosen)] if allowed(i)]
        for index in [*options, None]:
            chosen.append(index)
            if search():
                return True
            chosen.pop()
        return False

    search()
    return best


def _count(chosen: Sequence[int | None]) -> int:
    return sum(index is not None for index in chosen)


# --- messages ------------------------------------------------------------------------------------


def describe_match(match: EventMatch) -> str:
    """``bob: phone_event EventRinging otherDN="{alice.number}"``, fields as written."""
    text = f"{match.party}: {match.event.source} {match.event.name}"
    for name, value in match.event.fields.items():
        if isinstance(value, Template):
            text += f' {name}="{value}"'
        elif isinstance(value, bool):
            text += f" {name}={str(value).lower()}"
        else:
            text += f" {name}={value}"
    order = [f"id {match.id}"] if match.id else []
    order += [f"after {', '.join(match.after)}"] if match.after else []
    order += [f"before {', '.join(match.before)}"] if match.before else []
    return text + (f" ({'; '.join(order)})" if order else "")


def describe_entry(entry: TimelineEvent, t0: float) -> str:
    """``bob cti:PhoneEvent eventType='EventRinging' ... (at +0.120 s)``; time from ``t0``."""
    return f"{_entry_text(entry)} (at {_since(entry, t0)})"


def _entry_text(entry: TimelineEvent) -> str:
    text = f"{entry.party} {entry.kind}:{entry.name}"
    if entry.kind == "cti" and "eventType" in entry.fields:
        text += f" eventType={entry.fields['eventType']!r}"
    for name, value in entry.fields.items():
        if name not in _HIDDEN_FIELDS and name != "eventType":
            text += f" {name}={value!r}"
    if len(text) > _ENTRY_WIDTH:
        text = text[: _ENTRY_WIDTH - 4] + " ..."
    return text


def _missing_report(
    events: Events,
    hits: list[list[int]],
    chosen: Sequence[int | None],
    seen: Sequence[TimelineEvent],
    t0: float,
) -> list[str]:
    """The expected/seen table of an unsatisfied in_order or in_any_order list."""
    matches = events.in_order or events.in_any_order
    rows = []
    for k, match in enumerate(matches):
        index = chosen[k]
        spare = next((i for i in hits[k] if i not in chosen), None)
        at = "" if spare is None else _since(seen[spare], t0)
        if index is not None:
            outcome = "✓ " + describe_entry(seen[index], t0)
        elif not hits[k]:
            outcome = "✗ not seen"
        elif spare is None:
            outcome = "✗ not seen again (its events went to other lines)"
        elif events.in_order:
            previous = max(n + 1 for n in range(k) if chosen[n] is not None)
            outcome = f"✗ not seen after {previous} (only before it, at {at})"
        else:
            outcome = f"✗ not seen in the order asked (seen at {at})"
        rows.append((f"{k + 1} {describe_match(match)}", outcome))
    width = max(len("expected"), *(len(left) for left, _ in rows))
    how = "in order" if events.in_order else "in any order"
    lines = [f"events did not happen as expected ({how}):", f"  {'expected':<{width}}  seen"]
    lines += [f"  {left:<{width}}  {outcome}" for left, outcome in rows]
    return lines


def _since(entry: TimelineEvent, t0: float) -> str:
    return f"{entry.t - t0:+.3f} s"


def _seen_report(seen: Sequence[TimelineEvent], parties: list[str], t0: float) -> list[str]:
    lines = [f"seen by {', '.join(parties)} (in order):"]
    for entry in seen[:_MAX_SEEN_LINES]:
        lines.append(f"  {entry.t - t0:+.3f} {_entry_text(entry)}")
    if len(seen) > _MAX_SEEN_LINES:
        lines.append(f"  ... {len(seen) - _MAX_SEEN_LINES} more not shown")
    if not seen:
        lines.append("  nothing")
    return lines


def _summary(events: Events) -> str:
    parts = []
    count = len(events.in_order or events.in_any_order)
    noun = "event" if count == 1 else "events"
    if events.in_order:
        parts.append(f"{count} {noun} in order")
    elif any(match.after or match.before for match in events.in_any_order):
        parts.append(f"{count} {noun} (partial order)")
    elif events.in_any_order:
        parts.append(f"{count} {noun} in any order")
    if events.never:
        parts.append("no forbidden event")
    return ", ".join(parts)
