"""Routing of the requests that reach a phone inside and outside its calls."""

from __future__ import annotations

import asyncio

from phone_fakes import IDENTITY, SDP, connected_call, make_context

from xctest.phone.dtmf import DTMF_RELAY, Keypad, info_body
from xctest.phone.hold import Holds, offered_direction, with_direction
from xctest.phone.inbound import ALLOW, REASON_BYE, Inbound
from xctest.sip.events import RequestReceived
from xctest.sip.sdp import Direction


def make_inbound(*calls):
    ctx, channel, events, spawned = make_context(*calls)
    ended = []

    async def answer(sip_call_id):
        raise AssertionError("no answer expected")

    inbound = Inbound(
        ctx, Holds(ctx), Keypad(ctx), None, (), answer, lambda c, r: ended.append((c, r))
    )
    return inbound, channel, spawned, ended


async def deliver(inbound, spawned, request):
    inbound.on_event(RequestReceived(request))
    await asyncio.gather(*spawned)
    spawned.clear()


async def test_in_dialog_requests_are_routed_by_method():
    call, remote = connected_call()
    inbound, channel, spawned, ended = make_inbound(call)
    via = IDENTITY.via()
    info = remote.create_request("INFO", via=via, body=info_body("9"), content_type=DTMF_RELAY)
    await deliver(inbound, spawned, info)
    assert channel.responses[-1].status == 200 and call.digit_string("info") == "9"
    held = with_direction(SDP, Direction.INACTIVE).encode()
    offer = remote.create_request("INVITE", via=via, body=held, content_type="application/sdp")
    await deliver(inbound, spawned, offer)
    assert offered_direction(channel.responses[-1].text) is Direction.INACTIVE
    await deliver(inbound, spawned, remote.create_request("MESSAGE", via=via))
    assert channel.responses[-1].status == 501
    await deliver(inbound, spawned, remote.create_request("OPTIONS", via=via))
    assert channel.responses[-1].headers.get("Allow") == ALLOW
    await deliver(inbound, spawned, remote.create_request("BYE", via=via))
    assert channel.responses[-1].status == 200 and ended == [(call, REASON_BYE)]


async def test_every_method_the_phone_allows_is_answered():
    # what the phone advertises (INVITE's Allow, OPTIONS' answer) it must not refuse with 501
    call, remote = connected_call()
    inbound, channel, spawned, _ = make_inbound(call)
    answered = {}
    for method in ALLOW.replace(" ", "").split(","):
        if method in ("ACK", "CANCEL", "BYE", "INVITE"):  # their own tests
            continue
        await deliver(inbound, spawned, remote.create_request(method, via=IDENTITY.via()))
        answered[method] = channel.responses[-1].status
    assert answered == {"OPTIONS": 200, "INFO": 200, "UPDATE": 200}


async def test_an_update_with_an_offer_is_answered_like_a_reinvite():
    call, remote = connected_call()
    inbound, channel, spawned, _ = make_inbound(call)
    held = with_direction(SDP, Direction.SENDONLY).encode()
    update = remote.create_request(
        "UPDATE", via=IDENTITY.via(), body=held, content_type="application/sdp"
    )
    await deliver(inbound, spawned, update)
    answer = channel.responses[-1]
    assert answer.status == 200 and answer.contact is not None
    assert offered_direction(answer.text) is Direction.RECVONLY
    assert call.remote_held


async def test_requests_for_unknown_calls_get_481():
    call, remote = connected_call()
    inbound, channel, spawned, _ = make_inbound()
    await deliver(inbound, spawned, remote.create_request("BYE", via=IDENTITY.via()))
    assert channel.responses[-1].status == 481
