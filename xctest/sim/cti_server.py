"""The simulator's XUC CTI websocket (PROTOCOL.md §1.3, §2, §3): sessions, commands, and the
PhoneEvents derived from the PBX's channel events.

Never imports the phone.  Every frame goes through ``xctest.cti.messages``.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import logging
import time
from collections.abc import Coroutine
from typing import Any

from xctest.cti import messages as m
from xctest.errors import ConnectionClosed, CtiFrameNotJson, CtiProtocolError
from xctest.sim.channels import ChannelBus, ChannelEvent
from xctest.sim.dialplan import attached_data
from xctest.sim.lab import Lab, User, XucWire
from xctest.sim.legs import Leg
from xctest.sim.pbx import Pbx
from xctest.sim.phone_events import phone_events
from xctest.sim.transfer import TransferRefused, Transfers
from xctest.sim.xuc_rest import XucRest
from xctest.sim.xuc_wire import as_sent
from xctest.tasks import Background
from xctest.transport.server import ServerWs

log = logging.getLogger(__name__)

# unconfirmed (PROTOCOL.md Q8): XUC's answer to {"claz":"ping"}; any frame resets the client.
PONG = m.UnknownMessage("Pong", {})
# commands relayed to the WebRTC line as WebRTCCmd (PROTOCOL.md §3.8, inferred)
RELAYED = {
    m.Answer: m.WebRTCCommand.ANSWER,
    m.Hold: m.WebRTCCommand.HOLD,
    m.ToggleMicrophone: m.WebRTCCommand.TOGGLE_MICROPHONE,
}


class CtiSession:
    """One CTI websocket of one user; frames leave in the order they were posted, written
    the way the lab's XUC writes them."""

    def __init__(self, user: User, ws: ServerWs, wire: XucWire) -> None:
        self.user = user
        self.ws = ws
        self.wire = wire
        self._queue: asyncio.Queue[m.Message] = asyncio.Queue()

    def post(self, msg: m.Message) -> None:
        self._queue.put_nowait(msg)

    async def write(self) -> None:
        while True:
            msg = await self._queue.get()
            await self.ws.send(m.encode_message(as_sent(msg, self.wire)))

    def __repr__(self) -> str:
        return f"<CtiSession {self.user.login} {self.ws.request.remote}>"


