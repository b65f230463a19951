"""CTI call commands: ``dial`` (originate with auto-answer and attached data), WebRTCCmd relays
(SendDtmf, ToggleMicrophone), the failure PhoneEvent, and the xc_webrtc start-up rules."""

from __future__ import annotations

import logging

import pytest
from eventlog import P, Var, X, alice_to_bob_data, check_log

from xctest.cti.messages import Dial, PhoneEvent, SendDtmf, ToggleMicrophone
from xctest.phone import CallState, StackStatus

pytestmark = pytest.mark.integration


def with_ticket(sip: str) -> dict:
    """userData of the CTI dial below: the dial plan's data plus the attached variables."""
    return alice_to_bob_data(Var(sip), USR_ticket="42", USR_queue="sales")


STARTUP = [X("general/Started"), X("registration/Registered")]


def pe(e, kind: str) -> bool:
    return e.kind == "cti" and e.name == "PhoneEvent" and e.fields["eventType"] == kind


async def test_cti_dial_rings_the_own_line_with_auto_answer_then_the_destination(sim, xuc_phone):
    alice = await xuc_phone("alice")
    bob = await xuc_phone("bob")
    await alice.cti.send(Dial("1002", {"ticket": "42", "USR_queue": "sales"}))
    await bob.timeline.wait_for(lambda e: e.name == "incoming/Setup", 10)
    own_leg = next(iter(alice.calls.values()))
    # PROTOCOL.md §5.6: exactly this header value, and the destination as caller-id (Q23)
    assert own_leg.invite.headers.get_all("Alert-Info") == ["xivo-autoanswer"]
    assert own_leg.invite.from_.display_name == "Bob Brown"
    incoming = await bob.answer()
    for phone in (alice, bob):
        await phone.timeline.wait_for(lambda e: pe(e, "EventEstablished"), 10)
    await own_leg.wait_heard("bob", 5)
    await incoming.wait_heard("alice", 5)
    await alice.hangup()
    for phone in (alice, bob):
        await phone.timeline.wait_for(lambda e: pe(e, "EventReleased"), 10)

    def alice_pe(kind: str) -> P:
        return P(kind, {
            "DN": "1001", "otherDN": "1002", "otherDName": "Bob Brown",
            "linkedId": Var("linked"), "uniqueId": Var("linked"),
            "callDirection": "Outgoing", "userData": with_ticket("a-sip"),
        })  # fmt: skip

    def bob_pe(kind: str) -> P:
        return P(kind, {
            "DN": "1002", "otherDN": "1001", "otherDName": "Alice Archer",
            "linkedId": Var("linked"), "uniqueId": Var("b-uid"),
            "callDirection": "Incoming", "userData": with_ticket("b-sip"),
        })  # fmt: skip

    a_sip, b_sip = Var("a-sip"), Var("b-sip")
    bound = {"a-sip": own_leg.sip_call_id, "b-sip": incoming.sip_call_id}
    check_log(alice.timeline, [
        STARTUP,
        [X("incoming/Setup", {"caller": "1002"})],
        [
            X("incoming/None"),  # the auto-answer event with its undefined type (Q20)
            X("incoming/Connected", {"caller": "1002"}, a_sip),
            X("incoming/RemoteMediaAdded"),
            alice_pe("EventDialing"),
        ],
        [alice_pe("EventEstablished")],
        [X("incoming/Terminated", {"reason": "Call terminated"}, a_sip),
         alice_pe("EventReleased")],
    ], bound)  # fmt: skip
    check_log(bob.timeline, [
        STARTUP,
        [X("incoming/Setup", {"caller": "1001"})],
        [bob_pe("EventRinging")],
        [X("incoming/Connected", {"caller": "1001"}, b_sip), X("incoming/RemoteMediaAdded"),
         bob_pe("EventEstablished")],
        [X("incoming/Terminated", {"reason": "Call terminated"}, b_sip), bob_pe("EventReleased")],
    ], bound)  # fmt: skip


async def test_cti_dial_to_an_unknown_number_sends_the_failure_event(sim, xuc_phone):
    alice = await xuc_phone("alice")
    await alice.cti.send(Dial("1099"))
    await alice.timeline.wait_for(lambda e: pe(e, "EventReleased"), 10)
    kinds = [e.event_type for e in alice.phone_events]
    assert kinds == ["EventDialing", "EventFailure", "EventReleased"]
    assert {e.other_dn for e in alice.phone_events} == {"1099"}
    ended = await alice.timeline.wait_for(lambda e: e.name == "incoming/Terminated", 10)
    assert ended.fields["sipCallId"] == next(iter(alice.calls))


