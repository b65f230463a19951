"""Test signals and levels: sines, tone sums, silence, noise, RMS in dBFS, int16 conversion.

Signals are mono float32 arrays in [-1, 1]; every level is an RMS level in dBFS (a full-scale
sine is -3.01 dBFS). Imports only numpy and the stdlib.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

SILENCE_DBFS = -120.0
"""Floor returned by rms_dbfs for silence (and used for any level below it)."""


def db_to_amplitude(level_dbfs: float) -> float:
    """RMS amplitude (full scale = 1.0) of a level in dBFS."""
    return float(10.0 ** (level_dbfs / 20.0))


def sample_count(seconds: float, rate: int) -> int:
    """Number of samples in `seconds` at `rate`, rounded to the nearest sample."""
    if seconds < 0 or rate <= 0:
        raise ValueError(f"need seconds >= 0 and rate > 0, got {seconds!r}, {rate!r}")
    return round(seconds * rate)


def _finish(samples: npt.NDArray[np.float64]) -> npt.NDArray[np.float32]:
    return np.clip(samples, -1.0, 1.0).astype(np.float32)


def sine(
    freq: float,
    seconds: float,
    rate: int = 48000,
    level_dbfs: float = -12.0,
    phase: float = 0.0,
) -> npt.NDArray[np.float32]:
    """A sine of RMS `level_dbfs` starting at `phase` radians (clipped above -3.01 dBFS)."""
    n = np.arange(sample_count(seconds, rate), dtype=np.float64)
    amplitude = math.sqrt(2.0) * db_to_amplitude(level_dbfs)
    return _finish(amplitude * np.sin(2.0 * math.pi * freq * n / rate + phase))


def tones(
    freqs: Sequence[float],
    seconds: float,
    rate: int = 48000,
    level_dbfs: float = -12.0,
) -> npt.NDArray[np.float32]:
    """Sum of equal-amplitude sines whose total RMS is `level_dbfs` (clipped to [-1, 1])."""
    n = np.arange(sample_count(seconds, rate), dtype=np.float64)
    if not freqs:
        return np.zeros(n.size, dtype=np.float32)
    amplitude = math.sqrt(2.0 / len(freqs)) * db_to_amplitude(level_dbfs)
    total = np.zeros(n.size, dtype=np.float64)
    for freq in freqs:
        total += np.sin(2.0 * math.pi * freq * n / rate)
    return _finish(amplitude * total)


def silence(seconds: float, rate: int = 48000) -> npt.NDArray[np.float32]:
    """Digital silence."""
    return np.zeros(sample_count(seconds, rate), dtype=np.float32)


def white_noise(
    seconds: float,
    rate: int = 48000,
    level_dbfs: float = -30.0,
    seed: int = 0,
) -> npt.NDArray[np.float32]:
    """Gaussian white noise of RMS `level_dbfs`, reproducible from `seed`."""
    rng = np.random.default_rng(seed)
    noise = rng.standard_normal(sample_count(seconds, rate))
    return _finish(db_to_amplitude(level_dbfs) * noise)


def concat(*parts: npt.NDArray[np.floating]) -> npt.NDArray[np.float32]:
    """Play `parts` one after another (cadences: tone, silence, tone ...)."""
    if not parts:
        return np.zeros(0, dtype=np.float32)
    return np.concatenate([np.asarray(p, dtype=np.float32) for p in parts])


def mix(*parts: npt.NDArray[np.floating]) -> npt.NDArray[np.float32]:
    """Play `parts` at the same time (summed, clipped); shorter parts are padded with silence."""
    if not parts:
        return np.zeros(0, dtype=np.float32)
    total = np.zeros(max(len(p) for p in parts), dtype=np.float64)
    for p in parts:
        total[: len(p)] += p
    return _finish(total)


def rms_dbfs(samples: npt.NDArray[np.floating]) -> float:
    """RMS level in dBFS (full-scale sine = -3.01); SILENCE_DBFS for silence or no samples."""
    x = np.asarray(samples, dtype=np.float64)
    if x.size == 0:
        return SILENCE_DBFS
    power = float(np.mean(x * x))
    if power <= 10.0 ** (SILENCE_DBFS / 10.0):
        return SILENCE_DBFS
    return 10.0 * math.log10(power)


def to_int16(samples: npt.NDArray[np.floating]) -> npt.NDArray[np.int16]:
    """Float [-1, 1] to int16 PCM (scale 32768, rounded, saturating)."""
    x = np.round(np.asarray(samples, dtype=np.float64) * 32768.0)
    return np.clip(x, -32768, 32767).astype(np.int16)


def from_int16(samples: npt.NDArray[np.integer]) -> npt.NDArray[np.float32]:
    """int16 PCM to float32 in [-1, 1) (scale 32768, exact)."""
    return (np.asarray(samples, dtype=np.float32) / np.float32(32768.0)).astype(np.float32)
