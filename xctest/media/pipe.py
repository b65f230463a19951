"""A bounded FIFO of audio samples: one side writes what it received, the other plays it.

Used to bridge two legs (the simulator anchors media like Asterisk does) and to feed a
conference mix.  Underrun plays silence; overrun drops the oldest audio so latency stays bounded.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from xctest.media.frames import RATE


class AudioPipe:
    """Samples in at the receiver's pace, ``read(n)`` out at the media clock's pace."""

    def __init__(self, max_latency: float = 0.12, rate: int = RATE) -> None:
        self._max = int(max_latency * rate)
        self._buf = np.zeros(0, dtype=np.float32)
        self.underruns = 0
        self.dropped = 0

    def write(self, samples: NDArray[np.float32]) -> None:
        buf = np.concatenate((self._buf, samples)) if self._buf.size else samples
        if buf.size > self._max:
            self.dropped += buf.size - self._max
            buf = buf[-self._max :]
        self._buf = buf

    def read(self, n: int) -> NDArray[np.float32]:
        if self._buf.size >= n:
            out, self._buf = self._buf[:n], self._buf[n:]
            return out
        self.underruns += 1
        out = np.zeros(n, dtype=np.float32)
        out[: self._buf.size] = self._buf
        self._buf = np.zeros(0, dtype=np.float32)
        return out

    def clear(self) -> None:
        self._buf = np.zeros(0, dtype=np.float32)

    def __repr__(self) -> str:
        return f"<AudioPipe buffered={self._buf.size} underruns={self.underruns}>"
