"""A bounded FIFO of audio samples: one side writes what it received, the other plays it.
Bridges two legs (the simulator) and feeds a conference mix.  Underrun plays silence, overrun
drops the oldest audio; an optional prebuffer makes playing resume after an underrun only
once that much is queued again, so arrival jitter costs one gap instead of many.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from xctest.media.frames import RATE


class AudioPipe:
    """Samples in at the receiver's pace, ``read(n)`` out at the media clock's pace.
    ``prebuffer`` (seconds, default 0: play whatever is queued) absorbs arrival jitter."""

    def __init__(self, max_latency: float = 0.12, rate: int = RATE, prebuffer: float = 0.0) -> None:
        self._max = int(max_latency * rate)
        self._prebuffer = int(prebuffer * rate)
        self._filling = self._prebuffer > 0
        self._buf = np.zeros(0, dtype=np.float32)
        self.underruns = 0
        self.dropped = 0

    @property
    def empty(self) -> bool:
        """Nothing queued: a read would be silence."""
        return not self._buf.size

    def write(self, samples: NDArray[np.float32]) -> None:
        buf = np.concatenate((self._buf, samples)) if self._buf.size else samples
        if buf.size > self._max:
            self.dropped += buf.size - self._max
            buf = buf[-self._max :]
        self._buf = buf

    def read(self, n: int) -> NDArray[np.float32]:
        if self._prebuffer:
            return self._read_buffered(n)
        if self._buf.size >= n:
            out, self._buf = self._buf[:n], self._buf[n:]
            return out
        self.underruns += 1
        out = np.zeros(n, dtype=np.float32)
        out[: self._buf.size] = self._buf
        self._buf = np.zeros(0, dtype=np.float32)
        return out

    def _read_buffered(self, n: int) -> NDArray[np.float32]:
        if self._filling and self._buf.size < n + self._prebuffer:
            return np.zeros(n, dtype=np.float32)
        self._filling = False
        if self._buf.size < n:  # keep what is queued, wait for the prebuffer again
            self.underruns += 1
            self._filling = True
            return np.zeros(n, dtype=np.float32)
        out, self._buf = self._buf[:n], self._buf[n:]
        return out

    def clear(self) -> None:
        self._buf = np.zeros(0, dtype=np.float32)
        self._filling = self._prebuffer > 0

    def __repr__(self) -> str:
        return f"<AudioPipe buffered={self._buf.size} underruns={self.underruns}>"
