"""SIP requests arriving at a phone: a new INVITE (180 at once, Setup, auto-answer), CANCEL,
and in-dialog BYE, INFO, re-INVITE, UPDATE and OPTIONS (PROTOCOL.md §3.5, §5.4-§5.7).
Never imports the simulator.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Coroutine, Sequence
from typing import Any

from xctest.audio.signature import Signature
from xctest.media import MixSource, Peer
from xctest.phone.call import Call, CallState
from xctest.phone.context import PhoneContext
from xctest.phone.dtmf import Keypad
from xctest.phone.events import Topic, XcType
from xctest.phone.hold import Holds
from xctest.phone.identity import ALLOW
from xctest.sip.events import CancelReceived, Event, MessageRejected, RequestReceived
from xctest.sip.message import Request, make_response

# unconfirmed (PROTOCOL.md Q22): SIPml5 description strings for Terminated.reason
REASON_BYE = "Call terminated"
REASON_CANCELLED = "Call cancelled"
AUTOANSWER = "xivo-autoanswer"  # the whole Alert-Info value xc_webrtc accepts (PROTOCOL.md §5.6)


class Inbound:
    """Turns the SIP agent's events into calls and call state changes."""

    def __init__(
        self,
        ctx: PhoneContext,
        holds: Holds,
        keypad: Keypad,
        media: Callable[[str], tuple[Peer, MixSource]],
        listen_for: Sequence[Signature],
        answer: Callable[[str], Coroutine[Any, Any, Call]],
        terminate: Callable[[Call, str], None],
    ) -> None:
        self.ctx = ctx
        self.holds = holds
        self.keypad = keypad
        self._media = media
        self.listen_for = listen_for
        self._answer = answer
        self._terminate = terminate

    def on_event(self, event: Event) -> None:
        """The ``SipChannel`` event handler."""
        if isinstance(event, RequestReceived):
            self.ctx.spawn(self._on_request(event.request))
        elif isinstance(event, CancelReceived):
            self.ctx.spawn(self._on_cancel(event.invite))
        elif isinstance(event, MessageRejected):
            self.ctx.timeline.add("sip", "rejected", error=event.error)

    async def _on_request(self, req: Request) -> None:
        channel = self.ctx.channel()
        call = self.ctx.calls.get(req.call_id)
        if req.method == "INVITE" and call is None and req.to.tag is None:
            await self._incoming(req)
        elif req.method == "OPTIONS":
            await channel.send_response(make_response(req, 200, headers=[("Allow", ALLOW)]))
        elif call is None:
            await channel.send_response(make_response(req, 481))
        elif req.method == "BYE":
            await channel.send_response(make_response(req, 200))
            self._terminate(call, REASON_BYE)
        elif req.method == "INVITE":
            await self.holds.on_reinvite(call, req)
        elif req.method == "UPDATE":
            await self.holds.on_update(call, req)
        elif req.method == "INFO":
            await self.keypad.on_info(call, req)
        else:
            await channel.send_response(make_response(req, 501))

    async def _incoming(self, req: Request) -> None:
        identity = self.ctx.identity()
        # Direction rule (PROTOCOL.md §4.3): "outgoing" when the From display name is ours.
        own = identity.display_name
        topic = Topic.OUTGOING if own and req.from_.display_name == own else Topic.INCOMING
        peer, mix = self._media("in")
        caller = req.from_.uri.user or ""
        call = Call(req.call_id, topic, req, peer, self.listen_for, caller, mix)
        call.on_digit = self.keypad.record
        call.local_tag = secrets.token_hex(6)
        self.ctx.calls[req.call_id] = call
        # SIPml5 answers 180 at once (PROTOCOL.md §3.5 incoming #2)
        contact = [("Contact", str(identity.contact()))]
        ringing = make_response(req, 180, to_tag=call.local_tag, headers=contact)
        await self.ctx.channel().send_response(ringing)
        self.ctx.publish(Topic.INCOMING, XcType.SETUP, {"caller": caller}, None)
        if AUTOANSWER in req.headers.get_all("Alert-Info"):
            # PROTOCOL.md §3.5 incoming #4: answered at once; the event's type is undefined (Q20)
            self.ctx.publish(Topic.INCOMING, None, None, None)
            await self._answer(req.call_id)

    async def _on_cancel(self, invite: Request) -> None:
        call = self.ctx.calls.get(invite.call_id)
        if call is None or call.state is not CallState.SETUP:
            return
        response = make_response(invite, 487, to_tag=call.local_tag)
        await self.ctx.channel().send_response(response)
        call.final_status = 487
        self._terminate(call, REASON_CANCELLED)
