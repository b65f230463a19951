"""Conversions between aiortc/PyAV audio frames and numpy signals (float32, mono)."""

from __future__ import annotations

import fractions
from collections.abc import Callable

import av
import numpy as np
from numpy.typing import NDArray

RATE = 48000

FrameSink = Callable[
    [
        int,
        NDArray[np.float64],
        NDArray[np.int16],
        NDArray[np.uint64],
        NDArray[np.float32],
        NDArray[np.bool_],
    ],
    None,
]
"""Where the media engine delivers a leg's received frames, after each tick: the stream's
rate, the frames' slot times, their samples ``(frames, n)``, signature bits (a bit per
``signature_for`` index), levels in dBFS, and missing flags (lost or late)."""


def to_frame(samples: NDArray[np.float32], pts: int, rate: int = RATE) -> av.AudioFrame:
    """Mono float32 [-1, 1] -> s16 mono AudioFrame stamped with ``pts`` (in samples)."""
    pcm = np.clip(samples * 32767.0, -32768, 32767).astype(np.int16).reshape(1, -1)
    frame = av.AudioFrame.from_ndarray(pcm, format="s16", layout="mono")
    frame.sample_rate = rate
    frame.pts = pts
    frame.time_base = fractions.Fraction(1, rate)
    return frame


def from_frame(frame: av.AudioFrame) -> NDArray[np.float32]:
    """Any packed/planar s16 AudioFrame -> mono float32 at the frame's own rate."""
    data = frame.to_ndarray()
    channels = len(frame.layout.channels)
    if frame.format.is_planar:
        mono = data.astype(np.float32).mean(axis=0)
    elif channels > 1:
        mono = data.reshape(-1, channels).astype(np.float32).mean(axis=1)
    else:
        mono = data.reshape(-1).astype(np.float32)
    out: NDArray[np.float32] = mono / np.float32(32768.0)
    return out


class Resampler:
    """Streaming conversion of received frames to mono float32 at 48 kHz."""

    def __init__(self) -> None:
        self._av: av.AudioResampler | None = None

    def __call__(self, frame: av.AudioFrame) -> NDArray[np.float32]:
        if frame.sample_rate == RATE:
            return from_frame(frame)
        if self._av is None:
            self._av = av.AudioResampler(format="s16", layout="mono", rate=RATE)
        parts = [from_frame(f) for f in self._av.resample(frame)]
        if not parts:
            return np.zeros(0, dtype=np.float32)
        return np.concatenate(parts)
