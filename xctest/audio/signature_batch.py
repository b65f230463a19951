"""Signature detection for many legs at once: the rules of ``SignatureDetector`` applied to a
``legs x samples`` block with one matrix product per frame, per-leg state kept in arrays.

Pure numpy; imports nothing from the media or SIP layers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from xctest.audio.detector import DEFAULT_MIN_FRAME_SHARE, DEFAULT_MIN_SHARE, SignatureDetector
from xctest.audio.signature import Signature


@dataclass(frozen=True)
class BatchFrame:
    """One 20 ms frame of every leg: ``present[leg, i]`` is signature ``i`` heard on ``leg``."""

    t: float
    present: npt.NDArray[np.bool_]
    rms_dbfs: npt.NDArray[np.float64]


class SignatureBatchDetector:
    """Feed ``(legs, n)`` blocks (all legs advance together); get a ``BatchFrame`` per
    completed frame.  Same decisions as one ``SignatureDetector`` per leg."""

    def __init__(
        self,
        signatures: Sequence[Signature],
        legs: int,
        rate: int = 48000,
        frame_ms: int = 20,
        min_level_dbfs: float = -45.0,
        min_share: float = DEFAULT_MIN_SHARE,
        min_frame_share: float = DEFAULT_MIN_FRAME_SHARE,
    ) -> None:
        if legs < 1:
            raise ValueError(f"legs must be >= 1, got {legs}")
        # the single-leg detector validates the signatures, builds the tables and owns the rules
        self._one = SignatureDetector(
            signatures, rate, frame_ms, min_level_dbfs, min_share, min_frame_share
        )
        self.signatures = tuple(signatures)
        self.names = [s.name for s in signatures]
        self.legs = legs
        self.rate = rate
        self.frame_size = self._one.frame_size
        self._buffer = np.zeros((legs, self.frame_size), dtype=np.float32)
        self._fill = 0
        self._frames = 0

    @property
    def frames(self) -> int:
        return self._frames

    def feed(self, block: npt.NDArray[np.floating]) -> list[BatchFrame]:
        """Add ``(legs, n)`` samples; return the frames this block completed."""
        x = np.asarray(block, dtype=np.float32)
        if x.ndim != 2 or x.shape[0] != self.legs:
            raise ValueError(f"expected a ({self.legs}, n) block, got shape {x.shape}")
        out = []
        pos = 0
        while pos < x.shape[1]:
            take = min(self.frame_size - self._fill, x.shape[1] - pos)
            self._buffer[:, self._fill : self._fill + take] = x[:, pos : pos + take]
            self._fill += take
            pos += take
            if self._fill == self.frame_size:
                out.append(self._analyse(self._buffer))
                self._fill = 0
        return out

    def _analyse(self, frames: npt.NDArray[np.float32]) -> BatchFrame:
        t = self._frames * self.frame_size / self.rate
        self._frames += 1
        present, rms, _ = self._one.analyse_frames(frames)
        return BatchFrame(t=t, present=present, rms_dbfs=rms)

    def __repr__(self) -> str:
        return f"<SignatureBatchDetector {len(self.names)} signatures legs={self.legs}>"
