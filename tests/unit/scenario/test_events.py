"""Checking ``expect: {events: ...}`` blocks against hand-made party timelines."""

from __future__ import annotations

import textwrap
from typing import Any

import pytest

from xctest.results import TimelineEvent
from xctest.scenario import load_scenario_text
from xctest.scenario.events import check_events, describe_entry, describe_match, event_matches
from xctest.scenario.expect import EventPattern, Events
from xctest.scenario.model import ExpectStep, Template

PARTIES = ("alice", "bob", "carol")
NUMBERS = {"alice": "1001", "bob": "1002", "carol": "1003"}


def resolve(template: Template) -> str:
    return template.render(lambda field: NUMBERS[field.party])


def xc(t: float, party: str, name: str, **data: Any) -> TimelineEvent:
    fields: dict[str, Any] = {"type": name.partition("/")[2]}
    if data:
        fields["data"] = data
    return TimelineEvent(t, party, "xc", name, fields)


def phone(t: float, party: str, event_type: str, **fields: Any) -> TimelineEvent:
    return TimelineEvent(
        t, party, "cti", "PhoneEvent", {"direction": "in", "eventType": event_type, **fields}
    )


def sip(t: float, party: str, name: str, direction: str = "<<<", **fields: Any) -> TimelineEvent:
    return TimelineEvent(t, party, "sip", name, {"direction": direction, "call_id": "c1", **fields})


def events_from_yaml(block: str) -> Events:
    """The ``events`` of a one-step scenario with parties alice, bob and carol."""
    head = "name: t\nparties: [alice, bob, carol]\nsteps:\n  - expect:\n      events:\n"
    step = load_scenario_text(head + textwrap.indent(textwrap.dedent(block), " " * 8))[0].steps[0]
    assert isinstance(step, ExpectStep) and step.expect.events is not None
    return step.expect.events


def events(data: dict[str, Any]) -> Events:
    return Events.model_validate(data, context={"parties": PARTIES})


def pattern(data: dict[str, Any]) -> EventPattern:
    return events({"never": [{"alice": data}]}).never[0].event


def logs(*entries: TimelineEvent) -> dict[str, list[TimelineEvent]]:
    out: dict[str, list[TimelineEvent]] = {party: [] for party in PARTIES}
    for entry in entries:
        out[entry.party].append(entry)
    return out


# --- one pattern against one entry ---------------------------------------------------------------


def test_webrtc_matches_the_type_after_the_topic():
    ringing = pattern({"webrtc": "Ringing"})
    assert event_matches(ringing, xc(0, "alice", "outgoing/Ringing"), resolve)
    assert not event_matches(ringing, xc(0, "alice", "incoming/Setup"), resolve)
    assert not event_matches(ringing, TimelineEvent(0, "alice", "dtmf", "Ringing"), resolve)


def test_webrtc_fields_look_in_data_and_topic():
    entry = xc(0, "alice", "outgoing/Ringing", callee="1002")
    assert event_matches(pattern({"webrtc": "Ringing", "callee": "1002"}), entry, resolve)
    assert event_matches(pattern({"webrtc": "Ringing", "data.callee": "1002"}), entry, resolve)
    assert event_matches(pattern({"webrtc": "Ringing", "topic": "outgoing"}), entry, resolve)
    assert not event_matches(pattern({"webrtc": "Ringing", "topic": "incoming"}), entry, resolve)
    assert not event_matches(pattern({"webrtc": "Ringing", "callee": "1003"}), entry, resolve)
    assert not event_matches(pattern({"webrtc": "Ringing", "reason": "Busy"}), entry, resolve)


def test_phone_event_matches_the_event_type_of_phone_events_only():
    rings = pattern({"phone_event": "EventRinging"})
    assert event_matches(rings, phone(0, "bob", "EventRinging"), resolve)
    assert not event_matches(rings, phone(0, "bob", "EventEstablished"), resolve)
    logged_on = TimelineEvent(0, "bob", "cti", "LoggedOn", {"eventType": "EventRinging"})
    assert not event_matches(rings, logged_on, resolve)


