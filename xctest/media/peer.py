"""A thin wrapper over aiortc's RTCPeerConnection for one audio leg.

Non-trickle offer/answer as SIPml5 does (the SDP is returned once ICE gathering is complete),
an explicit media-address setting, and translation of aiortc errors into ``MediaError``.
No SIP knowledge here.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import re
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aioice.ice
from aiortc import (
    RTCConfiguration,
    RTCIceServer,
    RTCPeerConnection,
    RTCRtpSender,
    RTCSessionDescription,
)

from xctest.errors import MediaError
from xctest.media.addresses import is_loopback
from xctest.media.codecs import codec_for
from xctest.media.engine import FastLeg, Impairment, MediaEngine
from xctest.media.frames import FrameSink
from xctest.media.hooks import idle_receiver, wire_of
from xctest.media.rtp import StreamStats
from xctest.media.tracks import AudioSink, ParkedTrack, SignalTrack

log = logging.getLogger(__name__)

# aioice leaves loopback out of its host candidates and has no per-connection setting for the
# addresses to gather on; its module-level helper is consulted at gathering time, inside the
# task that called setLocalDescription.  A context variable therefore gives every Peer its own
# media addresses without touching other connections of the process.
_media_addresses: contextvars.ContextVar[tuple[str, ...] | None] = contextvars.ContextVar(
    "xctest_media_addresses", default=None
)
_original_get_host_addresses = aioice.ice.get_host_addresses


def _get_host_addresses(use_ipv4: bool, use_ipv6: bool) -> list[str]:
    chosen = _media_addresses.get()
    if chosen is None:
        return list(_original_get_host_addresses(use_ipv4, use_ipv6))
    return [a for a in chosen if (":" in a and use_ipv6) or (":" not in a and use_ipv4)]


aioice.ice.get_host_addresses = _get_host_addresses


@dataclass(frozen=True)
class IceServer:
    """One RTCIceServer entry (``urls`` plus optional TURN credentials)."""

    urls: tuple[str, ...]
    username: str | None = None
    credential: str | None = None


@dataclass(frozen=True)
class IcePath:
    """What ICE did on a leg: its state, the candidates of both ends (``host:port protocol
    type``) and the pair it selected (None before it connected)."""

    state: str
    local: tuple[str, ...]
    remote: tuple[str, ...]
    selected: str | None

    @property
    def local_on_loopback(self) -> bool:
        """Every one of our candidates is a loopback address."""
        ours = _hosts(self.local)
        return bool(ours) and all(is_loopback(a) for a in ours)

    @property
    def local_on_loopback_only(self) -> bool:
        """Our candidates are all loopback while the far end's are not: no path can exist."""
        return self.local_on_loopback and any(not is_loopback(a) for a in _hosts(self.remote))

    def describe(self) -> str:
        """One line for a verdict: state, candidates, selected pair."""
        text = (
            f"ICE {self.state}; local candidates: {', '.join(self.local) or 'none'}; "
            f"remote candidates: {', '.join(self.remote) or 'none'}"
        )
        return text + (f"; selected pair {self.selected}" if self.selected else "")


def negotiated_codec(answer_sdp: str) -> tuple[str, int]:
    """(encoding name, payload type) of the first format of the audio m-line of an SDP answer
    (both ends send with the answer's payload type); ("", -1) when there is none."""
    media = re.search(r"^m=audio \S+ \S+ (\d+)", answer_sdp, re.M)
    if media is None:
        return "", -1
    payload_type = int(media.group(1))
    rtpmap = re.search(rf"^a=rtpmap:{payload_type} ([^/\s]+)", answer_sdp, re.M)
    if rtpmap is not None:
        return rtpmap.group(1), payload_type
    static = {0: "PCMU", 8: "PCMA"}  # RFC 3551: static types may come without an rtpmap
    return static.get(payload_type, ""), payload_type


def _hosts(candidates: tuple[str, ...]) -> list[str]:
    return [c.split()[0].rsplit(":", 1)[0] for c in candidates]


def _candidate(host: str, port: int, protocol: str, kind: str) -> str:
    return f"{host}:{port} {protocol.lower()} {kind}"


@dataclass(frozen=True)
class PeerConfig:
    """Media settings of a leg.

    ``media_addresses``: the local addresses ICE gathers host candidates on.  Loopback for the
    built-in simulator; ``None`` means every interface aioice finds (for a real XiVO).
    ``ice_servers``: empty means no STUN/TURN at all (aiortc would otherwise add a public STUN
    server and stall offline).  ``codecs``: preferred codec names in order (e.g. ``("PCMU",)``);
    empty keeps aiortc's default order (Opus first, like a browser).  ``engine``: once
    connected, the leg's RTP is carried by the process's ``MediaEngine`` (no thread, every
    frame accounted for); False leaves it to aiortc's own per-frame path.  ``impair``:
    (loss, late) shares of the packets this leg sends that are dropped or held back past any
    play-out deadline, as a faulty network would (a fault for negative controls).
    """

    media_addresses: tuple[str, ...] | None = ("127.0.0.1",)
    ice_servers: tuple[IceServer, ...] = ()
    codecs: tuple[str, ...] = field(default=())
    engine: bool = True
    impair: tuple[float, float] = (0.0, 0.0)


