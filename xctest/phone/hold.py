"""Hold and resume as SIPml5 does them (PROTOCOL.md §3.5, §4.1, §5.4): re-INVITEs with the
call's own SDP, only the audio direction rewritten; answers to the PBX's re-INVITEs; the
xc_webrtc toggle rules.  No new media negotiation: the WebRTC peer is left as it is.
"""

from __future__ import annotations

import logging

from xctest.errors import CallFailed, PhoneStateError, XctestError
from xctest.phone.call import Call, CallState
from xctest.phone.context import PhoneContext
from xctest.phone.events import XcType
from xctest.sip.message import Request, make_response
from xctest.sip.sdp import Direction, SessionDescription, parse_sdp

log = logging.getLogger(__name__)

HOLDING = frozenset({Direction.SENDONLY, Direction.INACTIVE})

# SIPml5's direction from (local held, remote held) (PROTOCOL.md §5.4)
_DIRECTIONS = {
    (False, False): Direction.SENDRECV,
    (False, True): Direction.RECVONLY,
    (True, False): Direction.SENDONLY,
    (True, True): Direction.INACTIVE,
}


def hold_direction(local_held: bool, remote_held: bool) -> Direction:
    """The direction SIPml5 offers for (local held, remote held)."""
    return _DIRECTIONS[(local_held, remote_held)]


def answer_direction(offered: Direction, local_held: bool) -> Direction:
    """Our answer to an offered direction (RFC 3264 §6.1), narrowed by our own hold: we send
    when the peer receives, and receive when the peer sends and we do not hold.  Unconfirmed
    (PROTOCOL.md §5.4): SIPml5's answer is inferred from its (local, remote) hold table."""
    send = offered in (Direction.SENDRECV, Direction.RECVONLY)
    recv = offered in (Direction.SENDRECV, Direction.SENDONLY) and not local_held
    if send and recv:
        return Direction.SENDRECV
    if send:
        return Direction.SENDONLY
    return Direction.RECVONLY if recv else Direction.INACTIVE


def offered_direction(sdp: str) -> Direction:
    """Direction of the first audio section (sendrecv when there is none)."""
    audio = next((m for m in parse_sdp(sdp).media if m.kind == "audio"), None)
    return audio.direction if audio is not None else Direction.SENDRECV


def with_direction(sdp: str, direction: Direction) -> str:
    """``sdp`` with every audio section's direction set and the o= version incremented
    (RFC 3264 §8); everything else (ICE credentials, fingerprint, candidates) verbatim."""
    parsed = parse_sdp(sdp)
    media = [m.with_direction(direction) if m.kind == "audio" else m for m in parsed.media]
    lines = tuple((k, _bump_version(v) if k == "o" else v) for k, v in parsed.lines)
    return str(SessionDescription(lines, tuple(media)))


def _bump_version(origin: str) -> str:
    parts = origin.split(" ")
    if len(parts) >= 3 and parts[2].isdigit():
        parts[2] = str(int(parts[2]) + 1)
    return " ".join(parts)


def _silence_if_held(call: Call) -> None:
    """Nothing is sent while we hold (SIPml5 removes the microphone stream) nor while our
    answer says recvonly/inactive because the PBX holds us; and the far end is expected to
    send only while our last SDP says we receive (missing frames count only then)."""
    call.peer.track.held = call.local_held or call.remote_held
    ours = offered_direction(call.local_sdp) if call.local_sdp else Direction.SENDRECV
    call.peer.expect_receive(ours in (Direction.SENDRECV, Direction.RECVONLY))


