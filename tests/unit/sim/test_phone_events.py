"""PhoneEvents derived from channel events (the XUC layer of the simulator), without sockets."""

from __future__ import annotations

from xctest.cti.messages import CallDirection, PhoneEventType
from xctest.sim.channels import ChannelBus, ChannelEvent, ChannelState
from xctest.sim.phone_events import ORIGINATED, phone_events
from xctest.sim.tokens import TokenStore


def recorded() -> tuple[ChannelBus, list[ChannelEvent]]:
    bus = ChannelBus(epoch=1_700_000_000)
    seen: list[ChannelEvent] = []
    bus.listeners.append(seen.append)
    return bus, seen


def kinds(events: list[ChannelEvent]) -> list[str]:
    return [str(pe.event_type) for ev in events for pe in phone_events(ev)]


def caller(bus: ChannelBus, **variables: str):
    return bus.new_channel(
        user_login="alice", number="1001", direction="Outgoing", other_number="1002",
        other_name="Bob Brown", sip_call_id="abc@x",
        variables={"XIVO_SRCNUM": "1001", "USR_ticket": "42", "INTERNAL": "x", **variables},
    )  # fmt: skip


def test_a_caller_channel_dials_is_established_then_released():
    bus, seen = recorded()
    chan = caller(bus)
    bus.set_state(chan, ChannelState.RING)
    bus.set_state(chan, ChannelState.UP)
    bus.set_hold(chan, True)
    bus.set_hold(chan, False)
    bus.hangup(chan, 16)
    assert kinds(seen) == [
        "EventDialing", "EventEstablished", "EventOnHold", "EventEstablished", "EventReleased",
    ]  # fmt: skip
    pe = phone_events(seen[1])[0]
    assert (pe.dn, pe.other_dn, pe.other_dname) == ("1001", "1002", "Bob Brown")
    assert pe.unique_id == pe.linked_id == "1700000000.1"
    assert pe.call_direction is CallDirection.OUTGOING
    # only XIVO_*/USR_* variables leave the PBX, plus the SIP Call-ID
    assert dict(pe.user_data) == {"XIVO_SRCNUM": "1001", "USR_ticket": "42", "SIPCALLID": "abc@x"}


def test_a_callee_channel_rings():
    bus, seen = recorded()
    chan = bus.new_channel(
        linked_id="1700000000.9", user_login="bob", number="1002", direction="Incoming"
    )
    bus.set_state(chan, ChannelState.RINGING)
    pe = phone_events(seen[-1])[0]
    assert pe.event_type is PhoneEventType.RINGING
    assert (pe.linked_id, pe.unique_id) == ("1700000000.9", "1700000000.1")
    assert "SIPCALLID" not in pe.user_data  # no SIP dialog yet


def test_failure_only_for_an_originate_that_never_got_up():
    bus, seen = recorded()
    plain = caller(bus)
    bus.hangup(plain, 17)
    assert kinds(seen) == ["EventReleased"]
    bus, seen = recorded()
    dialled = caller(bus, **{ORIGINATED: "1"})
    bus.set_state(dialled, ChannelState.RING)
    bus.hangup(dialled, 1)
    assert kinds(seen) == ["EventDialing", "EventFailure", "EventReleased"]
    assert ORIGINATED not in phone_events(seen[-1])[0].user_data
    bus, seen = recorded()
    answered = caller(bus, **{ORIGINATED: "1"})
    bus.set_state(answered, ChannelState.UP)
    bus.hangup(answered, 16)
    assert kinds(seen) == ["EventEstablished", "EventReleased"]


def test_tokens_expire_and_unknown_ones_are_refused():
    store = TokenStore(ttl=60)
    token = store.issue("alice", now=100.0)
    assert store.check(token.value, 159.0) == token
    assert store.check(token.value, 160.0) is None
    assert store.check("nope", 100.0) is None
    assert store.check(None, 100.0) is None
    assert len(store) == 0
