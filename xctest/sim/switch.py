"""The simulator's call mechanics: legs (one SIP dialog + one aiortc peer + one channel),
ringing a registered phone, relaying progress and the answer between two legs, bridging their
media, and ending calls the right way (BYE, CANCEL or a final response).

``Pbx`` adds routing, registration and the CTI actions on top.  Never imports the phone.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from xctest.audio.moh import moh_source
from xctest.audio.signature import SignatureSource
from xctest.errors import MediaError, XctestError
from xctest.media import Peer, PeerConfig, SignalTrack
from xctest.sim.channels import ChannelBus, ChannelState
from xctest.sim.lab import Lab, User
from xctest.sim.legs import Bridge, Leg, LegRole
from xctest.sim.sip_server import SipConnection
from xctest.sip.dialog import Dialog, DialogState
from xctest.sip.headers import Headers
from xctest.sip.message import Request, Response, make_response
from xctest.sip.uri import NameAddr, SipUri, parse_uri
from xctest.tasks import Background

log = logging.getLogger(__name__)

ALLOW = "INVITE, ACK, CANCEL, BYE, OPTIONS, INFO, UPDATE"
SERVER = "xctest-sim (Asterisk-like)"


class Switch:
    """Legs and bridges of the simulated PBX, and how they start and end."""

    def __init__(self, lab: Lab, peer: PeerConfig, bus: ChannelBus) -> None:
        self.lab = lab
        self.peer_config = peer
        self.bus = bus
        self.legs: dict[str, Leg] = {}  # by SIP Call-ID
        self.bridges: list[Bridge] = []
        self._background = Background("pbx", log)

    def _new_leg(
        self,
        conn: SipConnection,
        role: LegRole,
        invite: Request,
        user: User,
        other_number: str,
        other_name: str,
        linked_id: str | None,
        variables: dict[str, str],
        direction: str | None = None,
    ) -> Leg:
        chan = self.bus.new_channel(
            linked_id=linked_id,
            user_login=user.login,
            number=user.number,
            direction=direction or ("Outgoing" if role is LegRole.INBOUND else "Incoming"),
            other_number=other_number,
            other_name=other_name,
            sip_call_id=invite.call_id,
            variables=dict(variables),
        )
        leg_track = SignalTrack()
        leg = Leg(
            conn=conn,
            role=role,
            channel=chan,
            peer=Peer(self.peer_config, leg_track, name=f"sim-{user.login}", analyse=False),
            invite=invite,
            local_tag=conn.agent.new_tag(),
        )
        leg_track.source = leg
        leg.listen()
        leg.peer.on_engine = lambda: self._engine_took(leg)
        leg.after_overlay = lambda: self._engine_took(leg)
        self.legs[invite.call_id] = leg
        return leg

    async def _ring(
        self,
        conn: SipConnection,
        contact: str,
        from_number: str,
        from_name: str,
        callee: User,
        linked_id: str | None,
        variables: dict[str, str],
        *,
        extra_headers: tuple[tuple[str, str], ...] = (),
        direction: str = "Incoming",
    ) -> tuple[Request, Leg]:
        """Build the INVITE towards the callee's registered contact and its leg (in the call
        ``linked_id``); the caller-id is ``from_number`` / ``from_name``."""
        domain = self.lab.sip_domain
        call_id = conn.agent.new_call_id()
        tag = conn.agent.new_tag()
        from_ = NameAddr(SipUri(user=from_number, host=domain), from_name or None).with_tag(tag)
        headers = Headers(
            [
                ("Via", conn.via()),
                ("Max-Forwards", "70"),
                ("From", str(from_)),
                ("To", str(NameAddr(SipUri(user=callee.number, host=domain)))),
                ("Call-ID", call_id),
                ("CSeq", "102 INVITE"),
                ("Contact", str(conn.contact())),
                ("Allow", ALLOW),
                ("User-Agent", SERVER),
                *extra_headers,
            ]
        )
        draft = Request("INVITE", parse_uri(contact), headers)
        b = self._new_leg(
            conn,
            LegRole.OUTBOUND,
            draft,
            callee,
            from_number,
            from_name,
            linked_id,
            variables,
            direction,
        )
        b.local_tag = tag
        offer = await b.peer.make_offer()
        b.local_sdp = offer
        invite = draft.with_body(offer.encode(), "application/sdp")
        b.invite = invite
        return invite, b

    async def _outbound(self, bridge: Bridge, invite: Request, a_answer: str | None) -> None:
        """Ring ``bridge.b``; relay its progress to ``bridge.a`` and, when it answers, answer
        ``a`` with ``a_answer`` (an inbound leg) or just connect (``a`` already answered)."""
        a, b = bridge.a, bridge.b
        ringing_sent = False

        def provisional(resp: Response) -> None:
            nonlocal ringing_sent
            if resp.status in (180, 183) and not ringing_sent and not a.ended:
                ringing_sent = True
                self.bus.set_state(b.channel, ChannelState.RINGING)
                if not a.answered:
                    self.spawn(a.conn.respond(a.invite, 180, to_tag=a.local_tag), "relay 180")

        timed_out = False

        def no_answer() -> None:
            nonlocal timed_out
            if not b.answered and not b.ended:
                timed_out = True
                self.spawn(self._cancel(b), f"no answer {b.call_id}")

        timer = asyncio.get_running_loop().call_later(self.lab.no_answer_timeout, no_answer)
        try:
            final = await self._invite_leg(b, invite, provisional)
        finally:
            timer.cancel()
        if final is None:
            if not bridge.ended:
                await self._end_bridge(bridge, by=b, cause=18, status=408)
            return
        if not final.is_success:
            status, reason = final.status, final.reason
            cause = {486: 17, 404: 1, 480: 18, 603: 21, 487: 16}.get(status, 21)
            if timed_out:  # Q.850 19: no answer; the caller gets 480
                status, reason, cause = 480, "No Answer", 19
            await self._release(b, cause)
            if not a.ended and not a.answered:
                await self._end_leg(a, status, cause=cause, reason=reason)
            elif not a.ended:
                await self._bye(a)
                await self._release(a, cause)
            bridge.ended = True
            return
        if a.ended:
            await self._end_bridge(bridge, by=a, cause=16)
            return
        if not a.answered and a_answer is not None:
            await self.answer_leg(a, a_answer)
        self.connect_media(bridge)
        bridge.established = True
        self.bus.set_state(b.channel, ChannelState.UP)
        self.bus.set_state(a.channel, ChannelState.UP)

    async def _invite_leg(
        self,
        leg: Leg,
        invite: Request,
        on_provisional: Callable[[Response], None] | None = None,
    ) -> Response | None:
        """Send ``invite`` on an outbound leg; on 2xx ACK it and apply the answer.  Returns the
        final response, or None when the phone never answered or its SDP was unusable."""
        try:
            final = await leg.conn.channel.request(invite, on_provisional=on_provisional)
        except XctestError as exc:
            log.warning("INVITE to %s failed: %s", leg.channel.user_login, exc)
            return None
        if not final.is_success:
            return final
        leg.dialog = Dialog.from_uac(invite, final)
        leg.answered = True
        await leg.conn.channel.send_request(leg.dialog.create_ack(invite, via=leg.conn.via_value()))
        try:
            await leg.peer.accept_answer(final.text)
        except MediaError as exc:
            log.warning("answer SDP of %s unusable: %s", leg.channel.user_login, exc)
            await self._bye(leg)
            return None
        return final

    async def answer_leg(self, leg: Leg, answer_sdp: str) -> None:
        """200 OK with ``answer_sdp`` to an inbound leg's INVITE; its dialog is confirmed."""
        ok = make_response(
            leg.invite,
            200,
            to_tag=leg.local_tag,
            headers=[("Contact", str(leg.conn.contact())), ("Allow", ALLOW)],
            body=answer_sdp.encode(),
            content_type="application/sdp",
        )
        await leg.conn.channel.send_response(ok)
        leg.dialog = Dialog.from_uas(leg.invite, leg.local_tag, DialogState.CONFIRMED)
        leg.answered = True

    def leg_of(self, unique_id: str) -> Leg | None:
        """The live leg whose channel has that Asterisk uniqueid."""
        return next((g for g in self.legs.values() if g.channel.unique_id == unique_id), None)

    def legs_of(self, login: str) -> list[Leg]:
        """Live legs towards one user's line, oldest first."""
        return [g for g in self.legs.values() if g.channel.user_login == login and not g.ended]

    async def hangup(self, leg: Leg, cause: int = 16) -> None:
        """Hang up one user's leg as Asterisk does on a CTI ``hangup``: BYE when answered,
        CANCEL while ringing the phone (a rejection: the caller gets 603, cause 21), and a
        final error response while the phone's own INVITE is unanswered (487); unconfirmed
        (PROTOCOL.md Q18).  The other side follows."""
        if leg.ended:
            return
        bridge = self.bridge_of(leg)
        if leg.answered:
            await self._bye(leg)
        elif leg.role is LegRole.OUTBOUND:
            await self._cancel(leg)
            if bridge is not None:
                await self._end_bridge(bridge, by=leg, cause=21, status=603)
                return
        else:
            await self._end_leg(leg, 487, cause=cause)
        if bridge is not None:
            await self._end_bridge(bridge, by=leg, cause=cause)
        else:
            await self._release(leg, cause)

    def _now(self) -> float:
        return asyncio.get_running_loop().time()

    def connect_media(self, bridge: Bridge) -> None:
        """Two-way audio between the bridge's legs, unless one of them holds the other."""
        a, b = bridge.a, bridge.b
        held = a.held or b.held
        for leg, other in ((a, b), (b, a)):
            leg.feed = None if held else other
            # the party put on hold hears music; the one who holds hears nothing
            leg.moh = self._moh() if other.held and not leg.held else None
            if held:
                leg.inbox.clear()
        self.bridge_natively(a)
        self.bridge_natively(b)

    def bridge_natively(self, leg: Leg) -> None:
        """Where ``leg``'s audio goes only to the leg it feeds, unchanged (same codec, nothing
        mixed in, no music on hold, no tone), its packets are relayed without being decoded
        and encoded again, as Asterisk's native bridge does; otherwise they go through the
        decoded path (``Leg.on_frames`` into the other leg's inbox)."""
        fast = leg.peer.fast
        if fast is None:
            return
        other = leg.feed
        target = other.peer.fast if other is not None and not other.ended else None
        native = (
            target is not None
            and other is not None
            and target.codec.name == fast.codec.name
            and other.moh is None
            and not other.overlaying
            and not leg.held
            and not other.held
        )
        wanted = target if native else None
        if fast.relay is not wanted:
            fast.relay_to(wanted)
            if other is not None and wanted is None:
                other.inbox.clear()  # the decoded path starts afresh

    def _moh(self) -> SignatureSource:
        return moh_source(level_dbfs=self.lab.moh_level_dbfs)

    def _engine_took(self, leg: Leg) -> None:
        """A leg's media path changed (the engine took it, a tone ended): bridge again."""
        for one in (leg, *(g for g in self.legs.values() if g.feed is leg)):
            self.bridge_natively(one)

    def bridge_of(self, leg: Leg) -> Bridge | None:
        return next((b for b in self.bridges if leg in (b.a, b.b) and not b.ended), None)

    def _forget(self, leg: Leg) -> None:
        if self.legs.get(leg.call_id) is leg:
            del self.legs[leg.call_id]

    async def _end_bridge(self, bridge: Bridge, *, by: Leg, cause: int, status: int = 487) -> None:
        """One side ended (BYE, CANCEL, failure): end the other side the right way."""
        if bridge.ended:
            return
        bridge.ended = True
        other = bridge.other(by)
        await self._release(by, cause)
        if other.ended:
            await self._release(other, cause)
        elif other.answered:
            await self._bye(other)
            await self._release(other, cause)
        elif other.role is LegRole.OUTBOUND:
            await self._cancel(other)
        else:
            await self._end_leg(other, status, cause=cause)

    async def _end_leg(
        self, leg: Leg, status: int, *, cause: int, reason: str | None = None
    ) -> None:
        """Final non-2xx answer to an unanswered inbound leg, then release it."""
        if not leg.ended:
            leg.ended = True
            try:
                await leg.conn.respond(leg.invite, status, reason, to_tag=leg.local_tag)
            except XctestError as exc:
                log.info("could not answer %s: %s", leg.call_id, exc)
        await self._release(leg, cause)

    async def _bye(self, leg: Leg) -> None:
        leg.ended = True
        if leg.dialog is None:
            return
        bye = leg.dialog.create_request("BYE", via=leg.conn.via_value())
        try:
            await leg.conn.channel.request(bye)
        except XctestError as exc:
            log.info("BYE on %s: %s", leg.call_id, exc)

    async def _cancel(self, leg: Leg) -> None:
        leg.ended = True
        try:
            await leg.conn.channel.request(leg.conn.agent.make_cancel(leg.invite))
        except XctestError as exc:
            log.info("CANCEL on %s: %s", leg.call_id, exc)
        # the INVITE's 487 is handled by _outbound, which releases the leg

    async def release_with_bye(self, leg: Leg, cause: int = 16) -> None:
        """End an answered leg from the PBX side (BYE) and release its channel."""
        await self._bye(leg)
        await self._release(leg, cause)

    async def _release(self, leg: Leg, cause: int) -> None:
        leg.ended = True
        self._forget(leg)
        self.bus.hangup(leg.channel, cause)
        await leg.peer.aclose()

    def spawn(self, coro: Coroutine[Any, Any, None], what: str) -> None:
        """Run ``coro`` in the background; failures are logged, never raised here."""
        self._background.spawn(coro, what)
