"""The media engine: one per event loop, carrying the RTP of every connected leg of the
process on one 20 ms tick, without a thread.

Theory of operation.  aiortc negotiates a leg; once it is connected, ``FastLeg`` takes its
plumbing (``hooks.wire_of``) and watches its sockets: each SRTP packet is unprotected and
parsed as it arrives, counted (sequence numbers, jitter) and put in the leg's play-out
schedule — or, for a leg relayed to another (the simulator's native bridge), re-stamped and
sent on at once, never decoded.  The legs are spread over four phases 5 ms apart (so their
packets, and the work on them, do not all come at once); on its phase's tick, every 20 ms,
each leg:

1. has its due frames taken (played, or missing: lost or late) and decoded — a group of legs
   together, G.711 with one table lookup — and analysed for party signatures in one matrix
   product per group, when it listens;
2. has them handed to its owner (``Peer.on_frames``);
3. sends one frame: a pure tone pair is read from a precomputed table, anything else is
   encoded; held legs send nothing, muted legs send silence.

A tick that runs late sends the frames it missed (up to ``MAX_CATCH_UP``), so the far end sees
no gap; beyond that, the engine's own overload is recorded (``trouble``), never hidden.
"""

from __future__ import annotations

import asyncio
import logging
import math
import random
import weakref
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pylibsrtp

from xctest.audio.detector import SignatureDetector
from xctest.audio.g711 import ALAW_DECODE, ULAW_DECODE
from xctest.audio.signature import SIGNATURE_COUNT, signature_for
from xctest.media.clock import MediaClock
from xctest.media.codecs import G711, Codec
from xctest.media.frames import FrameSink
from xctest.media.hooks import Wire, hook_datagrams
from xctest.media.playout import Playout
from xctest.media.rtp import ReceiveStats, RtpHeader, StreamStats, build_header, parse_rtp
from xctest.media.tracks import SignalTrack

__all__ = ["FastLeg", "Impairment", "MediaEngine", "Trouble"]

log = logging.getLogger(__name__)

MAX_CATCH_UP = 5  # frames a late tick may still send per leg (100 ms)
PHASES = 4  # legs are spread over 4 ticks 5 ms apart, each leg sending every 20 ms
GROUP_TIME = 0.001  # seconds of work per group of legs (decoded and analysed together)
BUDGET = 0.002  # seconds of tick work per callback before the loop gets a turn
TROUBLE_LATE = 0.040  # a tick this late blurs arrival times: jitter and lateness are ours
SILENCE_DBFS = -120.0
_BIT_VALUES = np.array([1 << i for i in range(SIGNATURE_COUNT)], dtype=np.uint64)


@dataclass
class Impairment:
    """What a faulty network would do to what a leg sends: drop a share of its packets, and
    hold back another share for ``late_by`` seconds (past any play-out deadline).  A fault put
    in on purpose, for negative controls."""

    loss: float = 0.0
    late: float = 0.0
    late_by: float = 0.200
    seed: int = 1
    dropped: int = 0
    delayed: int = 0

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)

    def fate(self) -> int:
        """0: send now; 1: drop; 2: hold back."""
        draw = self._rng.random()
        if draw < self.loss:
            self.dropped += 1
            return 1
        if draw < self.loss + self.late:
            self.delayed += 1
            return 2
        return 0


@dataclass(frozen=True)
class Trouble:
    """A tick so late that frames could not be sent in time (the tool's own overload)."""

    t: float
    late_s: float
    frames_dropped: int


