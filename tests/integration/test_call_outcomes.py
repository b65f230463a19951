"""Calls that do not connect — busy, no answer, unknown number, caller cancel, callee reject —
each with the complete xc_webrtc + PhoneEvent logs of both parties."""

from __future__ import annotations

import pytest
from eventlog import P, Var, X, alice_to_bob_data, check_log

from xctest.cti.messages import Hangup
from xctest.sim import default_lab

pytestmark = pytest.mark.integration

STARTUP = [X("general/Started"), X("registration/Registered")]


@pytest.fixture
async def sim(make_sim):
    """bob takes one call at a time; a callee rings for at most one second."""
    lab = default_lab()
    users = tuple(
        u.model_copy(update={"simultaneous_calls": 1}) if u.login == "bob" else u for u in lab.users
    )
    lab = lab.model_copy(update={"users": users, "no_answer_timeout": 1.0})
    return await make_sim(lab)


def pe(who: str, kind: str) -> P:
    mine, other = ("1001", "1002") if who == "alice" else ("1002", "1001")
    names = {"1001": "Alice Archer", "1002": "Bob Brown"}
    return P(kind, {
        "DN": mine, "otherDN": other, "otherDName": names[other],
        "linkedId": Var("linked"), "uniqueId": Var(f"{who}-uid"),
        "callDirection": "Outgoing" if who == "alice" else "Incoming",
        "userData": alice_to_bob_data(Var(f"{who}-sip")),
    })  # fmt: skip


async def ringing(alice, bob):
    out = await alice.dial("1002")
    await bob.timeline.wait_for(lambda e: e.name == "incoming/Setup", 10)
    await alice.timeline.wait_for(lambda e: e.name == "outgoing/Ringing", 10)
    await bob.timeline.wait_for(lambda e: e.fields.get("eventType") == "EventRinging", 10)
    incoming = next(iter(bob.calls.values()))
    return out, incoming, {"alice-sip": out.sip_call_id, "bob-sip": incoming.sip_call_id}


async def ended(*phones):
    for phone in phones:
        await phone.timeline.wait_for(lambda e: e.name.endswith("/Terminated"), 10)
        await phone.timeline.wait_for(lambda e: e.fields.get("eventType") == "EventReleased", 10)


def alice_log(reason: str) -> list:
    a = Var("alice-sip")
    return [
        STARTUP,
        [X("outgoing/Establishing")],
        [pe("alice", "EventDialing")],
        [X("outgoing/Ringing", {"callee": "1002"}, a)],
        [X("outgoing/Terminated", {"reason": reason}, a), pe("alice", "EventReleased")],
    ]


def bob_log() -> list:
    return [
        STARTUP,
        [X("incoming/Setup", {"caller": "1001"})],
        [pe("bob", "EventRinging")],
        [X("incoming/Terminated", {"reason": "Call cancelled"}, Var("bob-sip")),
         pe("bob", "EventReleased")],
    ]  # fmt: skip


async def test_no_answer_ends_after_the_lab_timeout(sim, xuc_phone):
    alice, bob = await xuc_phone("alice"), await xuc_phone("bob")
    _, _, bound = await ringing(alice, bob)
    await ended(alice, bob)
    bound = check_log(alice.timeline, alice_log("No Answer"), bound)
    check_log(bob.timeline, bob_log(), bound)
    final = next(e for e in alice.timeline if e.kind == "sip" and e.name.startswith("480"))
    assert final.fields["direction"] == "<<<"


async def test_caller_cancels_before_answer(sim, xuc_phone):
    alice, bob = await xuc_phone("alice"), await xuc_phone("bob")
    out, _, bound = await ringing(alice, bob)
    await alice.hangup(out.sip_call_id)  # CTI hangup of the unanswered outgoing call
    await ended(alice, bob)
    bound = check_log(alice.timeline, alice_log("Request Terminated"), bound)
    check_log(bob.timeline, bob_log(), bound)


async def test_callee_rejects_through_cti(sim, xuc_phone):
    alice, bob = await xuc_phone("alice"), await xuc_phone("bob")
    _, incoming, bound = await ringing(alice, bob)
    await bob.cti.send(Hangup(bob.unique_id_of(incoming.sip_call_id)))
    await ended(alice, bob)
    bound = check_log(alice.timeline, alice_log("Decline"), bound)
    check_log(bob.timeline, bob_log(), bound)


async def test_busy_callee(sim, xuc_phone):
    alice, bob, carol = await xuc_phone("alice"), await xuc_phone("bob"), await xuc_phone("carol")
    await carol.dial("1002")
    await bob.timeline.wait_for(lambda e: e.name == "incoming/Setup", 10)
    out = await alice.dial("1002")
    await alice.timeline.wait_for(lambda e: e.name == "outgoing/Terminated", 10)
    a = out.sip_call_id
    # the dial plan refuses before a channel exists for alice: no PhoneEvent
    check_log(alice.timeline, [
        STARTUP, [X("outgoing/Establishing")],
        [X("outgoing/Terminated", {"reason": "Busy Here"}, a)],
    ])  # fmt: skip
    assert out.final_status == 486


async def test_unknown_number(sim, xuc_phone):
    alice = await xuc_phone("alice")
    out = await alice.dial("1099")
    await alice.timeline.wait_for(lambda e: e.name == "outgoing/Terminated", 10)
    check_log(alice.timeline, [
        STARTUP, [X("outgoing/Establishing")],
        [X("outgoing/Terminated", {"reason": "Not Found"}, out.sip_call_id)],
    ])  # fmt: skip
    assert out.final_status == 404