def test_dotted_fields_walk_user_data():
    entry = phone(0, "bob", "EventRinging", userData={"XIVO_USERID": "2", "SIPCALLID": "x"})
    assert event_matches(
        pattern({"phone_event": "EventRinging", "userData.XIVO_USERID": "2"}), entry, resolve
    )
    assert not event_matches(
        pattern({"phone_event": "EventRinging", "userData.XIVO_USERID": "3"}), entry, resolve
    )
    assert not event_matches(
        pattern({"phone_event": "EventRinging", "userData.NOPE": "2"}), entry, resolve
    )
    assert not event_matches(
        pattern({"phone_event": "EventRinging", "otherDN": "1001"}), entry, resolve
    )


def test_sip_methods_and_response_codes():
    invite = pattern({"sip": "INVITE"})
    assert event_matches(invite, sip(0, "alice", "INVITE"), resolve)
    assert not event_matches(invite, sip(0, "alice", "200 OK", cseq="1 INVITE"), resolve)
    ringing = pattern({"sip": 180})
    assert event_matches(ringing, sip(0, "alice", "180 Ringing"), resolve)
    assert not event_matches(ringing, sip(0, "alice", "183 Session Progress"), resolve)
    assert not event_matches(ringing, TimelineEvent(0, "alice", "xc", "180 Ringing"), resolve)


def test_sip_direction_takes_words_or_arrows():
    received = sip(0, "bob", "INVITE", "<<<")
    sent = sip(0, "bob", "INVITE", ">>>")
    assert event_matches(pattern({"sip": "INVITE", "direction": "in"}), received, resolve)
    assert not event_matches(pattern({"sip": "INVITE", "direction": "in"}), sent, resolve)
    assert event_matches(pattern({"sip": "INVITE", "direction": "out"}), sent, resolve)
    assert event_matches(pattern({"sip": "INVITE", "direction": ">>>"}), sent, resolve)


def test_template_fields_are_resolved():
    to_alice = pattern({"phone_event": "EventRinging", "otherDN": "{alice.number}"})
    assert event_matches(to_alice, phone(0, "bob", "EventRinging", otherDN="1001"), resolve)
    assert not event_matches(to_alice, phone(0, "bob", "EventRinging", otherDN="1003"), resolve)


@pytest.mark.parametrize(
    ("expected", "actual", "result"),
    [
        (2, "2", True),
        (2, 2.0, True),
        (2, "3", False),
        (2, "two", False),
        (1.5, "1.50", True),
        (True, True, True),
        (True, "TRUE", True),
        (True, "false", False),
        (True, 1, False),
        (False, False, True),
    ],
)
def test_numbers_and_booleans(expected, actual, result):
    entry = TimelineEvent(0, "alice", "sip", "INFO", {"value": actual})
    assert event_matches(pattern({"sip": "INFO", "value": expected}), entry, resolve) is result


# --- in_order ------------------------------------------------------------------------------------

CALL = events_from_yaml(
    """
    in_order:
      - bob: {phone_event: EventRinging, otherDN: "{alice.number}"}
      - alice: {sip: 180, direction: in}
      - bob: {webrtc: Connected}
    never:
      - alice: {phone_event: EventFailure}
    """
)


def test_in_order_success():
    ringing = phone(0.12, "bob", "EventRinging", otherDN="1001")
    progress = sip(0.2, "alice", "180 Ringing")
    connected = xc(0.5, "bob", "incoming/Connected")
    seen = logs(xc(0.0, "alice", "outgoing/Establishing"), ringing, progress, connected)
    outcome = check_events(CALL, seen, resolve, final=False)
    assert outcome.ok and not outcome.pending
    assert outcome.message == "3 events in order, no forbidden event"
    assert [entry for _, entry in outcome.matched] == [ringing, progress, connected]


