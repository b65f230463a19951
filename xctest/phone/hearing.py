"""What one call hears: frames from the media engine (decoded and analysed in batch for every
leg of the process) or, on aiortc's own media path, decoded audio analysed here; kept in a
``Reception``; read by signature name; waited on; copied to taps (a conference mix); searched
for in-band DTMF on demand.  Never imports the simulator.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable, Sequence

import numpy as np
from numpy.typing import NDArray

from xctest.audio.detector import SignatureDetector
from xctest.audio.resampling import Interpolator
from xctest.audio.signature import Signature, index_of
from xctest.errors import MediaError, StepTimeout
from xctest.media.reception import Reception
from xctest.phone.dtmf import InbandReceiver

__all__ = ["Hearing", "bits_of"]

RATE = 48000  # what taps, MOS, tone checks and WAV evidence get
FRAME = 0.020
Tap = Callable[[NDArray[np.float32]], None]
DigitFound = Callable[[str, float, float], None]


def bits_of(signatures: Sequence[Signature]) -> dict[str, int]:
    """Each signature's bit: that of its ``signature_for`` index (``ValueError`` for a pair
    that is none of them: the batch detector knows only those)."""
    out = {}
    for s in signatures:
        index = index_of(s)
        if index is None:
            raise ValueError(f"{s} is not a signature_for() pair; the media path detects those")
        out[s.name] = 1 << index
    return out


class Hearing:
    """The received side of one call."""

    def __init__(
        self,
        listen_for: Sequence[Signature],
        on_digit: DigitFound,
        keep_frames: float = 600.0,
        keep_audio: float = 120.0,
    ) -> None:
        self.signatures = tuple(listen_for)
        self.bits = bits_of(listen_for)
        self.keep_frames = keep_frames
        self.keep_audio = keep_audio
        self.reception: Reception | None = None
        self.taps: list[Tap] = []
        self._on_digit = on_digit
        self._up: Interpolator | None = None
        self._inband: InbandReceiver | None = None
        self._detector: SignatureDetector | None = None  # aiortc's path only
        self._values = np.zeros(0, dtype=np.uint64)
        self._pending = np.zeros(0, dtype=np.float32)
        self._name_waiters: list[tuple[int, float, asyncio.Future[float]]] = []
        self._audio_waiters: list[tuple[float, asyncio.Future[None]]] = []

    def _store(self, rate: int) -> Reception:
        if self.reception is None or self.reception.rate != rate:
            self.reception = Reception(rate, self.keep_frames, self.keep_audio)
        return self.reception

    # --- intake ---------------------------------------------------------------------------

    def on_frames(
        self,
        rate: int,
        times: NDArray[np.float64],
        pcm: NDArray[np.int16],
        masks: NDArray[np.uint64],
        rms: NDArray[np.float32],
        missing: NDArray[np.bool_],
    ) -> None:
        """Frames from the media engine: slot times, samples ``(frames, n)`` at ``rate``,
        signature bits, levels, missing flags (lost or late)."""
        self._store(rate).add(times, masks, rms, missing, pcm)
        if self.taps or self._inband is not None:
            native = pcm.reshape(-1).astype(np.float32) / np.float32(32768.0)
            if self._inband is not None:
                self._dtmf(native, float(times[-1]) + FRAME)
            if self.taps:
                self._tap(native, rate)
        self._wake(masks, times)

    def on_audio(self, samples: NDArray[np.float32], now: float) -> None:
        """Decoded 48 kHz audio from aiortc's media path, its last sample received ``now``:
        cut into 20 ms frames and analysed here."""
        if self._detector is None:
            self._detector = SignatureDetector(self.signatures)
            self._values = np.array([self.bits[s.name] for s in self.signatures], dtype=np.uint64)
        for tap in list(self.taps):
            tap(samples)
        if self._inband is not None:
            self._dtmf(samples, now)
        whole = np.concatenate((self._pending, samples)) if self._pending.size else samples
        n = whole.size // 960
        self._pending = whole[n * 960 :]
        if not n:
            return
        rows = np.ascontiguousarray(whole[: n * 960], dtype=np.float32).reshape(n, 960)
        present, rms, _ = self._detector.analyse_frames(rows)
        masks = (present.astype(np.uint64) * self._values).sum(axis=1, dtype=np.uint64)
        # frames end where the received audio ends, minus what waits for the next frame
        end = now - self._pending.size / RATE
        times = end - FRAME * np.arange(n, 0, -1, dtype=np.float64)
        pcm = (np.clip(rows, -1.0, 1.0) * 32767).astype(np.int16)
        self._store(RATE).add(times, masks, rms.astype(np.float32), np.zeros(n, np.bool_), pcm)
        self._wake(masks, times)

    def _tap(self, native: NDArray[np.float32], rate: int) -> None:
        if rate != RATE:
            if self._up is None:
                self._up = Interpolator(RATE // rate)
            native = self._up(native)
        for tap in list(self.taps):
            tap(native)

    # --- in-band DTMF, on demand ------------------------------------------------------------

    def arm_dtmf(self, since: float) -> None:
        """Look for in-band DTMF from loop time ``since`` on: the kept audio since then is
        searched now, what comes next as it comes.  Digits go to ``on_digit``."""
        if self._inband is not None:
            return
        rate = self.reception.rate if self.reception is not None else RATE
        self._inband = InbandReceiver(rate)
        if self.reception is not None and self.reception.frames:
            kept = self.reception.samples(since, math.inf)
            if kept.size:
                self._dtmf(kept, self.reception.last_t + FRAME)

    def disarm_dtmf(self) -> None:
        self._inband = None

    def _dtmf(self, samples: NDArray[np.float32], now: float) -> None:
        assert self._inband is not None
        for digit, start, end in self._inband.feed(samples, now):
            self._on_digit(digit, start, end)

    # --- reading -------------------------------------------------------------------------

    def bit(self, name: str) -> int:
        bit = self.bits.get(name)
        if bit is None:
            raise MediaError(f"not listening for {name!r} (listening for {sorted(self.bits)})")
        return bit

    def presence(self, name: str, t0: float = -math.inf, t1: float = math.inf) -> float:
        """Share of the frames that should have arrived in [t0, t1) in which ``name`` was
        present (0.0 with no frame)."""
        rec = self.reception
        return rec.share(self.bit(name), t0, t1) if rec is not None else 0.0

    def heard_names(
        self, t0: float = -math.inf, t1: float = math.inf, share: float = 0.8
    ) -> set[str]:
        rec = self.reception
        return rec.bits_present(self.bits, share, t0, t1) if rec is not None else set()

    def loud_share(
        self, quiet_dbfs: float, besides: Sequence[str] = (), t0: float = -math.inf,
        t1: float = math.inf,
    ) -> float:  # fmt: skip
        """Share of the window's frames louder than ``quiet_dbfs`` with none of ``besides``."""
        rec = self.reception
        if rec is None:
            return 0.0
        mask = sum(self.bits[n] for n in besides if n in self.bits)
        return rec.loud_share(quiet_dbfs, mask, t0, t1)

    def counts(self, t0: float = -math.inf, t1: float = math.inf) -> tuple[int, int]:
        """(frames that should have arrived in the window, of which missing)."""
        return self.reception.count(t0, t1) if self.reception is not None else (0, 0)

    def audio(self, t0: float = -math.inf, t1: float = math.inf) -> NDArray[np.float32]:
        """The kept samples of [t0, t1) at 48 kHz."""
        if self.reception is None:
            return np.zeros(0, dtype=np.float32)
        return self.reception.audio(t0, t1, RATE)

    @property
    def last_t(self) -> float:
        return self.reception.last_t if self.reception is not None else -math.inf

    # --- waiting --------------------------------------------------------------------------

    def _wake(self, masks: NDArray[np.uint64], times: NDArray[np.float64]) -> None:
        if self._name_waiters:
            still = []
            for bit, since, fut in self._name_waiters:
                if fut.done():
                    continue
                hits = np.flatnonzero(((masks & np.uint64(bit)) != 0) & (times >= since))
                if hits.size:
                    fut.set_result(float(times[hits[0]]))
                else:
                    still.append((bit, since, fut))
            self._name_waiters = still
        if self._audio_waiters:
            last = float(times[-1])
            keep = []
            for until, done in self._audio_waiters:
                if done.done():
                    continue
                if last >= until:
                    done.set_result(None)
                else:
                    keep.append((until, done))
            self._audio_waiters = keep

    async def wait_heard(self, name: str, timeout: float, since: float, what: str) -> float:
        """Time of the first frame at or after ``since`` with ``name`` present."""
        bit = self.bit(name)
        if self.reception is not None:
            found = self.reception.first_with(bit, since)
            if found is not None:
                return found
        fut: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        self._name_waiters.append((bit, since, fut))
        try:
            return await asyncio.wait_for(fut, timeout)
        except TimeoutError:
            raise StepTimeout(what, sorted(self.heard_names()), timeout) from None

    async def wait_until(self, t: float, timeout: float, what: str) -> None:
        """Until frames are analysed up to loop time ``t``."""
        if self.last_t >= t:
            return
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._audio_waiters.append((t, fut))
        try:
            await asyncio.wait_for(fut, timeout)
        except TimeoutError:
            frames = self.reception.frames if self.reception is not None else 0
            raise MediaError(
                f"{what}: no audio analysed up to the window end ({frames} frames)"
            ) from None
