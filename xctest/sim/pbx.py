"""The simulated PBX: authenticates, routes by extension and runs each call as a B2BUA with
media anchored in the simulator (two aiortc legs bridged), like Asterisk for WebRTC lines.

Propagates 180, 200/ACK, BYE and CANCEL between the two legs; answers 404 for an unknown
number, 480 for a user with no registered line and 486 when the callee has no free line.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from xctest.errors import MediaError, XctestError
from xctest.media import AudioSink, Peer, PeerConfig, SignalTrack
from xctest.sim.auth import DigestGuard
from xctest.sim.channels import ChannelBus, ChannelState
from xctest.sim.dialplan import call_variables
from xctest.sim.lab import Lab, User
from xctest.sim.legs import Bridge, Leg, LegRole
from xctest.sim.registrar import Registrar
from xctest.sim.sip_server import SipConnection
from xctest.sip.dialog import Dialog, DialogState
from xctest.sip.headers import Headers
from xctest.sip.message import Request, Response, make_response
from xctest.sip.uri import NameAddr, SipUri, parse_uri
from xctest.tasks import Background

log = logging.getLogger(__name__)

# xc_webrtc auto-answers only on this exact header value (PROTOCOL.md §5.6, Q16)
AUTOANSWER = "xivo-autoanswer"
ALLOW = "INVITE, ACK, CANCEL, BYE, OPTIONS, INFO, UPDATE"
SERVER = "xctest-sim (Asterisk-like)"


@dataclass(frozen=True)
class PbxConfig:
    host: str = "127.0.0.1"
    sip_port: int = 5039
    peer: PeerConfig = PeerConfig()


class Pbx:
    """Everything behind the SIP websockets: registrar, dial plan, calls."""

    def __init__(self, lab: Lab, config: PbxConfig, bus: ChannelBus | None = None) -> None:
        self.lab = lab
        self.config = config
        self.bus = bus or ChannelBus()
        self.registrar: Registrar[SipConnection] = Registrar()
        self.auth = DigestGuard(lab)
        self.legs: dict[str, Leg] = {}  # by SIP Call-ID
        self.bridges: list[Bridge] = []
        self._background = Background("pbx", log)

    # --- entry points from the SIP connections -----------------------------------------------

    def spawn(self, coro: Coroutine[Any, Any, None], what: str) -> None:
        """Run ``coro`` in the background; failures are logged, never raised here."""
        self._background.spawn(coro, what)

    async def on_request(self, conn: SipConnection, req: Request) -> None:
        leg = self.legs.get(req.call_id)
        if req.method == "REGISTER":
            await self._register(conn, req)
        elif req.method == "OPTIONS":
            await conn.respond(req, 200, headers=[("Allow", ALLOW)])
        elif leg is None and req.method == "INVITE" and req.to.tag is None:
            await self._invite(conn, req)
        elif leg is None:
            await conn.respond(req, 481)
        else:
            await self._in_dialog(leg, req)

    def on_ack(self, conn: SipConnection, req: Request) -> None:
        leg = self.legs.get(req.call_id)
        if leg is not None:
            leg.acked.set()

    async def on_cancel(self, conn: SipConnection, invite: Request) -> None:
        leg = self.legs.get(invite.call_id)
        if leg is None or leg.answered:
            return
        await self._end_leg(leg, 487, cause=16)
        bridge = self._bridge_of(leg)
        if bridge is not None:
            await self._end_bridge(bridge, by=leg, cause=16)

    def on_closed(self, conn: SipConnection) -> None:
        self.registrar.drop_flow(conn)
        for leg in [lg for lg in self.legs.values() if lg.conn is conn]:
            leg.ended = True
            bridge = self._bridge_of(leg)
            self.spawn(self._teardown(leg, bridge), f"teardown {leg.call_id}")

    async def _teardown(self, leg: Leg, bridge: Bridge | None) -> None:
        if bridge is not None:
            await self._end_bridge(bridge, by=leg, cause=16)
        else:
            await self._release(leg, 16)

    # --- registration ------------------------------------------------------------------------

    async def _register(self, conn: SipConnection, req: Request) -> None:
        verdict = self.auth.check(req, conn.now())
        if verdict.status:
            await conn.respond(req, verdict.status, headers=verdict.headers)
            return
        contact = req.contact
        if contact is None:
            await conn.respond(req, 400, "Missing Contact")
            return
        asked = contact.param("expires") or req.headers.get("Expires") or "3600"
        try:
            expires = int(asked)
        except ValueError:
            await conn.respond(req, 400, f"Bad expires {asked!r}")
            return
        granted = self.registrar.register(verdict.line, str(contact.uri), conn, expires, conn.now())
        bound = contact.with_param("expires", str(granted))
        headers = [("Contact", str(bound))] if granted else []
        await conn.respond(req, 200, headers=[*headers, ("Expires", str(granted))])

    # --- a new call --------------------------------------------------------------------------

    async def _invite(self, conn: SipConnection, req: Request) -> None:
        verdict = self.auth.check(req, conn.now())
        if verdict.status:
            await conn.respond(req, verdict.status, headers=verdict.headers)
            return
        caller = self.lab.user_by_line(verdict.line)
        assert caller is not None  # the guard only accepts lab lines
        target = req.uri.user or ""
        callee = self.lab.user_by_number(target)
        if callee is None:
            await conn.respond(req, 404, headers=[("Reason", 'Q.850;cause=1;text="Unallocated"')])
            return
        binding = self.registrar.lookup(callee.line_name, conn.now())
        if binding is None:
            await conn.respond(req, 480)
            return
        if len(self.bus.channels_of(callee.login)) >= callee.simultaneous_calls:
            await conn.respond(req, 486, headers=[("Reason", 'Q.850;cause=17;text="Busy"')])
            return
        await conn.respond(req, 100)
        variables = call_variables(self.lab, caller, target, callee)
        a = self._new_leg(
            conn, LegRole.INBOUND, req, caller, callee.number, callee.display_name, None, variables
        )
        try:
            answer_sdp = await a.peer.accept_offer(req.text)
        except MediaError as exc:
            await self._end_leg(a, 488, cause=58, reason=str(exc))
            return
        self.bus.set_state(a.channel, ChannelState.RING)
        b_invite, b = await self._ring(
            binding.flow,
            binding.contact,
            caller.number,
            caller.display_name,
            callee,
            a.channel.linked_id,
            a.channel.variables,
        )
        bridge = Bridge(a, b)
        self.bridges.append(bridge)
        self.spawn(self._outbound(bridge, b_invite, answer_sdp), f"call {a.call_id}")

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
            peer=Peer(self.config.peer, leg_track, name=f"sim-{user.login}"),
            invite=invite,
            local_tag=conn.agent.new_tag(),
        )
        leg_track.source = leg.inbox.read
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

        final = await self._invite_leg(b, invite, provisional)
        if final is None:
            if not bridge.ended:
                await self._end_bridge(bridge, by=b, cause=18, status=408)
            return
        if not final.is_success:
            cause = {486: 17, 404: 1, 480: 18, 603: 21, 487: 16}.get(final.status, 21)
            await self._release(b, cause)
            if not a.ended and not a.answered:
                await self._end_leg(a, final.status, cause=cause, reason=final.reason)
            elif not a.ended:
                await self._bye(a)
                await self._release(a, cause)
            bridge.ended = True
            return
        if a.ended:
            await self._end_bridge(bridge, by=a, cause=16)
            return
        if not a.answered and a_answer is not None:
            ok = make_response(
                a.invite,
                200,
                to_tag=a.local_tag,
                headers=[("Contact", str(a.conn.contact())), ("Allow", ALLOW)],
                body=a_answer.encode(),
                content_type="application/sdp",
            )
            await a.conn.channel.send_response(ok)
            a.dialog = Dialog.from_uas(a.invite, a.local_tag, DialogState.CONFIRMED)
            a.answered = True
        self._connect_media(bridge)
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

    # --- actions requested through CTI -------------------------------------------------------

    def leg_of(self, unique_id: str) -> Leg | None:
        """The live leg whose channel has that Asterisk uniqueid."""
        return next((g for g in self.legs.values() if g.channel.unique_id == unique_id), None)

    def legs_of(self, login: str) -> list[Leg]:
        """Live legs towards one user's line, oldest first."""
        return [g for g in self.legs.values() if g.channel.user_login == login and not g.ended]

    async def hangup(self, leg: Leg, cause: int = 16) -> None:
        """Hang up one user's leg as Asterisk does on a CTI ``hangup``: BYE when answered,
        CANCEL while ringing the phone, and a final error response while the phone's own
        INVITE is unanswered (487: unconfirmed (PROTOCOL.md Q18)); the other side follows."""
        if leg.ended:
            return
        bridge = self._bridge_of(leg)
        if leg.answered:
            await self._bye(leg)
        elif leg.role is LegRole.OUTBOUND:
            await self._cancel(leg)
        else:
            await self._end_leg(leg, 487, cause=cause)
        if bridge is not None:
            await self._end_bridge(bridge, by=leg, cause=cause)
        else:
            await self._release(leg, cause)

    async def originate(
        self, user: User, destination: str, variables: dict[str, str]
    ) -> str | None:
        """A CTI ``dial``: ring the user's own line with auto-answer, then dial
        ``destination`` from it (unconfirmed (PROTOCOL.md Q5, Q16, Q23)).  Returns an error
        text when the user's line cannot be rung, else None (the call goes on in the
        background)."""
        binding = self.registrar.lookup(user.line_name, self._now())
        if binding is None:
            return f"line {user.line_name} of {user.login} is not registered"
        callee = self.lab.user_by_number(destination)
        # the caller-id shown on the user's own leg is the destination's (Q23)
        other_name = callee.display_name if callee is not None else destination
        job = self._originate(
            binding.flow, binding.contact, user, destination, callee, other_name, variables
        )
        self.spawn(job, f"originate {user.login}->{destination}")
        return None

    async def _originate(
        self,
        conn: SipConnection,
        contact: str,
        user: User,
        destination: str,
        callee: User | None,
        other_name: str,
        variables: dict[str, str],
    ) -> None:
        invite, u = await self._ring(
            conn,
            contact,
            destination,
            other_name,
            user,
            None,
            {**call_variables(self.lab, user, destination, callee), **variables},
            extra_headers=(("Alert-Info", AUTOANSWER),),
            direction="Outgoing",  # the user placed this call, even though we ring its line
        )
        final = await self._invite_leg(u, invite)
        if final is None or not final.is_success:
            await self._release(u, 21 if final is not None else 18)
            return
        self.bus.set_state(u.channel, ChannelState.RING)
        await self._dial_from(u, destination, callee)

    async def _dial_from(self, u: Leg, destination: str, callee: User | None) -> None:
        """Second half of an originate: ``u`` is answered; ring the destination."""
        cause = 0
        binding = None
        if callee is None:
            cause = 1
        else:
            binding = self.registrar.lookup(callee.line_name, self._now())
            if binding is None:
                cause = 18
            elif len(self.bus.channels_of(callee.login)) >= callee.simultaneous_calls:
                cause = 17
        if cause or callee is None or binding is None:
            await self._bye(u)
            await self._release(u, cause)
            return
        caller = self.lab.user_by_login(u.channel.user_login)
        assert caller is not None
        invite, d = await self._ring(
            binding.flow,
            binding.contact,
            caller.number,
            caller.display_name,
            callee,
            u.channel.linked_id,
            u.channel.variables,
        )
        bridge = Bridge(u, d)
        self.bridges.append(bridge)
        await self._outbound(bridge, invite, None)

    def _now(self) -> float:
        return asyncio.get_running_loop().time()

    def _connect_media(self, bridge: Bridge) -> None:
        for src, dst in ((bridge.a, bridge.b), (bridge.b, bridge.a)):
            self._route(src, dst)

    @staticmethod
    def _route(src: Leg, dst: Leg) -> None:
        def attach(sink: AudioSink) -> None:
            sink.listeners.append(dst.inbox.write)

        if src.peer.sink is not None:
            attach(src.peer.sink)
        else:
            src.peer.on_remote_track = attach

    # --- in-dialog requests ------------------------------------------------------------------

    async def _in_dialog(self, leg: Leg, req: Request) -> None:
        if leg.dialog is not None:
            problem = leg.dialog.receive_request(req)
            if problem is not None:
                await leg.conn.respond(req, problem)
                return
        if req.method == "BYE":
            await leg.conn.respond(req, 200)
            leg.ended = True
            bridge = self._bridge_of(leg)
            if bridge is not None:
                await self._end_bridge(bridge, by=leg, cause=16)
            else:
                await self._release(leg, 16)
        elif req.method in ("INFO", "OPTIONS", "UPDATE"):
            await leg.conn.respond(req, 200)
        elif req.method == "INVITE":
            # re-INVITE: answered with the current local SDP (hold is a later feature)
            await leg.conn.respond(req, 488, "Re-INVITE not supported yet")
        else:
            await leg.conn.respond(req, 501)

    # --- ending ------------------------------------------------------------------------------

    def _bridge_of(self, leg: Leg) -> Bridge | None:
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

    async def _release(self, leg: Leg, cause: int) -> None:
        leg.ended = True
        self._forget(leg)
        self.bus.hangup(leg.channel, cause)
        await leg.peer.aclose()

    async def aclose(self) -> None:
        for bridge in list(self.bridges):
            if not bridge.ended:
                await self._end_bridge(bridge, by=bridge.a, cause=16)
        await self._background.aclose()
        for leg in list(self.legs.values()):
            await self._release(leg, 16)
