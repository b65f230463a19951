"""RTP as the media path carries it (RFC 3550): the fixed header built and parsed with one
``struct`` call, CSRC lists, header extensions and padding skipped, and the receive
statistics of one stream (sequence tracking, loss and interarrival jitter).

Pure: no sockets, no asyncio, no aiortc; arrival times are arguments.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import NamedTuple

__all__ = ["RtpHeader", "ReceiveStats", "StreamStats", "build_header", "parse_rtp"]

_FIXED = struct.Struct("!BBHII")
_EXTENSION = struct.Struct("!HH")
RTP_VERSION = 2
SEQ_MOD = 1 << 16
MAX_DROPOUT = 3000  # RFC 3550 A.1: a jump forward larger than this restarts the sequence
MAX_MISORDER = 100  # ... and one this far back is a late or duplicate packet
_DUPLICATE_WINDOW = 1024


class RtpHeader(NamedTuple):
    """What the media path needs of a packet; ``payload`` is the bytes after the header."""

    payload_type: int
    sequence: int
    timestamp: int
    ssrc: int
    marker: bool
    payload: bytes


def build_header(
    payload_type: int, sequence: int, timestamp: int, ssrc: int, marker: bool
) -> bytes:
    """The 12-byte fixed header (no CSRC, no extension, no padding)."""
    return _FIXED.pack(
        RTP_VERSION << 6,
        (0x80 if marker else 0) | payload_type,
        sequence & 0xFFFF,
        timestamp & 0xFFFFFFFF,
        ssrc,
    )


def is_rtp(data: bytes) -> bool:
    """RTP rather than RTCP, STUN or DTLS on a muxed port (RFC 7983, RFC 5761 §4): version 2
    and a payload type outside RTCP's 72-76 (packet types 200-204 with the marker bit)."""
    return len(data) >= 12 and data[0] >> 6 == RTP_VERSION and not 192 <= data[1] <= 223


def parse_rtp(data: bytes) -> RtpHeader | None:
    """The header and payload of an RTP packet, or None when it is not one (too short,
    another version, lengths that do not add up)."""
    if len(data) < 12:
        return None
    first, second, sequence, timestamp, ssrc = _FIXED.unpack_from(data)
    if first >> 6 != RTP_VERSION:
        return None
    offset = 12 + 4 * (first & 0x0F)
    if first & 0x10:  # a header extension: 16-bit profile, 16-bit length in 32-bit words
        if len(data) < offset + 4:
            return None
        _, words = _EXTENSION.unpack_from(data, offset)
        offset += 4 + 4 * words
    end = len(data)
    if first & 0x20:  # padding: its length is the last octet
        end -= data[-1]
    if offset > end:
        return None
    return RtpHeader(
        second & 0x7F, sequence, timestamp, ssrc, bool(second & 0x80), data[offset:end]
    )


@dataclass(frozen=True)
class StreamStats:
    """A received stream's counts: ``expected`` from the sequence numbers (RFC 3550 A.3),
    ``received`` distinct packets, ``lost`` = expected - received, ``duplicates``, ``late``
    (arrived after their play-out deadline), ``concealed`` (frames played out as silence
    because they were lost or late), and the RFC 3550 interarrival ``jitter_ms``."""

    expected: int = 0
    received: int = 0
    lost: int = 0
    duplicates: int = 0
    late: int = 0
    concealed: int = 0
    jitter_ms: float = 0.0

    @property
    def loss(self) -> float:
        """Share of expected packets that never came."""
        return self.lost / self.expected if self.expected else 0.0

    @property
    def bad(self) -> float:
        """Share of expected frames that were not played: lost or late."""
        return min(1.0, (self.lost + self.late) / self.expected) if self.expected else 0.0

    def to_json(self) -> dict[str, float]:
        return {
            "expected": self.expected,
            "received": self.received,
            "lost": self.lost,
            "duplicates": self.duplicates,
            "late": self.late,
            "concealed": self.concealed,
            "jitter_ms": round(self.jitter_ms, 2),
        }


class ReceiveStats:
    """Sequence and jitter bookkeeping of one received SSRC (RFC 3550 A.1, A.3, A.8)."""

    def __init__(self, clock_rate: int) -> None:
        self.clock_rate = clock_rate
        self.received = 0
        self.duplicates = 0
        self._base = 0
        self._max = 0  # highest sequence number seen, 16 bits
        self._cycles = 0  # wraps of the sequence number, times 2**16
        self._started = False
        self._base_received = 0  # packets counted before the last restart of the sequence
        self._jitter = 0.0  # in timestamp units
        self._transit: float | None = None
        # the extended sequence number last seen in each of the last 1024 slots
        self._seen = [-1] * _DUPLICATE_WINDOW

    def on_packet(self, sequence: int, timestamp: int, arrival: float) -> bool:
        """Count one packet arriving at ``arrival`` (seconds); False for a duplicate."""
        if not self._started:
            self._restart(sequence)
        else:
            delta = (sequence - self._max) % SEQ_MOD
            if delta < MAX_DROPOUT:
                if sequence < self._max:
                    self._cycles += SEQ_MOD
                self._max = sequence
            elif delta <= SEQ_MOD - MAX_MISORDER:  # a jump: the sender restarted
                self._restart(sequence)
            # else: a packet from the recent past (reordered, or a duplicate)
        extended = self._extended(sequence)
        slot = extended & (_DUPLICATE_WINDOW - 1)
        if self._seen[slot] == extended:
            self.duplicates += 1
            return False
        self._seen[slot] = extended
        self.received += 1
        transit = arrival * self.clock_rate - timestamp
        if self._transit is not None:
            d = abs(transit - self._transit)
            self._jitter += (d - self._jitter) / 16.0
        self._transit = transit
        return True

    def _restart(self, sequence: int) -> None:
        self._started = True
        self._base = self._max = sequence
        self._cycles = 0
        self._seen = [-1] * _DUPLICATE_WINDOW
        self._base_received = self.received

    def _extended(self, sequence: int) -> int:
        """The sequence number extended with the wraps, near the highest one."""
        extended = self._cycles + sequence
        highest = self._cycles + self._max
        if extended - highest > SEQ_MOD // 2:
            extended -= SEQ_MOD
        return extended

    @property
    def expected(self) -> int:
        if not self._started:
            return 0
        return self._cycles + self._max - self._base + 1 + self._base_received

    @property
    def jitter_ms(self) -> float:
        return 1000.0 * self._jitter / self.clock_rate

    def snapshot(self, late: int = 0, concealed: int = 0) -> StreamStats:
        expected = max(self.expected, self.received)
        return StreamStats(
            expected=expected,
            received=self.received,
            lost=expected - self.received,
            duplicates=self.duplicates,
            late=late,
            concealed=concealed,
            jitter_ms=self.jitter_ms,
        )
