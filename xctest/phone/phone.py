"""The virtual phone: xc_webrtc's API in snake_case over a sans-IO SIP agent, a SIP websocket
and aiortc media (PROTOCOL.md §4).  Never imports the simulator.
"""

from __future__ import annotations

import asyncio
import dataclasses
import enum
import logging
import ssl
from collections.abc import Callable, Coroutine, Sequence
from typing import Any

from xctest.audio.moh import MOH_SIGNATURE
from xctest.audio.signature import Signature, SignatureSource, signature_for
from xctest.cti.client import CtiClient
from xctest.cti.messages import Hangup, LineConfig, PhoneEvent, WebRTCCmd, WebRTCCommand
from xctest.errors import (
    CallFailed,
    ConnectError,
    LineConfigError,
    PhoneStateError,
    RegistrationFailed,
    StepTimeout,
    XctestError,
)
from xctest.media import IcePath, MixSource, Peer, PeerConfig, SignalTrack, prepare_tones
from xctest.phone.call import Call, CallState
from xctest.phone.conference import DeviceConference
from xctest.phone.context import PhoneContext
from xctest.phone.dtmf import Keypad
from xctest.phone.events import Handlers, Topic, XcEvent, XcType
from xctest.phone.hold import Holds
from xctest.phone.ice import IceList
from xctest.phone.identity import DEFAULT_USER_AGENT, SipIdentity, identity_from_line_config
from xctest.phone.inbound import REASON_BYE, Inbound
from xctest.phone.outbound import Outbound
from xctest.phone.registration import DigestSender, Registration
from xctest.phone.transfer import Transfers
from xctest.phone.xuc_link import XucLink
from xctest.sip.dialog import Dialog, DialogState
from xctest.sip.message import make_response
from xctest.tasks import Background
from xctest.timeline import Timeline
from xctest.transport import ws as wsmod
from xctest.transport.sip_channel import SipChannel, describe

log = logging.getLogger(__name__)
sip_log = logging.getLogger("xctest.phone.sip")  # every SIP frame, at DEBUG (set_debug)

SIP_LEVELS = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warn": logging.WARNING,
    "error": logging.ERROR,
    "fatal": logging.CRITICAL,
}


class StackStatus(enum.StrEnum):
    """``get_sip_stack_status()`` values (PROTOCOL.md §4.1)."""

    NOT_INITIALIZED = "NotInitialized"
    INITIALIZING = "Initializing"
    WAITING_FOR_SIP = "WaitingForSip"
    WAITING_FOR_ICE = "WaitingForIce"
    STARTING = "Starting"
    STARTED = "Started"
    STOPPED = "Stopped"


def line_problem(line: LineConfig) -> str:
    """Why a WebRTC phone cannot use this line ("" when it can), as CtiProxy decides
    (PROTOCOL.md §3.6): a line (id not ``-``) with ``webRtc`` and no device."""
    if not line.has_line:
        return "XUC's LineConfig says the user has no line (id '-'): give the user a line"
    if not line.web_rtc:
        return (
            f"line {line.name!r} (id {line.id}) is not a WebRTC line (LineConfig webRtc=false): "
            "in XiVO, turn WebRTC on for the user's line"
        )
    if line.has_device:
        return (
            f"line {line.name!r} (id {line.id}) has a device attached (LineConfig "
            "hasDevice=true): xc_webrtc only starts on a line without a desk phone"
        )
    return ""