async def test_a_completed_call_gets_no_failure_event(sim, xuc_phone):
    alice = await xuc_phone("alice")
    bob = await xuc_phone("bob")
    out = await alice.dial("1002")
    await bob.timeline.wait_for(lambda e: e.name == "incoming/Setup", 10)
    await bob.answer()
    await out.wait_state(CallState.CONNECTED, 10)
    await alice.hangup()
    await alice.timeline.wait_for(lambda e: pe(e, "EventReleased"), 10)
    assert "EventFailure" not in [e.event_type for e in alice.phone_events]


async def test_send_dtmf_through_cti_reaches_the_line_as_sip_info(sim, xuc_phone):
    alice = await xuc_phone("alice")
    bob = await xuc_phone("bob")
    out = await alice.dial("1002")
    await bob.timeline.wait_for(lambda e: e.name == "incoming/Setup", 10)
    await bob.answer()
    await out.wait_state(CallState.CONNECTED, 10)
    await alice.cti.send(SendDtmf("7"))
    info = await alice.timeline.wait_for(
        lambda e: e.kind == "sip" and e.name == "INFO" and e.fields["direction"] == ">>>", 10
    )
    assert info.fields["content_type"] == "application/dtmf-relay"
    assert info.fields["body"] == "Signal=7\r\nDuration=120\r\n"
    assert info.fields["call_id"] == out.sip_call_id
    ok = await alice.timeline.wait_for(
        lambda e: e.kind == "sip" and e.name == "200 OK" and "INFO" in e.fields.get("cseq", ""), 5
    )
    assert ok.fields["call_id"] == out.sip_call_id
    assert await alice.dtmf("12") is False  # exactly one character, as xc_webrtc


async def test_toggle_microphone_through_cti_silences_the_far_end(sim, xuc_phone):
    alice = await xuc_phone("alice")
    bob = await xuc_phone("bob")
    out = await alice.dial("1002")
    await bob.timeline.wait_for(lambda e: e.name == "incoming/Setup", 10)
    incoming = await bob.answer()
    await out.wait_heard("bob", 5)
    await bob.timeline.wait_for(lambda e: pe(e, "EventEstablished"), 10)
    uid = bob.unique_id_of(incoming.sip_call_id)
    sip_before = len([e for e in bob.timeline if e.kind == "sip"])
    await bob.cti.send(ToggleMicrophone(uid))
    cmd = await bob.timeline.wait_for(lambda e: e.kind == "cti" and e.name == "WebRTCCmd", 5)
    assert cmd.fields["command"] == "ToggleMicrophone"
    assert cmd.fields["sipCallId"] == incoming.sip_call_id
    t0, t1 = await out.listen(1.2, timeout=10)
    assert out.presence("bob", t0 + 0.4, t1) < 0.05  # muted (after the jitter drains)
    assert out.presence("alice", t0, t1) == 0.0  # no echo of itself
    assert len([e for e in bob.timeline if e.kind == "sip"]) == sip_before  # no signalling
    await bob.cti.send(ToggleMicrophone(uid))
    t2, t3 = await out.listen(1.2, timeout=10)
    assert out.presence("bob", t2 + 0.4, t3) > 0.9


async def test_phone_events_are_replayed_on_request(sim, xuc_phone):
    alice = await xuc_phone("alice")
    bob = await xuc_phone("bob")
    out = await alice.dial("1002")
    await bob.timeline.wait_for(lambda e: e.name == "incoming/Setup", 10)
    await bob.answer()
    await alice.timeline.wait_for(lambda e: pe(e, "EventEstablished"), 10)
    from xctest.cti.messages import CurrentCallsPhoneEvents, GetCurrentCallsPhoneEvents

    since = len(alice.cti.received)
    await alice.cti.send(GetCurrentCallsPhoneEvents())
    current = await alice.cti.wait_for(CurrentCallsPhoneEvents, timeout=5, since=since)
    assert [(e.event_type, e.sip_call_id) for e in current.events] == [
        ("EventEstablished", out.sip_call_id)
    ]
    assert all(isinstance(e, PhoneEvent) for e in current.events)


async def test_set_debug_logs_events_with_the_re_prefix(sim, xuc_phone, caplog):
    alice = await xuc_phone("alice")
    alice.set_debug("info", events=True)
    with caplog.at_level(logging.INFO, logger="xctest.phone"):
        await alice.register()
    assert any(r.getMessage().startswith("RE<<< ") for r in caplog.records)
    with pytest.raises(ValueError, match="sip_level"):
        alice.set_debug("verbose")


async def test_after_stop_a_new_line_config_restarts_the_stack(sim, xuc_phone):
    alice = await xuc_phone("alice")
    await alice.stop()
    assert alice.get_sip_stack_status() == StackStatus.STOPPED
    mark = len(alice.timeline)
    user = sim.lab.user_by_login("alice")
    await alice.init(user.display_name, False, sim.sip_port, alice.cti.token.token)
    await alice.timeline.wait_for(lambda e: e.name == "registration/Registered", 10, since=mark)
    assert alice.get_sip_stack_status() == StackStatus.STARTED