class FastLeg:
    """One connected leg whose RTP the engine carries.  ``sink`` gets its received frames;
    ``analyse`` says whether they are searched for signatures (a phone's, not the PBX's)."""

    def __init__(
        self,
        engine: MediaEngine,
        wire: Wire,
        codec: Codec,
        track: SignalTrack,
        name: str,
        sink: Callable[[], FrameSink | None],
        analyse: bool,
    ) -> None:
        self.engine = engine
        self.wire = wire
        self.codec = codec
        self.track = track
        self.name = name
        self.sink = sink
        self.analyse = analyse
        self.sending = True  # the far end is to receive from us (our direction allows it)
        self.seq = random.getrandbits(16)
        self.ts = random.getrandbits(32)
        self.marker = True
        self.stats = ReceiveStats(codec.clock_rate)
        self.playout = Playout(codec.samples_per_frame)
        self.relay: FastLeg | None = None  # received packets go there, undecoded
        self.relayed_from: FastLeg | None = None  # what this leg sends comes from there
        self._relay_offsets: tuple[int, int] | None = None
        self.srtp_errors = 0
        self.other_payloads = 0
        self.frames_sent = 0
        self.closed = False
        self.phase = 0  # which of the engine's ticks carries this leg
        self._time = asyncio.get_running_loop().time
        self._protect = wire.protect
        self._unprotect = wire.unprotect
        self._send = wire.send
        self._pt = codec.payload_type
        self.impair: Impairment | None = None
        self._undo = hook_datagrams(wire.protocols, self._take)

    # --- receiving (called by the socket, once per datagram) -------------------------------

    def _take(self, data: bytes) -> bool:
        """An SRTP RTP packet of this leg is taken; anything else is left to aioice."""
        if len(data) < 12 or not 128 <= data[0] < 192 or 192 <= data[1] <= 223:
            return False
        try:
            plain = self._unprotect(data)
        except pylibsrtp.Error:
            self.srtp_errors += 1
            return True
        header = parse_rtp(plain)
        if header is None:
            return True
        if header.payload_type != self._pt:  # comfort noise, telephone-event, another codec
            self.other_payloads += 1
            return True
        now = self._time()
        if not self.stats.on_packet(header.sequence, header.timestamp, now):
            return True  # a duplicate
        target = self.relay
        if target is not None:
            target.forward(header)
        else:
            self.playout.push(header.timestamp, header.payload, now)
        return True

    # --- sending ----------------------------------------------------------------------------

    def send_payload(self, payload: bytes) -> None:
        header = build_header(self._pt, self.seq, self.ts, self.wire.local_ssrc, self.marker)
        self._emit(self._protect(header + payload))
        self.seq = (self.seq + 1) & 0xFFFF
        self.ts = (self.ts + self.codec.samples_per_frame) & 0xFFFFFFFF
        self.marker = False
        self.frames_sent += 1

    def _emit(self, packet: bytes) -> None:
        impair = self.impair
        if impair is None:
            self._send(packet)
            return
        fate = impair.fate()
        if fate == 0:
            self._send(packet)
        elif fate == 2:
            asyncio.get_running_loop().call_later(impair.late_by, self._send, packet)

    def skip_frame(self) -> None:
        """A frame not sent (held): time goes on; the next one starts a talkspurt."""
        self.ts = (self.ts + self.codec.samples_per_frame) & 0xFFFFFFFF
        self.marker = True

    def next_payload(self) -> bytes:
        """This tick's frame of the track: silence (also when the source says it is
        ``quiet()``), a tone from its table (its ``steady()`` tone pair), or encoded audio."""
        track = self.track
        source = track.source
        if source is None or track.muted:
            return self.codec.silence()
        quiet = getattr(source, "quiet", None)
        if quiet is not None and quiet():
            return self.codec.silence()
        steady = getattr(source, "steady", None)
        tone = steady() if steady is not None else None
        if tone is not None:
            return self.codec.tone(tone)
        return self.codec.encode(source(960))

    def forward(self, header: RtpHeader) -> None:
        """A packet relayed from the bridged leg: sent on with this leg's SSRC, its sequence
        and timestamp shifted onto this leg's own (gaps and order kept)."""
        if not self.sending:
            return
        if self._relay_offsets is None:
            self._relay_offsets = (
                (self.seq - header.sequence) & 0xFFFF,
                (self.ts - header.timestamp) & 0xFFFFFFFF,
            )
            self.marker = True
        dseq, dts = self._relay_offsets
        seq = (header.sequence + dseq) & 0xFFFF
        ts = (header.timestamp + dts) & 0xFFFFFFFF
        packet = build_header(self._pt, seq, ts, self.wire.local_ssrc, self.marker or header.marker)
        self._emit(self._protect(packet + header.payload))
        self.marker = False
        self.frames_sent += 1
        if ((seq - self.seq) & 0xFFFF) < 0x8000:  # newest so far: generated frames follow on
            self.seq = (seq + 1) & 0xFFFF
            self.ts = (ts + self.codec.samples_per_frame) & 0xFFFFFFFF

    def relay_to(self, other: FastLeg | None) -> None:
        """Send what this leg receives to ``other`` undecoded (None: stop).  A leg is relayed
        from one leg at most: a relay into ``other`` from elsewhere stops."""
        old = self.relay
        if old is other:
            return
        if old is not None and old.relayed_from is self:
            old.relayed_from = None
            old._relay_offsets = None
        self.relay = other
        if other is not None:
            previous = other.relayed_from
            if previous is not None and previous is not self:
                previous.relay = None
            other.relayed_from = self
            other._relay_offsets = None

    # --- state ----------------------------------------------------------------------------

    def snapshot(self) -> StreamStats:
        return self.stats.snapshot(late=self.playout.late, concealed=self.playout.concealed)

    def close(self) -> None:
        self.closed = True
        self.relay_to(None)
        if self.relayed_from is not None:
            self.relayed_from.relay_to(None)
        self._undo()
        self.engine.remove(self)

    def __repr__(self) -> str:
        return f"<FastLeg {self.name} {self.codec.name} sent={self.frames_sent} {self.playout!r}>"


