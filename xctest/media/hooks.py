"""The aiortc and aioice internals the media engine reaches into, all of them here.

aiortc negotiates each leg (SDP, ICE, DTLS handshake, SRTP keys); once connected, the engine
carries the leg's RTP itself.  For that it needs, from a connected ``RTCPeerConnection``:

- ``RTCRtpSender._ssrc``: the SSRC the SDP announced for what we send;
- ``RTCDtlsTransport._tx_srtp`` / ``_rx_srtp``: the pylibsrtp sessions keyed by DTLS;
- ``RTCIceTransport._connection`` (the aioice ``Connection``), its ``_nominated[1]`` (the
  selected candidate pair: ``protocol.transport`` and ``remote_addr``) and ``_protocols`` (the
  ``StunProtocol`` of every local candidate, whose ``datagram_received`` sees each packet
  first: RTP is taken there, everything else — STUN consent checks, DTLS, SRTCP — is handed
  on to aioice unchanged).

aiortc's own sender never sends on the leg (the engine gives it a track that never yields a
frame) and its receiver never gets an RTP packet, so there is one sequence history per SSRC.
The receiver is not even started (``RTCRtpReceiver.receive`` would start a decoder thread,
which costs the loop a thread start per leg at set-up): the engine takes the leg when the
connection becomes connected, before aiortc asks its receiver to receive.
aiortc is pinned to the version these were read from; ``tests/integration/test_media_engine.py``
checks each on real connections and fails naming the one that moved.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiortc import RTCPeerConnection

from xctest.errors import MediaError

__all__ = [
    "AIORTC_SERIES",
    "HookMissing",
    "Wire",
    "hook_datagrams",
    "idle_receiver",
    "wire_of",
]

AIORTC_SERIES = "1.16"
"""The aiortc release series the hooks were read from (pyproject pins it)."""


class HookMissing(MediaError):
    """An aiortc/aioice internal the engine relies on is not where it was."""

    def __init__(self, hook: str, detail: str) -> None:
        self.hook = hook
        super().__init__(
            f"aiortc internals changed: {hook} ({detail}); xctest's media engine was written "
            f"against aiortc {AIORTC_SERIES}"
        )


def _need(owner: object, name: str, hook: str) -> Any:
    value = getattr(owner, name, None)
    if value is None:
        raise HookMissing(hook, f"{type(owner).__name__} has no {name!r}, or it is not set")
    return value


@dataclass(frozen=True)
class Wire:
    """A connected leg's RTP plumbing: protect/unprotect with its SRTP sessions, send to the
    selected candidate pair, the protocols whose datagrams to watch, our SSRC."""

    protect: Callable[[bytes], bytes]
    unprotect: Callable[[bytes], bytes]
    send: Callable[[bytes], None]
    protocols: tuple[Any, ...]
    local_ssrc: int
    selected: str


def wire_of(pc: RTCPeerConnection) -> Wire:
    """The plumbing of ``pc``'s audio transceiver; ``HookMissing`` naming what moved,
    ``MediaError`` when the leg is not connected."""
    transceivers = pc.getTransceivers()
    if not transceivers:
        raise MediaError("the peer connection has no transceiver")
    sender = transceivers[0].sender
    dtls = sender.transport
    tx = _need(dtls, "_tx_srtp", "RTCDtlsTransport._tx_srtp")
    rx = _need(dtls, "_rx_srtp", "RTCDtlsTransport._rx_srtp")
    ice = dtls.transport  # public
    connection = _need(ice, "_connection", "RTCIceTransport._connection")
    nominated = _need(connection, "_nominated", "aioice Connection._nominated")
    protocols = _need(connection, "_protocols", "aioice Connection._protocols")
    pair = nominated.get(1)
    if pair is None:
        raise MediaError("no selected ICE candidate pair yet")
    transport = _need(
        _need(pair, "protocol", "aioice CandidatePair.protocol"),
        "transport",
        "aioice StunProtocol.transport",
    )
    remote = _need(pair, "remote_addr", "aioice CandidatePair.remote_addr")
    ssrc = _need(sender, "_ssrc", "RTCRtpSender._ssrc")
    for protocol in protocols:
        if not callable(getattr(protocol, "datagram_received", None)):
            raise HookMissing("aioice StunProtocol.datagram_received", "not callable")

    def send(data: bytes, _sendto: Callable[..., None] = transport.sendto) -> None:
        _sendto(data, remote)

    local = _need(protocol, "local_candidate", "aioice StunProtocol.local_candidate")
    return Wire(
        protect=tx.protect,
        unprotect=rx.unprotect,
        send=send,
        protocols=tuple(protocols),
        local_ssrc=int(ssrc),
        selected=f"{local.host}:{local.port} -> {remote[0]}:{remote[1]}",
    )


def hook_datagrams(protocols: tuple[Any, ...], take: Callable[[bytes], bool]) -> Callable[[], None]:
    """Give ``take`` each datagram first; what it does not take (returns False) goes on to
    aioice.  Returns the undo."""
    hooked = []
    for protocol in protocols:
        original = protocol.datagram_received

        def datagram_received(
            data: bytes, addr: tuple[Any, ...], _original: Callable[..., None] = original
        ) -> None:
            if not take(data):
                _original(data, addr)

        protocol.datagram_received = datagram_received
        hooked.append(protocol)

    def undo() -> None:
        for protocol in hooked:
            protocol.__dict__.pop("datagram_received", None)  # the class's method again

    return undo


def idle_receiver(pc: RTCPeerConnection) -> None:
    """Keep aiortc's receiver of ``pc`` from starting (no decoder thread, no receiver RTCP):
    the engine receives.  Too late once it has started; then it just idles."""
    receiver = pc.getTransceivers()[0].receiver

    async def receive(parameters: object) -> None:
        return None

    receiver.receive = receive  # type: ignore[method-assign]