def test_in_order_swapped_fails_and_names_the_missing_event():
    seen = logs(
        xc(0.0, "alice", "outgoing/Establishing"),
        sip(0.1, "alice", "180 Ringing"),
        phone(0.12, "bob", "EventRinging", otherDN="1001"),
        xc(0.5, "bob", "incoming/Connected"),
    )
    outcome = check_events(CALL, seen, resolve, final=True)
    assert not outcome.ok and not outcome.pending
    lines = outcome.message.splitlines()
    assert lines[0] == "events did not happen as expected (in order):"
    missing = next(line for line in lines if "✗" in line)
    assert missing.startswith('  2 alice: sip 180 direction="in"')
    assert missing.endswith("✗ not seen after 1 (only before it, at +0.100 s)")
    assert "✓ bob cti:PhoneEvent eventType='EventRinging'" in outcome.message
    assert "(at +0.120 s)" in outcome.message
    assert outcome.matched[1][1] is None


def test_in_order_is_pending_until_final():
    seen = logs(phone(0.12, "bob", "EventRinging", otherDN="1001"))
    waiting = check_events(CALL, seen, resolve, final=False)
    assert not waiting.ok and waiting.pending
    assert "2 alice: sip 180" in waiting.message
    done = check_events(CALL, seen, resolve, final=True)
    assert not done.ok and not done.pending


def test_same_time_is_ordered_by_party_then_by_index():
    first = events({"in_order": [{"alice": {"sip": "INVITE"}}, {"bob": {"sip": "INVITE"}}]})
    second = events({"in_order": [{"bob": {"sip": "INVITE"}}, {"alice": {"sip": "INVITE"}}]})
    seen = logs(sip(1.0, "bob", "INVITE"), sip(1.0, "alice", "INVITE"))
    assert check_events(first, seen, resolve, final=True).ok
    assert not check_events(second, seen, resolve, final=True).ok


def test_one_entry_satisfies_one_match():
    twice = events({"in_order": [{"bob": {"sip": "INFO"}}, {"bob": {"sip": "INFO"}}]})
    outcome = check_events(twice, logs(sip(1.0, "bob", "INFO")), resolve, final=True)
    assert not outcome.ok
    assert "✗ not seen again" in outcome.message


# --- in_any_order --------------------------------------------------------------------------------

PARTIAL = events_from_yaml(
    """
    in_any_order:
      - {id: invite, bob: {sip: INVITE, direction: in}}
      - {id: ringing, bob: {webrtc: Ringing}, after: invite}
      - {alice: {sip: 180}, after: [invite], before: [answered]}
      - {id: answered, alice: {phone_event: EventEstablished}}
    """
)


def test_partial_order_satisfied():
    seen = logs(
        phone(0.0, "alice", "EventEstablished"),  # an earlier call: before the 180, not usable
        sip(0.1, "bob", "INVITE"),
        sip(0.3, "alice", "180 Ringing"),
        xc(0.2, "bob", "incoming/Ringing"),
        phone(0.9, "alice", "EventEstablished"),
    )
    outcome = check_events(PARTIAL, seen, resolve, final=True)
    assert outcome.ok, outcome.message
    assert outcome.message == "4 events (partial order)"
    assert outcome.matched[3][1] == phone(0.9, "alice", "EventEstablished")


def test_partial_order_violated():
    seen = logs(
        xc(0.05, "bob", "incoming/Ringing"),
        sip(0.1, "bob", "INVITE"),
        sip(0.3, "alice", "180 Ringing"),
        phone(0.9, "alice", "EventEstablished"),
    )
    outcome = check_events(PARTIAL, seen, resolve, final=True)
    assert not outcome.ok and not outcome.pending
    assert outcome.message.startswith("events did not happen as expected (in any order):")
    ringing_line = next(line for line in outcome.message.splitlines() if line.startswith("  2 "))
    assert "bob: webrtc Ringing (id ringing; after invite)" in ringing_line
    assert ringing_line.endswith("✗ not seen in the order asked (seen at +0.000 s)")


def test_assignment_needs_backtracking():
    any_info = {"bob": {"sip": "INFO"}}
    dtmf_info = {"bob": {"sip": "INFO", "content_type": "application/dtmf-relay"}}
    block = events({"in_any_order": [any_info, dtmf_info]})
    dtmf = sip(1.0, "bob", "INFO", content_type="application/dtmf-relay")
    other = sip(2.0, "bob", "INFO", content_type="application/media_control+xml")
    outcome = check_events(block, logs(dtmf, other), resolve, final=True)
    assert outcome.ok, outcome.message
    assert [entry for _, entry in outcome.matched] == [other, dtmf]
    assert outcome.message == "2 events in any order"


