"""Two phones logged in the xc_webrtc way (REST + CTI + LineConfig), a call answered through CTI
and hung up through CTI: both phones' complete logs against PROTOCOL.md §3.5."""

from __future__ import annotations

import pytest
from eventlog import P, Var, X, alice_to_bob_data, check_log

from xctest.cti.messages import Answer, PhoneEvent
from xctest.phone import CallState
from xctest.transport.tls import client_context

pytestmark = pytest.mark.integration


def phone_event(e) -> bool:
    return e.kind == "cti" and e.name == "PhoneEvent"


def alice_pe(kind: str) -> P:
    return P(
        kind,
        {
            "DN": "1001",
            "otherDN": "1002",
            "otherDName": "Bob Brown",
            "linkedId": Var("linked"),
            "uniqueId": Var("alice-uid"),
            "callDirection": "Outgoing",
            "userData": alice_to_bob_data(Var("alice-sip")),
        },
    )


def bob_pe(kind: str) -> P:
    return P(
        kind,
        {
            "DN": "1002",
            "otherDN": "1001",
            "otherDName": "Alice Archer",
            "linkedId": Var("linked"),
            "uniqueId": Var("bob-uid"),
            "callDirection": "Incoming",
            "userData": alice_to_bob_data(Var("bob-sip")),
        },
    )


STARTUP = [X("general/Started"), X("registration/Registered")]


async def place_answer_hang_up(alice, bob) -> dict:
    """alice dials bob; bob answers through CTI ``answer``; alice hangs up through CTI."""
    out = await alice.dial("1002")
    ringing = await bob.timeline.wait_for(
        lambda e: phone_event(e) and e.fields["eventType"] == "EventRinging", 10
    )
    await bob.cti.send(Answer(ringing.fields["uniqueId"]))
    await out.wait_state(CallState.CONNECTED, 10)
    for phone in (alice, bob):
        await phone.timeline.wait_for(
            lambda e: phone_event(e) and e.fields["eventType"] == "EventEstablished", 10
        )
    incoming = next(iter(bob.calls.values()))
    await out.wait_heard("bob", 5)
    await incoming.wait_heard("alice", 5)
    await alice.hangup()  # CTI hangup with alice's uniqueId
    for phone in (alice, bob):
        await phone.timeline.wait_for(
            lambda e: phone_event(e) and e.fields["eventType"] == "EventReleased", 10
        )
        await phone.timeline.wait_for(lambda e: e.name.endswith("/Terminated"), 10)
    return {"alice-sip": out.sip_call_id, "bob-sip": incoming.sip_call_id}


def assert_logs(alice, bob, ids: dict) -> None:
    bound = {"alice-sip": ids["alice-sip"], "bob-sip": ids["bob-sip"]}
    sip_a, sip_b = Var("alice-sip"), Var("bob-sip")
    alice_log = [
        STARTUP,
        [X("outgoing/Establishing")],  # before the INVITE leaves
        [alice_pe("EventDialing")],  # alice's channel dials before bob's line is rung
        [
            X("outgoing/Ringing", {"callee": "1002"}, sip_a),
            X("outgoing/Connected", {"callee": "1002"}, sip_a),
            X("incoming/RemoteMediaAdded"),  # the incoming topic even for an outgoing call
            alice_pe("EventEstablished"),
        ],
        [X("outgoing/Terminated", {"reason": "Call terminated"}, sip_a), alice_pe("EventReleased")],
    ]
    bob_log = [
        STARTUP,
        [X("incoming/Setup", {"caller": "1001"})],  # no sipCallId on Setup
        [bob_pe("EventRinging")],  # bob's 180 makes his channel Ringing
        [
            X("incoming/Connected", {"caller": "1001"}, sip_b),
            X("incoming/RemoteMediaAdded"),
            bob_pe("EventEstablished"),
        ],
        [X("incoming/Terminated", {"reason": "Call terminated"}, sip_b), bob_pe("EventReleased")],
    ]
    bound = check_log(alice.timeline, alice_log, bound)
    bound = check_log(bob.timeline, bob_log, bound)
    assert bound["alice-uid"] == bound["linked"]  # the caller's channel starts the call
    assert bound["bob-uid"] != bound["alice-uid"]


async def test_call_answered_and_hung_up_through_cti(sim, xuc_phone):
    alice = await xuc_phone("alice")
    bob = await xuc_phone("bob")
    ids = await place_answer_hang_up(alice, bob)
    assert_logs(alice, bob, ids)
    # the SIP side agrees: bob's phone got the BYE from the PBX, it did not send one
    byes = [e for e in bob.timeline if e.kind == "sip" and e.name == "BYE"]
    assert [e.fields["direction"] for e in byes] == ["<<<"]


async def test_the_log_check_fails_on_a_wrong_expectation(sim, xuc_phone):
    """Negative control for the log assertion used above."""
    alice = await xuc_phone("alice")
    bob = await xuc_phone("bob")
    ids = await place_answer_hang_up(alice, bob)
    wrong = [STARTUP, [X("outgoing/Establishing")], [alice_pe("EventRinging")]]
    with pytest.raises(AssertionError, match="segment 3"):
        check_log(alice.timeline, wrong, dict(ids))
    swapped = [STARTUP[::-1]]
    with pytest.raises(AssertionError, match="segment 1"):
        check_log(bob.timeline, swapped)


@pytest.mark.parametrize("verify", ["ca-file", "off"])
async def test_the_same_call_over_https_and_wss(tls_sim, xuc_phone, verify, tmp_path):
    if verify == "ca-file":
        cafile = tmp_path / "xctest-ca.pem"
        cafile.write_bytes(tls_sim.certificate.cert_pem)
        ctx = client_context(cafile=str(cafile))
    else:
        ctx = client_context(verify=False)
    alice = await xuc_phone("alice", sim_=tls_sim, tls=True, ssl_context=ctx)
    bob = await xuc_phone("bob", sim_=tls_sim, tls=True, ssl_context=ctx)
    assert alice.identity.ws_url.startswith(f"wss://127.0.0.1:{tls_sim.tls_port}/wssip?token=")
    assert alice.cti.base_url == tls_sim.https_url
    ids = await place_answer_hang_up(alice, bob)
    assert_logs(alice, bob, ids)
    register = next(e for e in alice.timeline if e.kind == "sip" and e.name == "REGISTER")
    assert register.fields["direction"] == ">>>"
    assert alice.identity.transport == "WSS"


async def test_phone_events_carry_the_sip_call_id_of_each_side(sim, xuc_phone):
    alice = await xuc_phone("alice")
    bob = await xuc_phone("bob")
    out = await alice.dial("1002")
    await bob.timeline.wait_for(lambda e: e.name == "incoming/Setup", 10)
    incoming = await bob.answer()
    await out.wait_state(CallState.CONNECTED, 10)
    await bob.timeline.wait_for(
        lambda e: phone_event(e) and e.fields["eventType"] == "EventEstablished", 10
    )
    assert bob.unique_id_of(incoming.sip_call_id) is not None
    assert alice.unique_id_of(out.sip_call_id) is not None
    assert incoming.sip_call_id != out.sip_call_id
    events = [m for m in bob.cti.received if isinstance(m, PhoneEvent)]
    assert {e.sip_call_id for e in events} == {incoming.sip_call_id}
