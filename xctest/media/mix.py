"""Mixing sources for outgoing tracks: the microphone plus extra inputs (a conference's other
call, read from an ``AudioPipe``) and queued inserts that replace the microphone for a while
(in-band DTMF).  48 kHz mono float32; pure numpy, no aiortc and no SIP.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable

import numpy as np
from numpy.typing import NDArray

from xctest.audio.signature import SignatureSource

Source = Callable[[int], NDArray[np.float32]]


class MixSource:
    """A ``SignalTrack`` source: ``mic(n)`` (or a queued insert in its place) + every input.

    ``inputs`` are read every tick, whatever the microphone does; ``insert(samples)`` plays
    ``samples`` instead of the microphone, after any insert still queued.  A microphone that
    is a ``SignatureSource`` is a pure tone pair while nothing else is mixed in: ``steady()``
    then gives it, and the media engine plays it from a precomputed table.
    """

    def __init__(self, mic: Source | SignatureSource) -> None:
        self.tone: SignatureSource | None = None
        self._mic: Source = self._set(mic)
        self.inputs: list[Source] = []
        self._inserts: deque[NDArray[np.float32]] = deque()

    def _set(self, mic: Source | SignatureSource) -> Source:
        self.tone = mic if isinstance(mic, SignatureSource) else None
        return mic.read if isinstance(mic, SignatureSource) else mic

    @property
    def mic(self) -> Source:
        """What the microphone plays: set a ``SignatureSource`` or any ``Source``."""
        return self._mic

    @mic.setter
    def mic(self, value: Source | SignatureSource) -> None:
        self._mic = self._set(value)

    @property
    def inserting(self) -> bool:
        """True while queued inserts replace the microphone."""
        return bool(self._inserts)

    def insert(self, samples: NDArray[np.float32]) -> None:
        """Queue ``samples`` to be played in place of the microphone."""
        if samples.size:
            self._inserts.append(np.asarray(samples, dtype=np.float32))

    def clear_inserts(self) -> None:
        self._inserts.clear()

    def steady(self) -> SignatureSource | None:
        """The microphone's tone pair when it alone is playing, else None."""
        if self._inserts or self.inputs:
            return None
        return self.tone

    def _mic_part(self, n: int) -> NDArray[np.float32]:
        if not self._inserts:
            return self.mic(n)
        out = np.zeros(n, dtype=np.float32)
        filled = 0
        while filled < n and self._inserts:
            head = self._inserts[0]
            k = min(n - filled, head.size)
            out[filled : filled + k] = head[:k]
            filled += k
            if k == head.size:
                self._inserts.popleft()
            else:
                self._inserts[0] = head[k:]
        mic = self.mic(n)  # keeps the microphone's phase running under the insert
        if filled < n:
            out[filled:] = mic[filled:]
        return out

    def __call__(self, n: int) -> NDArray[np.float32]:
        out = self._mic_part(n)
        if not self.inputs:
            return out
        out = out.astype(np.float32, copy=True)
        for source in self.inputs:
            out += source(n)
        clipped: NDArray[np.float32] = np.clip(out, -1.0, 1.0)
        return clipped

    def __repr__(self) -> str:
        return f"<MixSource inputs={len(self.inputs)} inserts={len(self._inserts)}>"
