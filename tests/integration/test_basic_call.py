"""alice calls bob through the simulator; each hears the other through real WebRTC."""

from __future__ import annotations

import pytest

from xctest.phone import CallState, Topic, XcType

pytestmark = pytest.mark.integration

WINDOW = 1.0  # seconds of audio each check looks at
SHARE = 0.9  # fraction of 20 ms frames in which a signature must be present


def xc(phone, topic=None, type_=None):
    """The xc_webrtc events of a phone as (topic, type) pairs."""
    return [
        tuple(e.name.split("/"))
        for e in phone.timeline
        if e.kind == "xc" and (topic is None or e.name.startswith(topic))
    ]


async def test_alice_and_bob_hear_each_other(make_phone):
    alice = await make_phone("alice")
    bob = await make_phone("bob")

    out = await alice.dial("1002")
    await bob.timeline.wait_for(lambda e: e.name == "incoming/Setup", 10, what="incoming Setup")
    incoming = await bob.answer()
    await out.wait_state(CallState.CONNECTED, 10)

    # the window opens once both directions carry audio, and lasts WINDOW seconds
    t0 = max(await out.wait_heard("bob"), await incoming.wait_heard("alice"))
    t1 = t0 + WINDOW
    await out.wait_audio_until(t1, 5)
    await incoming.wait_audio_until(t1, 5)

    assert out.presence("bob", t0, t1) >= SHARE
    assert out.presence("alice", t0, t1) == 0.0
    assert incoming.presence("alice", t0, t1) >= SHARE
    assert incoming.presence("bob", t0, t1) == 0.0
    for other in ("carol", "dave", "eve"):
        assert out.presence(other, t0, t1) == 0.0
        assert incoming.presence(other, t0, t1) == 0.0

    await alice.hangup(out.sip_call_id)
    await bob.timeline.wait_for(lambda e: e.name == "incoming/Terminated", 10, what="Terminated")
    assert out.state is CallState.TERMINATED
    assert incoming.state is CallState.TERMINATED

    assert xc(alice) == [
        ("general", "Started"),
        ("registration", "Registered"),
        ("outgoing", "Establishing"),
        ("outgoing", "Ringing"),
        ("outgoing", "Connected"),
        ("incoming", "RemoteMediaAdded"),
        ("outgoing", "Terminated"),
    ]
    assert xc(bob) == [
        ("general", "Started"),
        ("registration", "Registered"),
        ("incoming", "Setup"),
        ("incoming", "Connected"),
        ("incoming", "RemoteMediaAdded"),
        ("incoming", "Terminated"),
    ]
    setup = bob.timeline.find(lambda e: e.name == "incoming/Setup")
    assert setup.fields["data"] == {"caller": "1001"}
    assert "sipCallId" not in setup.fields
    connected = alice.timeline.find(lambda e: e.name == "outgoing/Connected")
    assert connected.fields["data"] == {"callee": "1002"}
    assert connected.fields["sipCallId"] == out.sip_call_id
    assert Topic.OUTGOING == "outgoing" and XcType.CONNECTED == "Connected"


async def test_negative_control_muted_microphone_is_not_heard(make_phone):
    """The detector can say no: with bob's microphone muted alice must not hear bob."""
    alice = await make_phone("alice")
    bob = await make_phone("bob")
    out = await alice.dial("1002")
    await bob.timeline.wait_for(lambda e: e.name == "incoming/Setup", 10)
    incoming = await bob.answer()
    assert bob.toggle_microphone(incoming.sip_call_id) is True
    await out.wait_state(CallState.CONNECTED, 10)

    t0 = await incoming.wait_heard("alice")
    t1 = t0 + WINDOW
    await out.wait_audio_until(t1, 5)
    await incoming.wait_audio_until(t1, 5)
    assert out.presence("bob", t0, t1) == 0.0
    assert incoming.presence("alice", t0, t1) >= SHARE
    with pytest.raises(AssertionError):
        assert out.presence("bob", t0, t1) >= SHARE


async def test_the_echo_number_sends_the_caller_back_what_it_hears(make_phone, sim):
    alice = await make_phone("alice")
    out = await alice.dial(sim.lab.echo_number)
    await out.wait_state(CallState.CONNECTED, 10)
    t0 = await out.wait_heard("alice")  # her own signature, through the PBX and back
    await out.wait_audio_until(t0 + WINDOW, 5)
    assert out.presence("alice", t0, t0 + WINDOW) >= SHARE
    assert out.presence("bob", t0, t0 + WINDOW) == 0.0
    await alice.hangup(out.sip_call_id)
    await out.wait_state(CallState.TERMINATED, 10)
