"""What one leg received, frame by frame, kept compactly for the checks: per 20 ms frame its
time, which signatures were present (a bit per ``signature_for`` index), its level, and
whether it was missing (lost or late: it should have arrived and did not); plus the samples
themselves (16-bit, at the stream's own rate) for MOS, tone checks and WAV evidence.

Rolling buffers with fixed memory: ``keep_frames`` seconds of frames, ``keep_audio`` seconds
of samples.  Every share is taken over the frames that *should* have arrived in the window:
a missing frame is one in which nothing was heard.  Pure numpy.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt

from xctest.audio.g711 import resample

__all__ = ["Reception"]

FRAME = 0.020
SILENCE_DBFS = -120.0


class _Ring:
    """A rolling store of up to ``capacity`` rows of one dtype and row shape.  Its array grows
    as rows come (doubling) until it holds ``capacity``, then the oldest rows are overwritten:
    a short call costs what it keeps, not what a long one would."""

    def __init__(self, capacity: int, dtype: type, shape: tuple[int, ...] = ()) -> None:
        self.capacity = max(1, capacity)
        self.data: npt.NDArray[Any] = np.zeros((min(self.capacity, 64), *shape), dtype=dtype)
        self.count = 0  # rows ever written

    def reserve(self, n: int) -> None:
        """Room for ``n`` more rows (the array grows while it is below capacity)."""
        size = len(self.data)
        if size >= self.capacity or self.count + n <= size:
            return
        grown = min(self.capacity, max(2 * size, self.count + n))
        bigger = np.zeros((grown, *self.data.shape[1:]), dtype=self.data.dtype)
        bigger[:size] = self.data  # nothing wrapped yet: the rows are in order at the start
        self.data = bigger

    def put(self, rows: npt.NDArray[Any]) -> None:
        n = len(rows)
        self.reserve(n)
        start = self.count % self.capacity
        if start + n <= len(self.data):
            self.data[start : start + n] = rows
            self.count += n
            return
        if n >= self.capacity:
            rows = rows[-self.capacity :]
            start = (self.count + n - self.capacity) % self.capacity
            n_put = self.capacity
        else:
            n_put = n
        first = min(n_put, self.capacity - start)
        self.data[start : start + first] = rows[:first]
        if first < n_put:
            self.data[: n_put - first] = rows[first:]
        self.count += n

    def span(self, lo: int, hi: int) -> npt.NDArray[Any]:
        """Rows ``lo..hi-1`` (absolute indices; those no longer kept are left out), in order."""
        lo = max(lo, self.first)
        if hi <= lo:
            return self.data[:0]
        a, n = lo % self.capacity, hi - lo
        if a + n <= self.capacity:
            return self.data[a : a + n]
        return np.concatenate((self.data[a:], self.data[: a + n - self.capacity]))

    @property
    def first(self) -> int:
        """Absolute index of the oldest row kept."""
        return max(0, self.count - self.capacity)


class Reception:
    """Frames and samples of one received stream, in arrival order of their slots."""

    def __init__(
        self, rate: int, keep_frames: float = 600.0, keep_audio: float = 120.0, ptime: float = FRAME
    ) -> None:
        self.rate = rate
        self.ptime = ptime
        self.samples_per_frame = round(rate * ptime)
        frames = math.ceil(keep_frames / ptime)
        self._t = _Ring(frames, np.float64)
        self._mask = _Ring(frames, np.uint64)
        self._rms = _Ring(frames, np.float32)
        self._missing = _Ring(frames, np.bool_)
        self._pcm = _Ring(math.ceil(keep_audio / ptime), np.int16, (self.samples_per_frame,))
        self._pcm_t = _Ring(math.ceil(keep_audio / ptime), np.float64)

    def add(
        self,
        times: npt.NDArray[np.float64],
        masks: npt.NDArray[np.uint64],
        rms: npt.NDArray[np.float32],
        missing: npt.NDArray[np.bool_],
        pcm: npt.NDArray[np.int16] | None,
    ) -> None:
        """Frames in time order: slot times, signature bits, level (dBFS), missing flags, and
        their samples (``(frames, samples_per_frame)``, None to keep none)."""
        n = len(times)
        ring = self._t
        for one in (ring, self._mask, self._rms, self._missing):
            one.reserve(n)
        start = ring.count % ring.capacity
        if start + n <= len(ring.data):  # the usual case, a frame or two: write in place
            end = start + n
            ring.data[start:end] = times
            self._mask.data[start:end] = masks
            self._rms.data[start:end] = rms
            self._missing.data[start:end] = missing
            for one in (ring, self._mask, self._rms, self._missing):
                one.count += n
        else:
            ring.put(times)
            self._mask.put(masks)
            self._rms.put(rms)
            self._missing.put(missing)
        if pcm is not None:
            self._pcm.put(pcm)
            self._pcm_t.put(times)

    # --- reading ------------------------------------------------------------------------------

    @property
    def frames(self) -> int:
        """Frames recorded so far (missing ones included)."""
        return self._t.count

    @property
    def last_t(self) -> float:
        """Time of the newest frame (-inf before the first)."""
        if not self._t.count:
            return -math.inf
        return float(self._t.data[(self._t.count - 1) % self._t.capacity])

    def _window(self, t0: float, t1: float) -> tuple[int, int]:
        """Absolute indices of the frames with t0 <= t < t1 (times are non-decreasing)."""
        times = self._t.span(self._t.first, self._t.count)
        lo = int(np.searchsorted(times, t0, side="left"))
        hi = int(np.searchsorted(times, t1, side="left"))
        return self._t.first + lo, self._t.first + hi

    def count(self, t0: float = -math.inf, t1: float = math.inf) -> tuple[int, int]:
        """(frames in the window, of which missing)."""
        lo, hi = self._window(t0, t1)
        return hi - lo, int(self._missing.span(lo, hi).sum())

    def share(self, bits: int, t0: float = -math.inf, t1: float = math.inf) -> float:
        """Share of the window's frames in which every signature of ``bits`` was present."""
        lo, hi = self._window(t0, t1)
        if hi <= lo:
            return 0.0
        masks = self._mask.span(lo, hi)
        return float(np.count_nonzero((masks & np.uint64(bits)) == np.uint64(bits)) / (hi - lo))

    def loud_share(
        self, quiet_dbfs: float, besides: int = 0, t0: float = -math.inf, t1: float = math.inf
    ) -> float:
        """Share of the window's frames louder than ``quiet_dbfs`` in which no signature of
        ``besides`` was present."""
        lo, hi = self._window(t0, t1)
        if hi <= lo:
            return 0.0
        loud = self._rms.span(lo, hi) > quiet_dbfs
        if besides:
            loud &= (self._mask.span(lo, hi) & np.uint64(besides)) == 0
        return float(np.count_nonzero(loud) / (hi - lo))

    def bits_present(
        self, candidates: dict[str, int], share: float, t0: float = -math.inf, t1: float = math.inf
    ) -> set[str]:
        """Names of ``candidates`` (name -> bits) present in at least ``share`` of the frames."""
        return {name for name, b in candidates.items() if self.share(b, t0, t1) >= share}

    def first_with(self, bits: int, since: float) -> float | None:
        """Time of the first kept frame at or after ``since`` holding every signature of
        ``bits``."""
        lo, hi = self._window(since, math.inf)
        if hi <= lo:
            return None
        hits = np.flatnonzero((self._mask.span(lo, hi) & np.uint64(bits)) == np.uint64(bits))
        if not hits.size:
            return None
        return float(self._t.span(lo, hi)[hits[0]])

    def samples(self, t0: float = -math.inf, t1: float = math.inf) -> npt.NDArray[np.float32]:
        """The kept samples of the frames whose slot is in [t0, t1), at the stream's rate, as
        float32 (missing frames are silence)."""
        times = self._pcm_t.span(self._pcm_t.first, self._pcm_t.count)
        lo = self._pcm_t.first + int(np.searchsorted(times, t0, side="left"))
        hi = self._pcm_t.first + int(np.searchsorted(times, t1, side="left"))
        rows = self._pcm.span(lo, hi)
        out: npt.NDArray[np.float32] = rows.reshape(-1).astype(np.float32) / np.float32(32768.0)
        return out

    def audio(self, t0: float, t1: float, rate: int) -> npt.NDArray[np.float32]:
        """``samples(t0, t1)`` at ``rate``."""
        x = self.samples(t0, t1)
        return x if rate == self.rate else resample(x, self.rate, rate)

    def __repr__(self) -> str:
        return f"<Reception {self.rate} Hz frames={self.frames}>"