class Phone:
    """A virtual xc_webrtc phone.

    Either logged in through XUC (``cti``: then ``init``/``init_by_line_config`` derive the
    SIP identity from the LineConfig, as xc_webrtc does) or given a SIP ``identity`` directly.
    ``name`` labels the party in logs; ``signature`` is what its microphone plays;
    ``listen_for`` are the signatures its calls look for in received audio (music on hold is
    always added).
    """

    def __init__(
        self,
        identity: SipIdentity | None = None,
        *,
        cti: CtiClient | None = None,
        name: str = "",
        signature: Signature | None = None,
        listen_for: Sequence[Signature] = (),
        peer_config: PeerConfig | None = None,
        ssl_context: ssl.SSLContext | None = None,
        register_expires: int = 60,
        user_agent: str = DEFAULT_USER_AGENT,
    ) -> None:
        self._identity = identity
        self.cti = cti
        self.name = name or (identity.impi if identity else cti.name if cti else "phone")
        self.signature = signature or signature_for(0, self.name)
        wanted = tuple(listen_for) or (self.signature,)
        has_moh = any(s.name == MOH_SIGNATURE.name for s in wanted)
        self.listen_for = wanted if has_moh else (*wanted, MOH_SIGNATURE)
        self.peer_config = peer_config or PeerConfig()
        self.ssl_context = ssl_context
        self.user_agent = user_agent
        self.handlers = Handlers()
        self.timeline = Timeline(self.name)
        self.calls: dict[str, Call] = {}
        self.status = StackStatus.NOT_INITIALIZED
        self.start_error: XctestError | OSError | None = None  # why the last start failed
        self._channel: SipChannel | None = None
        self._background = Background(self.name, log)
        self._digest = DigestSender()
        self.registration = Registration(
            self.name, self._digest, self._publish, self._spawn, register_expires
        )
        self.ice = IceList()
        self.xuc = XucLink(cti, self.ice, self.timeline, self._spawn) if cti is not None else None
        ctx = PhoneContext(
            self.name,
            self.calls,
            self._need_channel,
            lambda: self.identity,
            self._publish,
            self._spawn,
            self.timeline,
        )
        self.holds = Holds(ctx)
        self.keypad = Keypad(ctx)
        self.device_conference = DeviceConference(self.name, self.holds)
        self.transfers = Transfers(self.name, self.holds, lambda: self.xuc)
        self._outbound = Outbound(
            ctx,
            self._digest,
            self.keypad,
            self._new_media,
            self.listen_for,
            self._bye,
            self._terminate,
        )
        self._inbound = Inbound(
            ctx,
            self.holds,
            self.keypad,
            self._new_media,
            self.listen_for,
            self.answer,
            self._terminate,
        )
        self._log_events = False

    @property
    def registered(self) -> bool:
        return self.registration.registered

    @property
    def phone_events(self) -> list[PhoneEvent]:
        """PhoneEvents received on the CTI session, oldest first."""
        return self.xuc.phone_events if self.xuc is not None else []

    @property
    def identity(self) -> SipIdentity:
        """The SIP identity (set directly, or derived from the LineConfig at start-up)."""
        if self._identity is None:
            raise PhoneStateError(f"{self.name}: no SIP identity yet (init not done)")
        return self._identity

    # --- xc_webrtc API -----------------------------------------------------------------------

    def set_handler(
        self, topic: Topic | str, handler: Callable[[XcEvent], None]
    ) -> Callable[[], None]:
        """Subscribe to a topic (general, registration, incoming, outgoing)."""
        return self.handlers.set_handler(topic, handler)

    def clear_handlers(self) -> None:
        self.handlers.clear()

    def get_sip_stack_status(self) -> str:
        return str(self.status)

    def set_debug(
        self, sip_level: str | None = None, events: bool = False, handlers: bool = False
    ) -> None:
        """xc_webrtc ``setDebug``: ``sip_level`` (debug/info/warn/error/fatal) sets the level of
        the ``xctest.phone.sip`` logger (every SIP frame at DEBUG); ``events`` logs each event
        at INFO with the ``RE<<<`` prefix; ``handlers`` logs each handler call."""
        if sip_level is not None:
            if sip_level not in SIP_LEVELS:
                raise ValueError(f"sip_level must be one of {sorted(SIP_LEVELS)}: {sip_level!r}")
            sip_log.setLevel(SIP_LEVELS[sip_level])
        self._log_events = events
        self.handlers.log_calls = handlers

    def get_ice_urls(self) -> list[dict[str, Any]]:
        """The ICE servers new calls use (RTCIceServer shape)."""
        return self.ice.urls()

    def set_ice_urls(self, urls: Sequence[dict[str, Any]]) -> None:
        """Replace the ICE servers; entries may use ``urls`` or the legacy ``url``."""
        self.ice.set_urls(urls)

    def disable_ice(self) -> None:
        """No STUN/TURN: host candidates only."""
        self.ice.disable()

    # --- start-up through XUC (PROTOCOL.md §1.5, §4.4) ----------------------------------------

    async def init(
        self,
        name: str,
        ssl: bool,
        websocket_port: int,
        token: str | None,
        remote_audio: str | None = None,
        ip: str | None = None,
        *,
        url: str | None = None,
    ) -> None:
        """xc_webrtc ``init``: wait for a LineConfig (asking ``getConfig line`` now); the stack
        starts when it arrives.  Follow progress on the general/registration topics or with
        ``wait_registered``, which raises the cause of a failed start.  ``url`` (an xctest
        addition) is the whole SIP websocket URL, the token appended."""
        link = self._need_xuc()

        def on_line(line: LineConfig) -> None:
            if self.status in (
                StackStatus.INITIALIZING,
                StackStatus.STARTING,
                StackStatus.STARTED,
            ):
                log.info("%s: LineConfig ignored, stack is %s", self.name, self.status)
                return
            start = self._start_from_line(line, name, ssl, websocket_port, token, ip, url)
            self._spawn(self._start_or_fail(start))

        await link.ask_line_config(on_line)

    async def _start_or_fail(self, start: Coroutine[Any, Any, None]) -> None:
        """Run a start-up in the background; its failure is kept for ``wait_registered`` and,
        when nothing said so yet, published as general Failed (the stack did not start)."""
        try:
            await start
        except (XctestError, OSError) as exc:
            log.info("%s: start-up failed: %s", self.name, exc)
            self.start_error = exc
            if not isinstance(exc, RegistrationFailed | ConnectError):  # those said so already
                self.status = StackStatus.STOPPED
                self._publish(Topic.GENERAL, XcType.FAILED, {"reason": str(exc)})

    async def init_by_line_config(
        self,
        line_cfg: LineConfig,
        name: str,
        ssl: bool,
        websocket_port: int,
        token: str | None,
        remote_audio: str | None = None,
        ip: str | None = None,
        *,
        url: str | None = None,
    ) -> None:
        """xc_webrtc ``initByLineConfig``: start with a LineConfig already in hand; returns
        once the first REGISTER is answered (raises ``LineConfigError``, ``ConnectError``,
        ``RegistrationFailed``).  After ``stop()`` it does not restart: a later LineConfig
        does (PROTOCOL.md §4.4)."""
        if self.status is not StackStatus.NOT_INITIALIZED:
            log.info("%s: already initialized (%s)", self.name, self.status)
            if self.xuc is not None:
                await self.init(name, ssl, websocket_port, token, remote_audio, ip, url=url)
            return
        try:
            await self._start_from_line(line_cfg, name, ssl, websocket_port, token, ip, url)
        except (XctestError, OSError) as exc:
            self.start_error = exc
            raise

    async def _start_from_line(
        self,
        line: LineConfig,
        name: str,
        ssl: bool,
        port: int,
        token: str | None,
        ip: str | None,
        url: str | None = None,
    ) -> None:
        self.start_error = None
        problem = line_problem(line)
        if problem:
            raise LineConfigError(f"{self.name}: {problem}")
        self.status = StackStatus.INITIALIZING
        if self.xuc is not None:
            await self.xuc.fetch_ice()
            self.xuc.on_command(self._on_webrtc_cmd)
        self._identity = identity_from_line_config(
            line, name, ssl, port, token, ip, user_agent=self.user_agent, url=url
        )
        await self.start()

    async def wait_registered(self, timeout: float = 10.0) -> None:
        """Until registration Registered.  When general Failed or registration Unregistered
        comes first, raises why the start failed (``LineConfigError``, ``ConnectError``,
        ``RegistrationFailed``, an IceConfig that never came …)."""
        try:
            entry = await self.timeline.wait_for(
                lambda e: (
                    e.kind == "xc"
                    and e.name
                    in ("registration/Registered", "registration/Unregistered", "general/Failed")
                ),
                timeout,
                what="registration",
            )
        except StepTimeout as exc:
            if self.start_error is not None:
                raise self.start_error from None
            if self.status is StackStatus.NOT_INITIALIZED and self.xuc is not None:
                raise StepTimeout(
                    f"{self.name}: LineConfig in answer to getConfig line (the stack starts "
                    "when it comes)",
                    exc.seen,
                    timeout,
                ) from None
            raise
        if entry.name != "registration/Registered":
            if self.start_error is not None:
                raise self.start_error
            reason = entry.fields.get("data", {}).get("reason", "")
            raise RegistrationFailed(f"{self.name}: {entry.name}: {reason}", user=self.name)

    def _on_webrtc_cmd(self, msg: WebRTCCmd) -> None:
        """XUC's remote control of the line (PROTOCOL.md §3.8)."""
        if msg.command == WebRTCCommand.ANSWER:
            self._spawn(self.answer(msg.sip_call_id))
        elif msg.command == WebRTCCommand.HOLD:
            self._spawn(self.hold(msg.sip_call_id))
        elif msg.command == WebRTCCommand.SEND_DTMF and msg.key:
            self._spawn(self.dtmf(msg.key))
        elif msg.command == WebRTCCommand.TOGGLE_MICROPHONE:
            live = [c for c in self.calls.values() if c.state is not CallState.TERMINATED]
            if msg.sip_call_id is not None or live:
                self.toggle_microphone(msg.sip_call_id or live[0].sip_call_id)
        else:
            log.warning("%s: WebRTCCmd %s not implemented", self.name, msg.command)

    def unique_id_of(self, sip_call_id: str) -> str | None:
        """The Asterisk uniqueId XUC reported for this SIP call (PhoneEvent SIPCALLID)."""
        return self.xuc.unique_id_of(sip_call_id) if self.xuc is not None else None

    async def start(self) -> None:
        """Open the SIP websocket and REGISTER (general Started, then registration events).

        Raises ``ConnectError`` (after general Failed) or ``RegistrationFailed`` (after
        registration Unregistered; retries continue in the background as in xc_webrtc).
        """
        self.status = StackStatus.STARTING
        # what sending its signature costs once per process, off the loop and out of a call
        await asyncio.to_thread(prepare_tones, SignatureSource(self.signature))
        try:
            ws = await wsmod.connect(
                self.identity.ws_url,
                subprotocols=[wsmod.SIP_SUBPROTOCOL],
                ssl_context=self.ssl_context,
                user_agent=self.identity.user_agent,
                # Asterisk's websocket server has no permessage-deflate: do not offer it
                compression=False,
            )
        except ConnectError as exc:
            self.status = StackStatus.STOPPED
            self._publish(Topic.GENERAL, XcType.FAILED, {"reason": str(exc)})
            raise
        self._channel = SipChannel(
            ws, self._inbound.on_event, name=self.name, observer=self._observe
        )
        self._spawn(self._serve(self._channel))
        self.status = StackStatus.STARTED
        self._publish(Topic.GENERAL, XcType.STARTED)
        await self.register()

    async def _serve(self, channel: SipChannel) -> None:
        await channel.run()
        if self.status is not StackStatus.STOPPED:
            self._publish(Topic.GENERAL, XcType.FAILED, {"reason": "SIP websocket closed"})
            for call in list(self.calls.values()):
                self._terminate(call, "Transport error")

    async def register(self, expires: int | None = None) -> int:
        """REGISTER (with digest); returns the granted expiry.  ``expires=0`` unregisters."""
        return await self.registration.register(self._need_channel(), self.identity, expires)

    async def media_candidates(self) -> IcePath:
        """Gather ICE candidates the way a new call would (this phone's media addresses and
        the ICE servers XUC gave) and return them; no call is placed."""
        peer, _ = self._new_media("probe")
        try:
            await peer.make_offer()
            return peer.ice_path()
        finally:
            await peer.aclose()

    async def dial(self, destination: str) -> Call:
        """Place a call (outgoing Establishing now; Ringing/Connected/Terminated follow)."""
        return await self._outbound.dial(destination)

    async def answer(self, sip_call_id: str | None = None) -> Call:
        """Answer the ringing call (or the one with ``sip_call_id``), after holding the
        connected calls as xc_webrtc does."""
        call = self._find(sip_call_id, CallState.SETUP)
        channel = self._need_channel()
        try:
            await self.holds.hold_others(call)
        except XctestError as exc:
            log.warning("%s: answering without holding the other call: %s", self.name, exc)
        answer_sdp = await call.peer.accept_offer(call.invite.text)
        call.local_sdp = answer_sdp
        ok = make_response(
            call.invite,
            200,
            to_tag=call.local_tag,
            headers=[
                ("Contact", str(self.identity.contact())),
                ("User-Agent", self.identity.user_agent),
            ],
            body=answer_sdp.encode(),
            content_type="application/sdp",
        )
        await channel.send_response(ok)
        call.dialog = Dialog.from_uas(call.invite, call.local_tag, DialogState.CONFIRMED)
        call.final_status = 200
        call.set_state(CallState.CONNECTED)
        caller = call.invite.from_.uri.user or ""
        self._publish(call.topic, XcType.CONNECTED, {"caller": caller}, call.sip_call_id)
        self._publish(Topic.INCOMING, XcType.REMOTE_MEDIA_ADDED)
        return call

    async def hangup(self, sip_call_id: str | None = None, *, via_cti: bool | None = None) -> None:
        """End a call.  With a CTI session (and ``via_cti`` not False) this sends CTI
        ``hangup`` with the call's uniqueId, as XiVO front-ends do (xc_webrtc has no hang-up);
        the PBX then ends the SIP dialog.  Otherwise, over SIP: BYE when connected, CANCEL
        while ringing out, 603 while ringing in."""
        call = self._find(sip_call_id, None)
        if via_cti is None:
            via_cti = self.xuc is not None and self.xuc.is_open
        if via_cti:
            await self._need_xuc().cti.send(Hangup(self.unique_id_of(call.sip_call_id)))
            return
        channel = self._need_channel()
        if call.state is CallState.CONNECTED:
            await self._bye(call, REASON_BYE)
        elif call.state is CallState.SETUP:
            await channel.send_response(make_response(call.invite, 603, to_tag=call.local_tag))
            call.final_status = 603
            self._terminate(call, "Decline")
        elif call.state in (CallState.ESTABLISHING, CallState.RINGING):
            # the INVITE's final response (487) then ends the call in _outgoing
            await channel.send_request(channel.agent.make_cancel(call.invite))

    async def dtmf(self, key: str, inband: bool = False) -> bool:
        """Send one DTMF digit as SIP INFO ``application/dtmf-relay`` on every connected call,
        as SIPml5 does (PROTOCOL.md §5.5); ``inband`` also plays its Q.23 tones in place of
        the microphone.  False when ``key`` is not one character or no call is connected."""
        return await self.keypad.send(key, inband)

    async def hold(self, sip_call_id: str | None = None) -> bool:
        """xc_webrtc ``hold``: toggle hold/resume by re-INVITE (Hold/Resume events).  Resuming
        holds the other connected call first; without an id: the only call, or every call in
        device conference.  ``PhoneStateError`` with several calls and no id; ``CallFailed``
        when the PBX refuses.  Returns whether the call is now held."""
        return await self.holds.toggle(sip_call_id, conference=self.device_conference.active)

    async def conference(self) -> None:
        """xc_webrtc ``conference``: resume every call and mix them here (each call's far end
        hears this phone's microphone and the other call)."""
        await self.device_conference.start()

    async def attended_transfer(self, destination: str) -> None:
        """Hold the call, then CTI ``attendedTransfer``; the consultation call rings here with
        auto-answer.  Refused (``PhoneStateError``) when two calls exist or without CTI."""
        await self.transfers.attended(destination)

    async def complete_transfer(self) -> None:
        """CTI ``completeTransfer``."""
        await self.transfers.complete()

    async def cancel_transfer(self) -> None:
        """CTI ``cancelTransfer``."""
        await self.transfers.cancel()

    async def direct_transfer(self, destination: str) -> None:
        """CTI ``directTransfer`` (blind transfer)."""
        await self.transfers.direct(destination)

    def toggle_microphone(self, sip_call_id: str | None = None) -> bool:
        """Flip the microphone of a call (no signalling); returns True when now muted."""
        call = self._find(sip_call_id, None)
        track = call.peer.track
        track.muted = not track.muted
        return bool(track.muted)

    async def stop(self) -> None:
        """Hang up (over SIP), unregister, close the SIP websocket, stop ICE renewal and stop
        listening to WebRTCCmd.  The CTI session stays open: it belongs to the caller."""
        self.registration.stop()
        if self.xuc is not None:
            self.xuc.stop()
        channel = self._channel
        if channel is not None and not channel.closed.is_set():
            for call in list(self.calls.values()):
                if call.state is not CallState.TERMINATED:
                    await self._quiet(self.hangup(call.sip_call_id, via_cti=False))
            if self.registered:
                await self._quiet(asyncio.wait_for(self.register(0), 5))
        self.status = StackStatus.STOPPED
        if channel is not None:
            await channel.aclose()
        for call in self.calls.values():
            await call.peer.aclose()
        await self._background.aclose()

    # --- helpers -----------------------------------------------------------------------------

    async def _bye(self, call: Call, reason: str) -> None:
        channel = self._need_channel()
        if call.dialog is None:
            return
        bye = call.dialog.create_request("BYE", via=self.identity.via())
        self._terminate(call, reason)
        try:
            await channel.request(bye)
        except XctestError as exc:
            log.info("%s: BYE not answered: %s", self.name, exc)

    def _terminate(self, call: Call, reason: str) -> None:
        if call.state is CallState.TERMINATED:
            return
        call.reason = reason
        call.set_state(CallState.TERMINATED)
        stats = call.peer.stats()
        if stats is not None:  # what the media path counted of what this call received
            self.timeline.add("media", "stats", sipCallId=call.sip_call_id, **stats.to_json())
        if call.dialog is not None:
            call.dialog.terminate()
        self.device_conference.on_terminated(call)
        self._publish(call.topic, XcType.TERMINATED, {"reason": reason}, call.sip_call_id)
        self._spawn(call.peer.aclose())

    def _find(self, sip_call_id: str | None, state: CallState | None) -> Call:
        if sip_call_id is not None:
            call = self.calls.get(sip_call_id)
            if call is None:
                raise PhoneStateError(f"{self.name}: no call with SIP Call-ID {sip_call_id!r}")
            return call
        live = [c for c in self.calls.values() if c.state is not CallState.TERMINATED]
        if state is not None:
            live = [c for c in live if c.state is state]
        if not live:
            want = f"in state {state.value}" if state else "in progress"
            raise PhoneStateError(f"{self.name}: no call {want}")
        if len(live) > 1 and state is None:
            raise PhoneStateError(f"{self.name}: {len(live)} calls; give a SIP Call-ID")
        return live[0]

    def _peer_config(self) -> PeerConfig:
        servers = self.ice.peer_servers()
        if not servers:
            return self.peer_config
        return dataclasses.replace(self.peer_config, ice_servers=servers)

    def _need_xuc(self) -> XucLink:
        if self.xuc is None:
            raise PhoneStateError(f"{self.name}: no XUC session (create the phone with cti=)")
        return self.xuc

    def _new_media(self, direction: str) -> tuple[Peer, MixSource]:
        mix = MixSource(SignatureSource(self.signature))
        peer = Peer(self._peer_config(), SignalTrack(mix), name=f"{self.name}-{direction}")
        return peer, mix

    def _need_channel(self) -> SipChannel:
        if self._channel is None or self._channel.closed.is_set():
            raise PhoneStateError(f"{self.name}: SIP stack not started")
        return self._channel

    def _publish(
        self,
        topic: Topic,
        type_: XcType | None,
        data: dict[str, Any] | None = None,
        sip_call_id: str | None = None,
    ) -> None:
        event = XcEvent(topic, type_, data, sip_call_id)
        self.timeline.add("xc", f"{topic}/{type_}", **event.to_js())
        log.log(logging.INFO if self._log_events else logging.DEBUG, "RE<<< %s", event.to_js())
        self.handlers.publish(event)

    def _observe(self, direction: str, frame: str) -> None:
        name, fields = describe(frame)
        self.timeline.add("sip", name, direction=direction, **fields)
        sip_log.debug("%s %s %s\n%s", self.name, "<<<" if direction == "in" else ">>>", name, frame)

    def _spawn(self, coro: Coroutine[Any, Any, Any]) -> None:
        self._background.spawn(coro)

    @staticmethod
    async def _quiet(aw: Coroutine[Any, Any, Any] | asyncio.Future[Any]) -> None:
        try:
            await aw
        except (XctestError, TimeoutError) as exc:
            log.info("ignored while stopping: %s", exc)

    def __repr__(self) -> str:
        live = sum(1 for c in self.calls.values() if c.state is not CallState.TERMINATED)
        return f"<Phone {self.name} {self.status} registered={self.registered} calls={live}>"


__all__ = ["CallFailed", "Phone", "StackStatus"]
