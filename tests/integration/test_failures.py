"""Failures are clear and the simulator keeps serving the other phones."""

from __future__ import annotations

import pytest

from xctest.errors import CallFailed, RegistrationFailed
from xctest.phone import CallState
from xctest.sim import Lab, SimConfig, Simulator, default_lab

pytestmark = pytest.mark.integration


async def _basic_call_works(make_phone, caller: str, callee: str, number: str) -> None:
    a = await make_phone(caller)
    b = await make_phone(callee)
    call = await a.dial(number)
    await b.timeline.wait_for(lambda e: e.name == "incoming/Setup", 10)
    incoming = await b.answer()
    await call.wait_state(CallState.CONNECTED, 10)
    await incoming.wait_heard(caller, 5)
    await call.wait_heard(callee, 5)
    await a.hangup(call.sip_call_id)
    await b.timeline.wait_for(lambda e: e.name == "incoming/Terminated", 10)


async def test_unknown_number_fails_with_404_and_sim_keeps_serving(make_phone):
    alice = await make_phone("alice")
    call = await alice.dial("4999")
    with pytest.raises(CallFailed) as info:
        await call.wait_state(CallState.CONNECTED, 10)
    assert info.value.status == 404
    assert "404 Not Found" in str(info.value)
    terminated = alice.timeline.find(lambda e: e.name == "outgoing/Terminated")
    assert terminated.fields["data"] == {"reason": "Not Found"}
    await _basic_call_works(make_phone, "carol", "dave", "1004")


async def test_wrong_sip_password_is_a_registration_failure(make_phone):
    mallory = await make_phone("eve", start=False, password="not-eves-secret")
    with pytest.raises(RegistrationFailed) as info:
        await mallory.start()
    assert info.value.status == 403
    assert "REGISTER of line 'wr1005'" in str(info.value)
    assert "403" in str(info.value)
    unreg = mallory.timeline.find(lambda e: e.name == "registration/Unregistered")
    assert unreg.fields["data"]["reason"].startswith("403")
    assert not mallory.registered
    await _basic_call_works(make_phone, "alice", "bob", "1002")


async def test_callee_not_registered_gets_480(make_phone):
    alice = await make_phone("alice")
    call = await alice.dial("1005")
    with pytest.raises(CallFailed) as info:
        await call.wait_state(CallState.CONNECTED, 10)
    assert info.value.status == 480


async def test_callee_with_no_free_line_gets_486(make_phone, sim):
    # bob accepts one call at a time in this lab
    users = tuple(
        u.model_copy(update={"simultaneous_calls": 1}) if u.login == "bob" else u
        for u in sim.lab.users
    )
    sim.lab = Lab(users=users)
    sim.pbx.lab = sim.lab
    sim.pbx.auth.lab = sim.lab
    alice = await make_phone("alice")
    bob = await make_phone("bob")
    carol = await make_phone("carol")
    first = await alice.dial("1002")
    await bob.timeline.wait_for(lambda e: e.name == "incoming/Setup", 10)
    second = await carol.dial("1002")
    with pytest.raises(CallFailed) as info:
        await second.wait_state(CallState.CONNECTED, 10)
    assert info.value.status == 486
    assert first.state is CallState.RINGING


async def test_caller_cancel_before_answer_reaches_callee(make_phone):
    alice = await make_phone("alice")
    bob = await make_phone("bob")
    call = await alice.dial("1002")
    await bob.timeline.wait_for(lambda e: e.name == "incoming/Setup", 10)
    await call.wait_state(CallState.RINGING, 10)
    await alice.hangup(call.sip_call_id)
    ended = await bob.timeline.wait_for(lambda e: e.name == "incoming/Terminated", 10)
    assert ended.fields["data"] == {"reason": "Call cancelled"}
    with pytest.raises(CallFailed) as info:
        await call.wait_state(CallState.CONNECTED, 10)
    assert info.value.status == 487


async def test_callee_rejects(make_phone):
    alice = await make_phone("alice")
    bob = await make_phone("bob")
    call = await alice.dial("1002")
    await bob.timeline.wait_for(lambda e: e.name == "incoming/Setup", 10)
    await bob.hangup()
    with pytest.raises(CallFailed) as info:
        await call.wait_state(CallState.CONNECTED, 10)
    assert info.value.status == 603


async def test_lab_default_users_are_documented_ones():
    lab = default_lab()
    assert [(u.login, u.number) for u in lab.users] == [
        ("alice", "1001"),
        ("bob", "1002"),
        ("carol", "1003"),
        ("dave", "1004"),
        ("eve", "1005"),
    ]
    async with Simulator(lab, SimConfig(sip_port=0, http_port=0)) as sim:
        assert sim.sip_url.startswith("ws://127.0.0.1:")
        assert "alice" in sim.describe() and "wr1001" in sim.describe()