def test_backtracking_through_the_partial_order():
    block = events(
        {
            "in_any_order": [
                {"id": "info", "bob": {"sip": "INFO"}},
                {"id": "bye", "bob": {"sip": "BYE"}, "before": "info"},
            ]
        }
    )
    early, late = sip(1.0, "bob", "INFO"), sip(3.0, "bob", "INFO")
    outcome = check_events(block, logs(early, sip(2.0, "bob", "BYE"), late), resolve, final=True)
    assert outcome.ok, outcome.message
    assert outcome.matched[0][1] == late


# --- never ---------------------------------------------------------------------------------------


def test_never_violated_fails_at_once():
    seen = logs(sip(0.5, "alice", "INVITE", ">>>"), phone(1.734, "alice", "EventFailure"))
    outcome = check_events(CALL, seen, resolve, final=False)
    assert not outcome.ok and not outcome.pending
    expected = (
        "alice: phone_event EventFailure was never to happen, but did: "
        "alice cti:PhoneEvent eventType='EventFailure' direction='in' (at +1.234 s)"
    )
    assert expected in outcome.message.splitlines()


def test_never_only_blocks():
    block = events({"never": [{"alice": {"phone_event": "EventFailure"}}]})
    quiet = check_events(block, logs(phone(1.0, "bob", "EventFailure")), resolve, final=True)
    assert quiet.ok and quiet.message == "no forbidden event"
    failed = check_events(block, logs(phone(1.0, "alice", "EventFailure")), resolve, final=True)
    assert not failed.ok and "was never to happen" in failed.message


def test_never_with_positives_satisfied_but_violated():
    seen = logs(
        phone(0.1, "bob", "EventRinging", otherDN="1001"),
        sip(0.2, "alice", "180 Ringing"),
        xc(0.3, "bob", "incoming/Connected"),
        phone(0.4, "alice", "EventFailure"),
    )
    outcome = check_events(CALL, seen, resolve, final=True)
    assert not outcome.ok
    assert "did not happen as expected" not in outcome.message
    assert all(entry is not None for _, entry in outcome.matched)


# --- messages ------------------------------------------------------------------------------------


def test_seen_list_keeps_named_parties_and_event_kinds_and_is_capped():
    noise = [
        TimelineEvent(0.0, "bob", "cti", "LoggedOn"),
        TimelineEvent(0.0, "bob", "dtmf", "1"),
        sip(0.0, "carol", "INVITE"),
    ]
    infos = [sip(1.0 + i, "bob", "INFO") for i in range(45)]
    block = events({"in_order": [{"bob": {"sip": "BYE"}}]})
    message = check_events(block, logs(*noise, *infos), resolve, final=True).message
    lines = message.splitlines()
    start = lines.index("seen by bob (in order):")
    assert lines[start + 1] == "  +1.000 bob sip:INFO direction='<<<'"
    assert len(lines) - start - 1 == 41
    assert lines[-1] == "  ... 5 more not shown"
    assert "carol" not in message and "LoggedOn" not in message


def test_describe_match_shows_fields_as_written():
    ringing = {"phone_event": "EventRinging", "otherDN": "{alice.number}", "held": True}
    block = events(
        {"in_any_order": [{"id": "a", "bob": {"sip": "INVITE"}}, {"bob": ringing, "after": "a"}]}
    )
    match = block.in_any_order[1]
    assert describe_match(match) == (
        'bob: phone_event EventRinging otherDN="{alice.number}" held=true (after a)'
    )


def test_describe_entry_is_relative_to_the_window():
    entry = phone(1.5, "bob", "EventRinging", otherDN="1001", linkedId="x" * 30)
    assert describe_entry(entry, 0.25) == (
        "bob cti:PhoneEvent eventType='EventRinging' direction='in' otherDN='1001' (at +1.250 s)"
    )
