"""Calls a phone places: the INVITE with its offer (digest on 401/407), Establishing,
Ringing on 180/183, the ACK and the answer applied on 200, Terminated on a failure
(PROTOCOL.md §5.2-§5.3).  Never imports the simulator.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Coroutine, Sequence
from typing import Any

from xctest.audio.signature import Signature
from xctest.errors import XctestError
from xctest.media import MixSource, Peer
from xctest.phone.call import Call, CallState
from xctest.phone.context import PhoneContext
from xctest.phone.dtmf import Keypad
from xctest.phone.events import Topic, XcType
from xctest.phone.registration import DigestSender
from xctest.sip.dialog import Dialog
from xctest.sip.message import Request, Response
from xctest.transport.sip_channel import SipChannel


class Outbound:
    """Places calls for a phone and drives each one to Connected or Terminated."""

    def __init__(
        self,
        ctx: PhoneContext,
        digest: DigestSender,
        keypad: Keypad,
        media: Callable[[str], tuple[Peer, MixSource]],
        listen_for: Sequence[Signature],
        bye: Callable[[Call, str], Coroutine[Any, Any, None]],
        terminate: Callable[[Call, str], None],
    ) -> None:
        self.ctx = ctx
        self._digest = digest
        self.keypad = keypad
        self._media = media
        self.listen_for = listen_for
        self._bye = bye
        self._terminate = terminate

    async def dial(self, destination: str) -> Call:
        """Place a call (outgoing Establishing now; Ringing/Connected/Terminated follow)."""
        channel = self.ctx.channel()
        identity = self.ctx.identity()
        call_id = secrets.token_hex(12)
        peer, mix = self._media("out")
        self.ctx.publish(Topic.OUTGOING, XcType.ESTABLISHING, None, None)
        offer = await peer.make_offer()
        tag = secrets.token_hex(6)
        draft = identity.invite_request(destination, call_id, tag, offer)
        call = Call(call_id, Topic.OUTGOING, draft, peer, self.listen_for, destination, mix)
        call.local_tag = tag
        call.local_sdp = offer
        call.on_digit = self.keypad.record
        self.ctx.calls[call_id] = call
        self.ctx.spawn(self._outgoing(channel, call, offer))
        return call

    async def _outgoing(self, channel: SipChannel, call: Call, offer: str) -> None:
        identity = self.ctx.identity()

        def build(cseq: int) -> Request:
            req = identity.invite_request(
                call.remote_number, call.sip_call_id, call.local_tag, offer
            )
            req = req.with_headers(req.headers.set("CSeq", f"{cseq} INVITE"))
            call.invite = req  # the INVITE in flight: a CANCEL must copy its Via branch
            return req

        def provisional(resp: Response) -> None:
            if resp.status in (180, 183) and call.state is CallState.ESTABLISHING:
                call.set_state(CallState.RINGING)
                callee = resp.to.uri.user or ""
                self.ctx.publish(
                    Topic.OUTGOING, XcType.RINGING, {"callee": callee}, call.sip_call_id
                )

        try:
            invite, final = await self._digest.send(channel, identity, build, provisional)
        except XctestError as exc:
            call.final_status = 0
            self._terminate(call, str(exc))
            return
        if not final.is_success:
            call.final_status = final.status
            self._terminate(call, final.reason)
            return
        call.dialog = Dialog.from_uac(invite, final)
        await channel.send_request(call.dialog.create_ack(invite, via=identity.via()))
        if call.state is CallState.TERMINATED:
            return
        try:
            await call.peer.accept_answer(final.text)
        except XctestError as exc:
            await self._bye(call, f"media: {exc}")
            return
        call.final_status = final.status
        call.set_state(CallState.CONNECTED)
        callee = final.to.uri.user or ""
        self.ctx.publish(call.topic, XcType.CONNECTED, {"callee": callee}, call.sip_call_id)
        self.ctx.publish(Topic.INCOMING, XcType.REMOTE_MEDIA_ADDED, None, None)
