"""Signature detection for many legs at once: the rules of ``SignatureDetector`` applied to a
``legs x samples`` block with one matrix product per frame, per-leg state kept in arrays.

Pure numpy; imports nothing from the media or SIP layers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from xctest.audio.detector import (
    _POWER_FLOOR,
    DEFAULT_MIN_FRAME_SHARE,
    DEFAULT_MIN_SHARE,
    SignatureDetector,
    tone_power,
)
from xctest.audio.signals import SILENCE_DBFS
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
        # the single-leg detector validates the signatures and builds the tone tables
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
        one = self._one
        t = self._frames * self.frame_size / self.rate
        self._frames += 1
        stats = (frames * frames) @ one._stats  # (legs, 2): mean square, Hann mean square
        mean_square, frame_power = stats[:, 0].astype(np.float64), stats[:, 1]
        with np.errstate(divide="ignore"):
            rms = np.where(mean_square > _POWER_FLOOR, 10.0 * np.log10(mean_square), SILENCE_DBFS)
        power = tone_power(frames @ one._basis)  # (legs, 3k)
        k = one._n_tones
        centre, below, above = power[:, :k], power[:, k : 2 * k], power[:, 2 * k :]
        floor = np.maximum(np.maximum(below, above), one._min_level_power)
        heard = centre * (centre >= floor)
        pair = heard[:, one._sig_tones]  # (legs, signatures, 2)
        rest = (frame_power - heard.sum(axis=1))[:, None] + pair.sum(axis=2)
        frame_need = np.maximum(one.min_frame_share * frame_power, _POWER_FLOOR)[:, None]
        needed = np.maximum(one.min_share * rest, frame_need)
        present = (pair >= needed[:, :, None]).all(axis=2)
        return BatchFrame(t=t, present=present, rms_dbfs=rms)

    def __repr__(self) -> str:
        return f"<SignatureBatchDetector {len(self.names)} signatures legs={self.legs}>"
