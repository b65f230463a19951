"""Malformed SIP and dropped connections: a clear answer, and the simulator keeps serving."""

from __future__ import annotations

import asyncio

import pytest
import websockets

from xctest.phone import CallState

pytestmark = pytest.mark.integration

BAD_URI = (
    "OPTIONS sip:@@ SIP/2.0\r\n"
    "Via: SIP/2.0/WS df7jal23ls0d.invalid;branch=z9hG4bK-raw-0\r\n"
    "From: <sip:raw@default>;tag=raw0\r\n"
    "To: <sip:1002@default>\r\n"
    "Call-ID: raw-call-0\r\n"
    "CSeq: 1 OPTIONS\r\n"
    "Content-Length: 0\r\n\r\n"
)
BAD_CSEQ = (
    "OPTIONS sip:1002@default SIP/2.0\r\n"
    "Via: SIP/2.0/WS df7jal23ls0d.invalid;branch=z9hG4bK-raw-1\r\n"
    "From: <sip:raw@default>;tag=raw1\r\n"
    "To: <sip:1002@default>\r\n"
    "Call-ID: raw-call-1\r\n"
    "CSeq: one OPTIONS\r\n"
    "Content-Length: 0\r\n\r\n"
)


async def test_malformed_frames_get_400_or_are_dropped_and_service_goes_on(sim, make_phone):
    async with websockets.connect(sim.sip_url, subprotocols=["sip"]) as raw:
        # unreadable start line, and an unreadable CSeq: nothing to answer to, dropped
        await raw.send("this is not SIP at all")
        await raw.send(BAD_CSEQ)
        # readable headers but a bad Request-URI: 400, with a Warning that names the problem
        await raw.send(BAD_URI)
        answer = await asyncio.wait_for(raw.recv(), 5)
        assert answer.startswith("SIP/2.0 400 Bad Request\r\n")
        assert "Call-ID: raw-call-0" in answer
        assert 'Warning: 399 xctest "bad Request-URI' in answer
        # the same connection still works for a well-formed request
        await raw.send(BAD_CSEQ.replace("CSeq: one", "CSeq: 1").replace("raw-1", "raw-2"))
        ok = await asyncio.wait_for(raw.recv(), 5)
        assert ok.startswith("SIP/2.0 200 OK")
    alice = await make_phone("alice")
    bob = await make_phone("bob")
    call = await alice.dial("1002")
    await bob.timeline.wait_for(lambda e: e.name == "incoming/Setup", 10)
    await bob.answer()
    await call.wait_state(CallState.CONNECTED, 10)


async def test_dropped_websocket_ends_the_call_for_the_other_party(make_phone):
    alice = await make_phone("alice")
    bob = await make_phone("bob")
    call = await alice.dial("1002")
    await bob.timeline.wait_for(lambda e: e.name == "incoming/Setup", 10)
    await bob.answer()
    await call.wait_state(CallState.CONNECTED, 10)
    await bob._channel.aclose()  # bob's browser tab dies
    ended = await alice.timeline.wait_for(lambda e: e.name == "outgoing/Terminated", 10)
    assert ended.fields["data"] == {"reason": "Call terminated"}
    failed = await bob.timeline.wait_for(lambda e: e.name == "general/Failed", 10)
    assert failed.fields["data"] == {"reason": "SIP websocket closed"}
