"""Hold and resume on the phone without a network: SIPml5's direction table, the SDP rewrite
of a re-INVITE, the answers to the PBX's re-INVITEs and xc_webrtc's toggle rules."""

from __future__ import annotations

import pytest
from phone_fakes import IDENTITY, SDP, connected_call, make_holds

from xctest.errors import CallFailed, PhoneStateError
from xctest.phone.call import CallState
from xctest.phone.events import Topic, XcType
from xctest.phone.hold import answer_direction, hold_direction, offered_direction, with_direction
from xctest.sip.sdp import Direction, parse_sdp

S = Direction.SENDRECV
SO, RO, IN = Direction.SENDONLY, Direction.RECVONLY, Direction.INACTIVE


@pytest.mark.parametrize(
    ("local", "remote", "direction"),
    [(False, False, S), (False, True, RO), (True, False, SO), (True, True, IN)],
)
def test_sipml5_direction_table(local, remote, direction):
    assert hold_direction(local, remote) is direction


@pytest.mark.parametrize(
    ("offered", "local_held", "answer"),
    [
        (S, False, S), (SO, False, RO), (RO, False, SO), (IN, False, IN),
        (S, True, SO), (SO, True, IN), (RO, True, SO), (IN, True, IN),
    ],
)  # fmt: skip
def test_answer_direction_mirrors_the_offer_and_keeps_our_hold(offered, local_held, answer):
    assert answer_direction(offered, local_held) is answer
    if not local_held:
        assert answer is offered.answer()


def test_the_rewrite_changes_only_the_direction_and_the_origin_version():
    held = with_direction(SDP, SO)
    before, after = SDP.splitlines(), held.splitlines()
    changed = [(a, b) for a, b in zip(before, after, strict=True) if a != b]
    assert changed == [
        ("o=- 3900000000 3900000000 IN IP4 0.0.0.0", "o=- 3900000000 3900000001 IN IP4 0.0.0.0"),
        ("a=sendrecv", "a=sendonly"),
    ]
    assert offered_direction(held) is SO
    again = with_direction(held, S)
    assert parse_sdp(again).origin == "- 3900000000 3900000002 IN IP4 0.0.0.0"
    assert offered_direction(again) is S


def test_the_rewrite_adds_a_direction_when_there_is_none():
    bare = SDP.replace("a=sendrecv\r\n", "")
    assert offered_direction(bare) is S
    assert "a=inactive" in with_direction(bare, IN).splitlines()


# --- the re-INVITE machinery with a scripted channel ------------------------------------------


async def test_hold_sends_the_same_sdp_sendonly_acks_and_publishes():
    call, _ = connected_call()
    holds, channel, events = make_holds(call)
    assert await holds.toggle(None, conference=False) is True
    (req,) = channel.requests
    assert req.method == "INVITE" and req.call_id == "c1" and req.cseq.seq == 2
    assert offered_direction(req.text) is SO
    assert "a=ice-ufrag:AbCd" in req.text and "a=fingerprint:sha-256 AA:BB:CC" in req.text
    (ack,) = channel.sent
    assert ack.method == "ACK" and ack.cseq.seq == 2
    assert events == [(Topic.OUTGOING, XcType.HOLD, None, "c1")]
    assert call.local_held and call.peer.track.held and call.local_sdp == req.text

    assert await holds.toggle("c1", conference=False) is False
    assert offered_direction(channel.requests[1].text) is S
    assert events[1] == (Topic.OUTGOING, XcType.RESUME, None, "c1")
    assert not call.peer.track.held


async def test_a_refused_reinvite_changes_nothing():
    call, _ = connected_call()
    holds, channel, events = make_holds(call)
    channel.status = 488
    with pytest.raises(CallFailed) as info:
        await holds.toggle(None, conference=False)
    assert info.value.status == 488
    assert not call.local_held and not call.peer.track.held
    assert events == [] and channel.sent == [] and call.local_sdp == SDP


async def test_the_pbx_reinvite_is_answered_in_the_mirrored_direction():
    call, remote = connected_call()
    holds, channel, events = make_holds(call)
    offer = remote.create_request(
        "INVITE", via=IDENTITY.via(), body=with_direction(SDP, SO).encode(),
        content_type="application/sdp",
    )  # fmt: skip
    await holds.on_reinvite(call, offer)
    (ok,) = channel.responses
    assert ok.status == 200 and offered_direction(ok.text) is RO
    assert call.remote_held and events == []
    assert call.peer.track.held  # our answer says recvonly: nothing is sent
    # holding a call the PBX holds: inactive (SIPml5's (yes, yes))
    await holds.set_held(call, True)
    assert offered_direction(channel.requests[-1].text) is IN
    # the PBX resumes while we hold: we keep sending only
    resume = remote.create_request(
        "INVITE", via=IDENTITY.via(), body=SDP.encode(), content_type="application/sdp"
    )
    await holds.on_reinvite(call, resume)
    assert offered_direction(channel.responses[-1].text) is SO
    assert not call.remote_held and call.peer.track.held  # still held by us
    await holds.set_held(call, False)
    assert offered_direction(channel.requests[-1].text) is S and not call.peer.track.held


async def test_pbx_reinvite_glare_and_bad_sdp():
    call, remote = connected_call()
    holds, channel, _ = make_holds(call)
    call.reinvite_pending = True
    await holds.on_reinvite(call, remote.create_request("INVITE", via=IDENTITY.via()))
    assert channel.responses[-1].status == 491
    call.reinvite_pending = False
    bad = remote.create_request(
        "INVITE", via=IDENTITY.via(), body=b"not sdp", content_type="application/sdp"
    )
    await holds.on_reinvite(call, bad)
    assert channel.responses[-1].status == 488
    assert not call.remote_held


async def test_toggle_rules_with_two_calls():
    first, _ = connected_call("c1")
    second, _ = connected_call("c2")
    holds, channel, events = make_holds(first, second)
    with pytest.raises(PhoneStateError, match="exactly one call, there are 2"):
        await holds.toggle(None, conference=False)
    await holds.toggle("c1", conference=False)  # hold the first
    assert await holds.toggle("c1", conference=False) is False  # resume: the second is held
    assert [(e[1], e[3]) for e in events] == [
        (XcType.HOLD, "c1"),
        (XcType.HOLD, "c2"),
        (XcType.RESUME, "c1"),
    ]
    # in device conference, resuming holds nothing and no id toggles every call
    assert await holds.toggle("c2", conference=True) is False
    assert not first.local_held and not second.local_held
    assert await holds.toggle(None, conference=True) is True
    assert first.local_held and second.local_held
    assert await holds.toggle(None, conference=True) is False
    assert not first.local_held and not second.local_held
    with pytest.raises(PhoneStateError, match="no call"):
        await holds.toggle("nope", conference=False)


async def test_only_connected_calls_can_be_held():
    call, _ = connected_call()
    call.set_state(CallState.TERMINATED)
    holds, _, _ = make_holds(call)
    with pytest.raises(PhoneStateError, match="not connected"):
        await holds.set_held(call, True)
