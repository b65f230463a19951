"""A UDP relay on 127.0.0.1 between two WebRTC legs, for loss and delay made on purpose: it
drops a share of the RTP packets going one way and holds back others, and forwards everything
else (ICE checks, DTLS, RTCP) untouched.  Put it in a path by giving one leg the relay's port
as the other leg's candidate."""

from __future__ import annotations

import asyncio
import random
import re
from typing import Any


def is_media(data: bytes) -> bool:
    return len(data) >= 12 and 128 <= data[0] < 192 and not 192 <= data[1] <= 223


class LossyRelay(asyncio.DatagramProtocol):
    """Towards ``target``: drop ``loss`` of the RTP packets, and delay every ``delay_every``-th
    other one by ``delay`` seconds.  The other way, everything passes."""

    def __init__(
        self, target: tuple[str, int], loss: float = 0.0, delay_every: int = 0,
        delay: float = 0.0, seed: int = 7,
    ) -> None:  # fmt: skip
        self.target = target
        self.loss = loss
        self.delay_every = delay_every
        self.delay = delay
        self.rng = random.Random(seed)
        self.client: tuple[str, int] | None = None
        self.transport: asyncio.DatagramTransport | None = None
        self.forwarded = self.dropped = self.delayed = 0

    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        assert self.transport is not None
        if addr[:2] == self.target:
            if self.client is not None:
                self.transport.sendto(data, self.client)
            return
        self.client = addr[:2]
        if is_media(data):
            if self.rng.random() < self.loss:
                self.dropped += 1
                return
            self.forwarded += 1
            if self.delay_every and self.forwarded % self.delay_every == 0:
                self.delayed += 1
                loop = asyncio.get_running_loop()
                loop.call_later(self.delay, self.transport.sendto, data, self.target)
                return
        self.transport.sendto(data, self.target)

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()

    @property
    def port(self) -> int:
        assert self.transport is not None
        return int(self.transport.get_extra_info("sockname")[1])


_CANDIDATE = re.compile(r"^(a=candidate:\S+ \d+ udp \d+ 127\.0\.0\.1 )(\d+)( typ host.*)$", re.M)


def candidate_port(sdp: str) -> int:
    found = _CANDIDATE.search(sdp)
    assert found is not None, sdp
    return int(found.group(2))


def through(sdp: str, port: int) -> str:
    """``sdp`` with its loopback host candidate on ``port`` (the relay's)."""
    return _CANDIDATE.sub(lambda m: f"{m.group(1)}{port}{m.group(3)}", sdp)


async def start_relay(target_port: int, **options: Any) -> LossyRelay:
    loop = asyncio.get_running_loop()
    _, relay = await loop.create_datagram_endpoint(
        lambda: LossyRelay(("127.0.0.1", target_port), **options), local_addr=("127.0.0.1", 0)
    )
    return relay