class CtiServer:
    """Serves ``/xuc/api/2.0/cti`` for every logged-in user of the lab."""

    def __init__(self, lab: Lab, rest: XucRest, pbx: Pbx, bus: ChannelBus, xivo_ip: str) -> None:
        self.lab = lab
        self.rest = rest
        self.pbx = pbx
        self.xivo_ip = xivo_ip
        self.sessions: dict[str, list[CtiSession]] = {}
        self.current: dict[str, dict[str, m.PhoneEvent]] = {}  # login -> uniqueId -> last event
        self._background = Background("cti-server", log)
        self.transfers = Transfers(pbx)
        bus.listeners.append(self._on_channel_event)

    # --- connections -----------------------------------------------------------------------

    async def serve(self, ws: ServerWs) -> None:
        """Run one CTI websocket until it closes (the token was checked at the upgrade)."""
        token = self.rest.token_of(ws.request)
        user = self.lab.user_by_login(token.login) if token is not None else None
        if user is None:
            return
        session = CtiSession(user, ws, self.lab.xuc)
        self.sessions.setdefault(user.login, []).append(session)
        writer = self._background.spawn(session.write(), f"cti writer {user.login}")
        # unconfirmed (PROTOCOL.md Q10): LoggedOn first, then the user's configuration
        session.post(m.LoggedOn({"login": user.login}))
        session.post(self._user_config(user))
        try:
            while True:
                text = await ws.recv()
                self._handle_frame(session, text)
        except ConnectionClosed:
            pass
        finally:
            self.sessions[user.login].remove(session)
            writer.cancel()

    def _handle_frame(self, session: CtiSession, text: str) -> None:
        try:
            command = m.decode_command(text)
        except CtiProtocolError as exc:
            log.info("CTI %s: %s", session.user.login, exc)
            code = m.ERR_INVALID_JSON if isinstance(exc, CtiFrameNotJson) else m.ERR_BAD_COMMAND
            session.post(m.CtiError(code, str(exc)))
            return
        try:
            self._handle(session, command)
        except _Refused as exc:
            session.post(m.CtiError(exc.code, str(exc)))

    # --- commands --------------------------------------------------------------------------

    def _handle(self, session: CtiSession, cmd: m.Command) -> None:
        user = session.user
        if isinstance(cmd, m.Ping):
            session.post(PONG)
        elif isinstance(cmd, m.GetConfig):
            if cmd.object_type != "line":
                raise _Refused(m.ERR_BAD_COMMAND, f"getConfig: objectType {cmd.object_type!r}")
            session.post(self._line_config(user))
        elif isinstance(cmd, m.GetIceConfig):
            if not self.lab.xuc.ice_config:
                log.info("CTI %s: getIceConfig not answered (lab xuc.ice_config false)", user.login)
                return
            session.post(self._ice_config(user))
        elif isinstance(cmd, m.GetCurrentCallsPhoneEvents):
            events = tuple(self.current.get(user.login, {}).values())
            session.post(m.CurrentCallsPhoneEvents(events))
        elif isinstance(cmd, m.Dial):
            problem = self.pbx.originate(user, cmd.destination, attached_data(cmd.variables))
            if problem is not None:
                raise _Refused(m.ERR_NOT_ALLOWED, f"dial {cmd.destination}: {problem}")
        elif isinstance(cmd, m.Hangup):
            leg = self._leg(user, cmd.unique_id)
            self._background.spawn(self.pbx.hangup(leg), f"hangup {leg.channel.unique_id}")
        elif type(cmd) in RELAYED:
            unique_id = getattr(cmd, "unique_id", None)
            sip_call_id = self._leg(user, unique_id).call_id if unique_id else None
            self._to_line(user, m.WebRTCCmd(RELAYED[type(cmd)], sip_call_id=sip_call_id))
        elif isinstance(cmd, m.SendDtmf):
            self._to_line(user, m.WebRTCCmd(m.WebRTCCommand.SEND_DTMF, key=cmd.key))
        elif isinstance(cmd, m.SetData):
            for leg in self.pbx.legs_of(user.login):
                leg.channel.variables.update(attached_data(cmd.variables))
        elif isinstance(cmd, m.AttendedTransfer):
            try:
                self.transfers.attended(user, cmd.destination)
            except TransferRefused as exc:
                raise _Refused(m.ERR_NOT_ALLOWED, f"attendedTransfer: {exc}") from exc
        elif isinstance(cmd, m.CompleteTransfer):
            self._run(session, "completeTransfer", self.transfers.complete(user))
        elif isinstance(cmd, m.CancelTransfer):
            self._run(session, "cancelTransfer", self.transfers.cancel(user))
        elif isinstance(cmd, m.DirectTransfer):
            self._run(session, "directTransfer", self.transfers.direct(user, cmd.destination))
        elif isinstance(cmd, m.UnknownCommand):
            raise _Refused(m.ERR_UNKNOWN_COMMAND, f"unknown command {cmd.command!r}")
        else:
            name = getattr(cmd, "COMMAND", type(cmd).__name__)
            raise _Refused(m.ERR_NOT_ALLOWED, f"{name}: not supported by the simulator yet")

    def _run(self, session: CtiSession, name: str, job: Coroutine[Any, Any, None]) -> None:
        """Run a command's work in the background; a refusal comes back as an Error."""

        async def guarded() -> None:
            try:
                await job
            except TransferRefused as exc:
                session.post(m.CtiError(m.ERR_NOT_ALLOWED, f"{name}: {exc}"))

        self._background.spawn(guarded(), f"{name} {session.user.login}")

    def _leg(self, user: User, unique_id: str | None) -> Leg:
        """The user's leg with that uniqueId, or the user's only/latest one when none given."""
        if unique_id is not None:
            leg = self.pbx.leg_of(unique_id)
            if leg is None or leg.channel.user_login != user.login:
                raise _Refused(m.ERR_NO_SUCH_CALL, f"no call of {user.login} with {unique_id}")
            return leg
        legs = self.pbx.legs_of(user.login)
        if not legs:
            raise _Refused(m.ERR_NO_SUCH_CALL, f"{user.login} has no call")
        return legs[-1]

    def _to_line(self, user: User, cmd: m.WebRTCCmd) -> None:
        for session in self.sessions.get(user.login, []):
            session.post(cmd)

    # --- configuration ---------------------------------------------------------------------

    def _user_config(self, user: User) -> m.UserConfigUpdate:
        return m.UserConfigUpdate(
            user_id=self.lab.user_id(user.login),
            full_name=user.display_name,
            first_name=user.firstname,
            last_name=user.lastname,
        )

    def _line_config(self, user: User) -> m.LineConfig:
        return m.LineConfig(
            id=str(self.lab.user_id(user.login)),
            name=user.line_name,
            password=user.xuc_line_password or user.line_password,
            xivo_ip=self.xivo_ip,
            sip_proxy_name=self.lab.sip_domain,
            web_rtc=user.webrtc,
            has_device=user.has_device,
            context=self.lab.context,
            number=user.number if self.lab.xuc.line_number else None,
        )

    def _ice_config(self, user: User) -> m.IceConfig:
        ice = self.lab.ice
        stun = m.IceServer(tuple(ice.stun_urls)) if ice.stun_urls else None
        turn = None
        if ice.turn is not None:
            # TURN REST credentials (coturn use-auth-secret): "<expiry>:<login>", HMAC-SHA1
            username = f"{int(time.time()) + ice.turn.ttl}:{user.login}"
            digest = hmac.new(ice.turn.secret.encode(), username.encode(), hashlib.sha1).digest()
            credential = base64.b64encode(digest).decode()
            turn = m.IceServer(tuple(ice.turn.urls), username, credential, ice.turn.ttl)
        return m.IceConfig(stun_config=stun, turn_config=turn)

    # --- PhoneEvents -----------------------------------------------------------------------

    def _on_channel_event(self, event: ChannelEvent) -> None:
        login = event.channel.user_login
        for pe in phone_events(event):
            current = self.current.setdefault(login, {})
            if pe.event_type == m.PhoneEventType.RELEASED:
                current.pop(pe.unique_id, None)
            else:
                current[pe.unique_id] = pe
            for session in self.sessions.get(login, []):
                session.post(pe)

    async def aclose(self) -> None:
        for sessions in list(self.sessions.values()):
            for session in list(sessions):
                await session.ws.aclose()
        await self._background.aclose()


class _Refused(Exception):
    """A command the simulator answers with an ``Error`` message."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