class _Closed:
    """What a closed leg keeps of its connection: last states and the descriptions.  The
    connection's object graph (ICE, DTLS, SRTP, transceivers: thousands of objects) is let go,
    since a phone keeps its ended calls and the garbage collector would walk them all."""

    connectionState = "closed"

    def __init__(self, pc: RTCPeerConnection) -> None:
        self.iceConnectionState = str(pc.iceConnectionState)
        self.localDescription = pc.localDescription
        self.remoteDescription = pc.remoteDescription

    def getTransceivers(self) -> list[Any]:
        return []


class Peer:
    """One audio leg: plays ``track``, delivers what it receives to ``on_frames`` (the media
    engine) or ``sink`` (aiortc's path).  ``analyse``: received frames are searched for party
    signatures (a phone's leg; not the PBX's)."""

    def __init__(
        self, config: PeerConfig, track: SignalTrack, name: str = "", analyse: bool = True
    ) -> None:
        self.config = config
        self.track = track
        self.name = name
        self.analyse = analyse
        self.fast: FastLeg | None = None
        self._parked = ParkedTrack() if config.engine else None
        self._expected = True
        self.sink: AudioSink | None = None
        self.remote_track_added = asyncio.Event()
        self.on_remote_track: Callable[[AudioSink], None] | None = None
        # where the media engine delivers this leg's received frames (see engine.FrameSink)
        self.on_frames: FrameSink | None = None
        self.on_engine: Callable[[], None] | None = None  # the engine has taken the leg
        self._connected = asyncio.Event()
        self._failed = asyncio.Event()
        servers = [
            RTCIceServer(urls=list(s.urls), username=s.username, credential=s.credential)
            for s in config.ice_servers
        ]
        self._pc: RTCPeerConnection | _Closed = RTCPeerConnection(
            RTCConfiguration(iceServers=servers)
        )
        self._closed_path: IcePath | None = None
        self._final_stats: StreamStats | None = None
        self._pc.on("track", self._on_track)
        self._pc.on("connectionstatechange", self._on_state)

    def _connection(self) -> RTCPeerConnection:
        if isinstance(self._pc, _Closed):
            raise MediaError(f"{self.name}: the media leg is closed")
        return self._pc

    @property
    def connection_state(self) -> str:
        return str(self._pc.connectionState)

    def _on_track(self, track: object) -> None:
        sink = AudioSink(track, name=self.name)  # type: ignore[arg-type]
        self.sink = sink
        if self.on_remote_track is not None:
            self.on_remote_track(sink)
        self.remote_track_added.set()

    def _on_state(self) -> None:
        state = self._pc.connectionState
        log.debug("%s: connection %s", self.name, state)
        if state == "connected":
            self._take_over()
            self._connected.set()
        elif state in ("failed", "closed"):
            self._failed.set()

    def _take_over(self) -> None:
        """Hand the connected leg to the media engine, or, when it cannot carry it (a codec it
        does not know, aiortc internals that moved), to aiortc's own path."""
        if self._parked is None or self.fast is not None:
            return
        name, payload_type = negotiated_codec(self._answer_sdp())
        codec = codec_for(name, payload_type) if name else None
        try:
            if codec is None:
                raise MediaError(f"codec {name or '(none)'} is not one the engine carries")
            wire = wire_of(self._connection())
        except MediaError as exc:
            log.warning("%s: media left to aiortc's path: %s", self.name, exc)
            self._parked.release(self.track)
            return
        engine = MediaEngine.current()
        self.fast = FastLeg(
            engine, wire, codec, self.track, self.name, lambda: self.on_frames, self.analyse
        )
        idle_receiver(self._connection())
        self.fast.playout.expected = self._expected
        loss, late = self.config.impair
        if loss or late:
            self.fast.impair = Impairment(loss, late, seed=zlib.crc32(self.name.encode()))
        engine.add(self.fast)
        if self.on_engine is not None:
            self.on_engine()

    def _answer_sdp(self) -> str:
        local, remote = self._pc.localDescription, self._pc.remoteDescription
        answer = remote if local is not None and local.type == "offer" else local
        return str(answer.sdp) if answer is not None else ""

    def stats(self) -> StreamStats | None:
        """What the engine counted of the received stream (None on aiortc's path)."""
        return self.fast.snapshot() if self.fast is not None else self._final_stats

    def expect_receive(self, expected: bool) -> None:
        """Whether the far end is to send now (not while we hold): frames missing while it
        is not are not counted as lost."""
        self._expected = expected
        if self.fast is not None:
            self.fast.playout.expected = expected

    async def wait_connected(self) -> None:
        """Return once ICE + DTLS are up; raise MediaError if the connection fails."""
        done, _ = await asyncio.wait(
            [
                asyncio.ensure_future(self._connected.wait()),
                asyncio.ensure_future(self._failed.wait()),
            ],
            return_when=asyncio.FIRST_COMPLETED,
        )
        for task in _:
            task.cancel()
        if not self._connected.is_set():
            raise MediaError(f"{self.name}: media connection {self._pc.connectionState}")

    @property
    def is_connected(self) -> bool:
        return self._connected.is_set()

    @property
    def remote_sdp(self) -> str:
        """The far end's SDP as applied (empty before it came)."""
        description = self._pc.remoteDescription
        return str(description.sdp) if description is not None else ""

    def ice_path(self) -> IcePath:
        """The ICE state, candidates and selected pair of this leg (read from aiortc and
        aioice; the selected pair comes from aioice's nominated pair); once closed, as it was
        when the leg closed."""
        if self._closed_path is not None:
            return self._closed_path
        local: list[str] = []
        remote: list[str] = []
        selected: str | None = None
        for transceiver in self._pc.getTransceivers():
            dtls = transceiver.sender.transport
            ice = getattr(dtls, "transport", None)
            if ice is None:
                continue
            local += [
                _candidate(c.ip, c.port, c.protocol, c.type)
                for c in ice.iceGatherer.getLocalCandidates()
            ]
            remote += [
                _candidate(c.ip, c.port, c.protocol, c.type) for c in ice.getRemoteCandidates()
            ]
            nominated = getattr(getattr(ice, "_connection", None), "_nominated", {})
            pair = nominated.get(1) if isinstance(nominated, dict) else None
            if pair is not None and selected is None:
                lc, rc = pair.local_candidate, pair.remote_candidate
                selected = (
                    f"{_candidate(lc.host, lc.port, lc.transport, lc.type)} <-> "
                    f"{_candidate(rc.host, rc.port, rc.transport, rc.type)}"
                )
        return IcePath(
            str(self._pc.iceConnectionState),
            tuple(dict.fromkeys(local)),
            tuple(dict.fromkeys(remote)),
            selected,
        )

    def _prefer_codecs(self) -> None:
        if not self.config.codecs:
            return
        caps = RTCRtpSender.getCapabilities("audio").codecs
        wanted = [c.lower() for c in self.config.codecs]
        chosen = sorted(
            (c for c in caps if c.mimeType.split("/")[1].lower() in wanted),
            key=lambda c: wanted.index(c.mimeType.split("/")[1].lower()),
        )
        for transceiver in self._pc.getTransceivers():
            transceiver.setCodecPreferences(chosen)

    async def _set_local(self, description: RTCSessionDescription) -> str:
        token = _media_addresses.set(self.config.media_addresses)
        try:
            await self._connection().setLocalDescription(description)
        finally:
            _media_addresses.reset(token)
        return str(self._pc.localDescription.sdp)

    async def make_offer(self) -> str:
        """Create the offer; returns the SDP with every candidate in it."""
        try:
            if not self._pc.getTransceivers():
                self._connection().addTransceiver(self._parked or self.track, direction="sendrecv")
                self._prefer_codecs()
            return await self._set_local(await self._connection().createOffer())
        except (ValueError, RuntimeError, OSError) as exc:
            raise MediaError(f"{self.name}: cannot create offer: {exc}") from exc

    async def accept_offer(self, sdp: str) -> str:
        """Apply a remote offer; returns the answer SDP."""
        try:
            pc = self._connection()
            await pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="offer"))
            if not any(t.sender.track for t in self._pc.getTransceivers()):
                pc.addTrack(self._parked or self.track)
                self._prefer_codecs()
            return await self._set_local(await pc.createAnswer())
        except (ValueError, RuntimeError, OSError) as exc:
            raise MediaError(f"{self.name}: cannot accept offer: {exc}") from exc

    async def accept_answer(self, sdp: str) -> None:
        """Apply the remote answer to our offer."""
        try:
            await self._connection().setRemoteDescription(
                RTCSessionDescription(sdp=sdp, type="answer")
            )
        except (ValueError, RuntimeError, OSError) as exc:
            raise MediaError(f"{self.name}: cannot accept answer: {exc}") from exc

    async def aclose(self) -> None:
        """Stop the leg and let go of its connection; states, descriptions, path and stream
        counts stay readable."""
        if self.fast is not None:
            self.fast.close()  # the engine stops first, then the connection
            self._final_stats = self.fast.snapshot()
            self.fast = None
        if self.sink is not None:
            await self.sink.aclose()
        self.track.stop()
        pc = self._pc
        if isinstance(pc, _Closed):
            return
        self._closed_path = self.ice_path()
        await pc.close()
        pc.remove_all_listeners()
        self._pc = _Closed(pc)

    def __repr__(self) -> str:
        return f"<Peer {self.name} {self._pc.connectionState}>"