class MediaEngine:
    """All fast legs of one event loop, ticking together."""

    _per_loop: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, MediaEngine] = (
        weakref.WeakKeyDictionary()
    )

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self.clock = MediaClock.current()
        self.legs: list[FastLeg] = []
        self.ticks = 0
        self.busy = 0.0  # seconds spent in tick work
        self._per_leg = 50e-6  # seconds of tick work per leg, measured as it goes
        self.trouble: list[Trouble] = []
        self.lateness: list[float] = []  # of the last ticks, seconds (a rolling window)
        self._late_ticks: list[tuple[float, float]] = []  # (time, lateness) of late ticks
        self._k: int | None = None  # the next phase tick
        self._phases: list[list[FastLeg]] = [[] for _ in range(PHASES)]
        self._next_frame = [0] * PHASES  # per phase, the next frame index (20 ms) owed
        self._handle: asyncio.TimerHandle | None = None
        self._detectors: dict[int, SignatureDetector] = {}

    @classmethod
    def current(cls) -> MediaEngine:
        """The engine of the running loop (created on first use)."""
        loop = asyncio.get_running_loop()
        engine = cls._per_loop.get(loop)
        if engine is None:
            engine = cls._per_loop[loop] = cls(loop)
        return engine

    def add(self, leg: FastLeg) -> None:
        """Carry ``leg`` from the next tick of the phase with the fewest legs."""
        phase = min(range(PHASES), key=lambda p: len(self._phases[p]))
        leg.phase = phase
        self._phases[phase].append(leg)
        self.legs.append(leg)
        if self._handle is None:
            sub = self.clock.ptime / PHASES
            self._k = math.floor((self._loop.time() - self.clock.epoch) / sub) + 1
            self._schedule()

    def remove(self, leg: FastLeg) -> None:
        if leg in self.legs:
            self.legs.remove(leg)
            self._phases[leg.phase].remove(leg)
        if not self.legs and self._handle is not None:
            self._handle.cancel()
            self._handle = None

    def _schedule(self) -> None:
        assert self._k is not None
        when = self.clock.epoch + self._k * self.clock.ptime / PHASES
        self._handle = self._loop.call_at(when, self._tick)

    def _tick(self) -> None:
        """One phase's turn: its legs' due frames, then the frames they owe (one per 20 ms
        since their last turn; past the catch-up, skipped with their timestamps)."""
        assert self._k is not None
        k = self._k
        phase = k % PHASES
        now = self._loop.time()
        ptime = self.clock.ptime
        late = now - (self.clock.epoch + k * ptime / PHASES)
        # the newest frame of this phase whose time has come, and those it still owes
        newest = math.floor((now - self.clock.epoch - phase * ptime / PHASES) / ptime + 1e-9)
        first = self._next_frame[phase] or newest
        owed = max(0, newest - first + 1)  # 0 when a catch-up tick comes before its frame
        self._next_frame[phase] = max(self._next_frame[phase], newest + 1)
        frames = min(owed, 1 + MAX_CATCH_UP)
        if owed > frames:
            self.trouble.append(Trouble(now, late, owed - frames))
            del self.trouble[:-1000]
        self.lateness.append(late)
        del self.lateness[:-500]
        if late > TROUBLE_LATE:
            self._late_ticks.append((now, late))
            del self._late_ticks[:-1000]
        self.ticks += 1
        # frames past the catch-up are not sent, but their time goes by: timestamps stay
        # locked to the clock, so the far end sees a gap, not a stream running slow
        self._chunk(now, (owed - frames, frames), list(self._phases[phase]), 0)
        sub = ptime / PHASES
        self._k = max(k + 1, math.floor((now - self.clock.epoch) / sub))  # missed turns skipped
        self._schedule()

    def _chunk(self, now: float, frames: tuple[int, int], legs: list[FastLeg], start: int) -> None:
        """A tick's work for the legs from ``start`` on, a group at a time, for at most
        ``BUDGET`` seconds; the rest waits for what the loop has to do meanwhile (packets,
        timers), so no callback holds the loop for long, whatever the codec costs.  A group
        is as many legs as fit in ``GROUP_TIME`` at the cost per leg measured so far (its
        frames are decoded and analysed together)."""
        loop = self._loop
        began = loop.time()
        i = start
        while i < len(legs):
            size = max(4, min(64, int(GROUP_TIME / self._per_leg)))
            part = legs[i : i + size]
            t0 = loop.time()
            try:
                self._receive(now, part)
                self._send(frames, part)
            except Exception:
                log.exception("media tick failed")
            t1 = loop.time()
            self._per_leg = 0.8 * self._per_leg + 0.2 * max(1e-6, (t1 - t0) / len(part))
            i += size
            if t1 - began > BUDGET:
                break
        self.busy += loop.time() - began
        if i < len(legs):
            loop.call_soon(self._chunk, now, frames, legs, i)

    def _send(self, frames: tuple[int, int], legs: list[FastLeg]) -> None:
        """(frames to skip, frames to send) on every leg this tick."""
        skipped, sent = frames
        for leg in legs:
            if leg.relayed_from is not None or leg.closed:
                continue
            try:
                for _ in range(skipped):
                    leg.skip_frame()
                for _ in range(sent):
                    if leg.sending and not leg.track.held:
                        leg.send_payload(leg.next_payload())
                    else:
                        leg.skip_frame()
            except Exception:  # one broken leg must not silence the others
                log.exception("%s: sending failed; the leg is dropped", leg.name)
                leg.close()

    def _detector(self, rate: int) -> SignatureDetector:
        detector = self._detectors.get(rate)
        if detector is None:
            every = [signature_for(i) for i in range(SIGNATURE_COUNT)]
            detector = self._detectors[rate] = SignatureDetector(every, rate)
        return detector

    def _receive(self, now: float, legs: list[FastLeg]) -> None:
        batches: dict[int, _Batch] = {}
        for leg in legs:
            if leg.relay is not None or leg.closed:
                continue
            due = leg.playout.due(now)
            if not due:
                continue
            sink = leg.sink()
            if sink is None:
                continue
            batch = batches.get(leg.codec.rate)
            if batch is None:
                batch = batches[leg.codec.rate] = _Batch(leg.codec.rate)
            batch.add(leg, sink, due)
        for batch in batches.values():
            self._deliver(batch)

    def _deliver(self, batch: _Batch) -> None:
        """Decode every frame of the batch (G.711 with one table lookup per kind), analyse
        those a listening leg received in one product, hand each leg its frames."""
        rate = batch.rate
        n = round(rate * self.clock.ptime)
        m = len(batch.times)
        pcm = np.zeros((m, n), dtype=np.int16)
        for name, (rows, parts) in batch.g711.items():
            codes = np.frombuffer(b"".join(parts), dtype=np.uint8).reshape(-1, n)
            table = ULAW_DECODE if name == "pcmu" else ALAW_DECODE
            if len(rows) == m:
                pcm = table[codes]
            else:
                pcm[rows] = table[codes]
        for row, decoded in batch.decoded:
            pcm[row] = decoded
        missing = np.array(batch.missing, dtype=np.bool_)
        if missing.any():
            pcm[missing] = 0
        times = np.array(batch.times, dtype=np.float64)
        masks = np.zeros(m, dtype=np.uint64)
        rms = np.full(m, SILENCE_DBFS, dtype=np.float32)
        wanted = np.array(batch.analyse, dtype=np.bool_) & ~missing
        if wanted.any():
            frames = pcm[wanted].astype(np.float32) * np.float32(1.0 / 32768.0)
            present, levels, _ = self._detector(rate).analyse_frames(frames)
            masks[wanted] = (present.astype(np.uint64) * _BIT_VALUES).sum(axis=1, dtype=np.uint64)
            rms[wanted] = levels
        start = 0
        for sink, count in batch.entries:
            end = start + count
            sink(rate, times[start:end], pcm[start:end], masks[start:end], rms[start:end],
                 missing[start:end])  # fmt: skip
            start = end

    def health(self) -> dict[str, float]:
        """Lateness of the last ticks (p99, ms) and frames the engine could not send."""
        late = sorted(self.lateness) or [0.0]
        return {
            "ticks": self.ticks,
            "late_p99_ms": 1000 * late[min(len(late) - 1, int(0.99 * len(late)))],
            "frames_dropped": sum(t.frames_dropped for t in self.trouble),
        }

    def own_trouble(self, t0: float, t1: float) -> str:
        """What went wrong on xctest's side in [t0, t1): frames the engine could not send in
        time, ticks so late that arrival times (and so jitter and lateness) are the loop's;
        "" when nothing did.  Verdicts measured then are the tool's trouble, not the system's."""
        dropped = sum(t.frames_dropped for t in self.trouble if t0 <= t.t < t1)
        late = [lateness for t, lateness in self._late_ticks if t0 <= t < t1]
        if not dropped and not late:
            return ""
        parts = []
        if dropped:
            parts.append(f"{dropped} frame(s) not sent in time")
        if late:
            parts.append(f"{len(late)} tick(s) up to {1000 * max(late):.0f} ms late")
        return "xctest's media engine was overloaded (" + ", ".join(parts) + ")"