class Holds:
    """Hold state changes of one phone's calls."""

    def __init__(self, ctx: PhoneContext) -> None:
        self.ctx = ctx
        self.name = ctx.name
        self.calls = ctx.calls

    def sessions(self) -> list[Call]:
        """Calls not terminated yet (xc_webrtc's sessions)."""
        return self.ctx.sessions()

    async def toggle(self, sip_call_id: str | None, *, conference: bool) -> bool:
        """xc_webrtc ``hold``: held → resume (holding the other connected call first, unless in
        device conference), else hold.  Without an id: the only session, or every connected
        session in device conference.  Returns whether the (first) call is now held."""
        live = self.sessions()
        if sip_call_id is None and conference and len(live) > 1:
            connected = [c for c in live if c.state is CallState.CONNECTED]
            for call in connected:
                await self.set_held(call, not call.local_held)
            return bool(connected) and connected[0].local_held
        if sip_call_id is None:
            if len(live) != 1:
                raise PhoneStateError(
                    f"{self.name}: hold without a SIP Call-ID needs exactly one call, "
                    f"there are {len(live)} (xc_webrtc returns false)"
                )
            call = live[0]
        else:
            found = self.calls.get(sip_call_id)
            if found is None:
                raise PhoneStateError(f"{self.name}: no call with SIP Call-ID {sip_call_id!r}")
            call = found
        if call.local_held:
            if not conference:
                await self.hold_others(call)
            await self.set_held(call, False)
        else:
            await self.set_held(call, True)
        return call.local_held

    async def hold_others(self, keep: Call) -> None:
        """Hold every connected, not held call except ``keep``."""
        for other in self.sessions():
            if other is not keep and other.state is CallState.CONNECTED and not other.local_held:
                await self.set_held(other, True)

    async def set_held(self, call: Call, held: bool) -> None:
        """re-INVITE for the new direction; on its 2xx: ACK, microphone off/on, Hold/Resume.
        A non-2xx leaves everything as it was and raises ``CallFailed``."""
        if call.state is not CallState.CONNECTED or call.dialog is None:
            raise PhoneStateError(f"{self.name}: {call!r} is not connected")
        if call.reinvite_pending:
            raise PhoneStateError(f"{self.name}: {call!r} has a re-INVITE in progress")
        if call.local_held == held:
            return
        channel, identity = self.ctx.channel(), self.ctx.identity()
        # The last SDP we sent, reused as the offer (SIPml5 keeps ICE and DTLS as they are).
        # When we answered the call, that SDP carries a=setup:active, which keeps our DTLS role.
        sdp = with_direction(call.local_sdp, hold_direction(held, call.remote_held))
        req = call.dialog.create_request(
            "INVITE",
            via=identity.via(),
            contact=identity.contact(),
            headers=[("User-Agent", identity.user_agent)],
            body=sdp.encode(),
            content_type="application/sdp",
        )
        call.reinvite_pending = True
        try:
            resp = await channel.request(req)
        finally:
            call.reinvite_pending = False
        if call.is_terminated:  # ended while the re-INVITE was out
            return
        if not resp.is_success:
            raise CallFailed(
                f"{self.name}: {'hold' if held else 'resume'} of {call.sip_call_id} refused: "
                f"{resp.status} {resp.reason}",
                resp.status,
                resp.reason,
            )
        call.dialog.receive_response(resp, req)
        await channel.send_request(call.dialog.create_ack(req, via=identity.via()))
        call.local_sdp = sdp
        call.local_held = held
        _silence_if_held(call)
        self.ctx.publish(call.topic, XcType.HOLD if held else XcType.RESUME, None, call.sip_call_id)

    async def on_update(self, call: Call, req: Request) -> None:
        """The PBX's UPDATE (RFC 3311): with an SDP offer, answered as a re-INVITE's offer is
        (no ACK follows); without one, a refresh of the dialog answered 200."""
        if req.body:
            await self.on_reinvite(call, req)
            return
        channel, identity = self.ctx.channel(), self.ctx.identity()
        problem = call.dialog.receive_request(req) if call.dialog is not None else None
        if problem is not None:
            await channel.send_response(make_response(req, problem))
            return
        contact = [("Contact", str(identity.contact()))]
        await channel.send_response(make_response(req, 200, headers=contact))

    async def on_reinvite(self, call: Call, req: Request) -> None:
        """The PBX's re-INVITE: 200 with our SDP in the answering direction; remember whether
        it holds us.  xc_webrtc publishes nothing for it (PROTOCOL.md §5.4)."""
        channel, identity = self.ctx.channel(), self.ctx.identity()
        if call.dialog is None or call.state is not CallState.CONNECTED:
            await channel.send_response(make_response(req, 488))
            return
        problem = call.dialog.receive_request(req)
        if problem is None and call.reinvite_pending:
            problem = 491  # RFC 3261 §14.2: our own re-INVITE is still pending
        if problem is not None:
            await channel.send_response(make_response(req, problem))
            return
        try:
            if req.body:
                offered = offered_direction(req.text)
                direction = answer_direction(offered, call.local_held)
                remote_held = offered in HOLDING
            else:  # offer in our 2xx, answer in the ACK
                direction = hold_direction(call.local_held, call.remote_held)
                remote_held = call.remote_held
            sdp = with_direction(call.local_sdp, direction)
        except XctestError as exc:
            log.info("%s: re-INVITE not acceptable: %s", self.name, exc)
            await channel.send_response(make_response(req, 488))
            return
        ok = make_response(
            req,
            200,
            headers=[("Contact", str(identity.contact())), ("User-Agent", identity.user_agent)],
            body=sdp.encode(),
            content_type="application/sdp",
        )
        await channel.send_response(ok)
        call.local_sdp = sdp
        call.remote_held = remote_held
        _silence_if_held(call)
