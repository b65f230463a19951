"""The simulated PBX: authenticates, routes by extension and runs each call as a B2BUA with
media anchored in the simulator (two aiortc legs bridged), like Asterisk for WebRTC lines.

Propagates 180, 200/ACK, BYE and CANCEL between the two legs; answers 404 for an unknown
number, 480 for a user with no registered line and 486 when the callee has no free line.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from xctest.errors import MediaError
from xctest.media import PeerConfig
from xctest.sim.auth import DigestGuard
from xctest.sim.channels import ChannelBus, ChannelState
from xctest.sim.dialplan import call_variables
from xctest.sim.lab import Lab, User
from xctest.sim.legs import Bridge, Leg, LegRole
from xctest.sim.midcall import MidCall
from xctest.sim.phone_events import ORIGINATED
from xctest.sim.registrar import Registrar
from xctest.sim.sip_server import SipConnection
from xctest.sim.switch import ALLOW, Switch
from xctest.sip.message import Request

log = logging.getLogger(__name__)

# xc_webrtc auto-answers only on this exact header value (PROTOCOL.md §5.6, Q16)
AUTOANSWER = "xivo-autoanswer"


@dataclass(frozen=True)
class PbxConfig:
    host: str = "127.0.0.1"
    sip_port: int = 5039
    peer: PeerConfig = PeerConfig()


class Pbx(Switch):
    """Everything behind the SIP websockets: registrar, dial plan, calls, CTI actions."""

    def __init__(self, lab: Lab, config: PbxConfig, bus: ChannelBus | None = None) -> None:
        super().__init__(lab, config.peer, bus or ChannelBus())
        self.config = config
        self.registrar: Registrar[SipConnection] = Registrar()
        self.auth = DigestGuard(lab)
        self.midcall = MidCall(self)

    # --- entry points from the SIP connections -----------------------------------------------

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
        bridge = self.bridge_of(leg)
        if bridge is not None:
            await self._end_bridge(bridge, by=leg, cause=16)

    def on_closed(self, conn: SipConnection) -> None:
        self.registrar.drop_flow(conn)
        for leg in [lg for lg in self.legs.values() if lg.conn is conn]:
            leg.ended = True
            bridge = self.bridge_of(leg)
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
        await conn.respond(req, 100)  # Asterisk says Trying before the dial plan runs
        target = req.uri.user or ""
        if target == self.lab.echo_number:
            await self._echo(conn, req, caller, target)
            return
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
        variables = call_variables(self.lab, caller, target, callee)
        a = self._new_leg(
            conn, LegRole.INBOUND, req, caller, callee.number, callee.display_name, None, variables
        )
        try:
            answer_sdp = await a.peer.accept_offer(req.text)
            a.local_sdp = answer_sdp
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

    async def _echo(self, conn: SipConnection, req: Request, caller: User, number: str) -> None:
        """The echo test: the PBX answers and sends the caller back what it receives."""
        variables = call_variables(self.lab, caller, number, None)
        leg = self._new_leg(conn, LegRole.INBOUND, req, caller, number, "Echo", None, variables)
        try:
            leg.local_sdp = await leg.peer.accept_offer(req.text)
        except MediaError as exc:
            await self._end_leg(leg, 488, cause=58, reason=str(exc))
            return
        await self.answer_leg(leg, leg.local_sdp)
        leg.feed = leg
        self.bus.set_state(leg.channel, ChannelState.UP)

    # --- actions requested through CTI -------------------------------------------------------

    def originate(self, user: User, destination: str, variables: dict[str, str]) -> str | None:
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
            {**call_variables(self.lab, user, destination, callee), **variables, ORIGINATED: "1"},
            extra_headers=(("Alert-Info", AUTOANSWER),),
            direction="Outgoing",  # the user placed this call, even though we ring its line
        )
        final = await self._invite_leg(u, invite)
        if final is None or not final.is_success:
            await self._release(u, 21 if final is not None else 18)
            return
        self.bus.set_state(u.channel, ChannelState.RING)
        await self.dial_from(u, destination, callee)

    async def dial_from(self, u: Leg, destination: str, callee: User | None) -> None:
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
            bridge = self.bridge_of(leg)
            if bridge is not None:
                await self._end_bridge(bridge, by=leg, cause=16)
            else:
                await self._release(leg, 16)
        elif req.method == "INFO":
            await self.midcall.info(leg, req)
        elif req.method in ("OPTIONS", "UPDATE"):
            await leg.conn.respond(req, 200)
        elif req.method == "INVITE":
            await self.midcall.reinvite(leg, req)
        else:
            await leg.conn.respond(req, 501)

    async def aclose(self) -> None:
        for bridge in list(self.bridges):
            if not bridge.ended:
                await self._end_bridge(bridge, by=bridge.a, cause=16)
        await self._background.aclose()
        for leg in list(self.legs.values()):
            await self._release(leg, 16)