class _Batch:
    """The frames due on a tick for the legs of one sample rate, gathered for decoding and
    analysis in bulk: per frame its slot time, missing flag and whether it is analysed."""

    def __init__(self, rate: int) -> None:
        self.rate = rate
        self.entries: list[tuple[FrameSink, int]] = []
        self.times: list[float] = []
        self.missing: list[bool] = []
        self.analyse: list[bool] = []
        self.g711: dict[str, tuple[list[int], list[bytes]]] = {}
        self.decoded: list[tuple[int, npt.NDArray[np.int16]]] = []

    def add(self, leg: FastLeg, sink: FrameSink, due: list[tuple[int, bytes | None]]) -> None:
        row = len(self.times)
        playout, codec = leg.playout, leg.codec
        self.times += [playout.slot_time(k) for k, _ in due]
        self.missing += [p is None for _, p in due]
        self.analyse += [leg.analyse] * len(due)
        if isinstance(codec, G711):
            rows, parts = self.g711.setdefault(codec.name, ([], []))
            n, filler = codec.samples_per_frame, codec.silence()
            rows += range(row, row + len(due))
            parts += [filler if p is None or len(p) != n else p for _, p in due]
        else:
            self.decoded += [(row + i, codec.decode(p)) for i, (_, p) in enumerate(due)]
        self.entries.append((sink, len(due)))
