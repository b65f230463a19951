"""Delay probes (log chirp, band-limited MLS) and one-way delay by cross-correlation.

Owns delay_probe(), estimate_delay() and the rule that says a probe was found. Imports only
numpy, scipy and the stdlib.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt
from scipy.signal import butter, chirp, correlate, max_len_seq, resample_poly, sosfiltfilt

from xctest.audio.signals import db_to_amplitude, sample_count

# Theory of operation
# -------------------
# The probe is a 300-3400 Hz signal (G.711 and Opus keep that band) whose autocorrelation has
# one narrow peak. The received audio is cross-correlated with the probe over the lags allowed
# (FFT), each lag normalised by the energy of the received samples it covers, which gives rho,
# the correlation coefficient: 1 for a clean copy, sqrt(SNR / (1 + SNR)) under noise; audio
# without the probe peaks at ~0.02 (white noise) to ~0.1 (speech- or music-like audio) over
# 1 s of lags with a 1 s probe. A parabola through the peak and its two neighbours gives
# the sub-sample delay. The probe is found when |rho| >= min_correlation (0.2) and the peak is
# >= min_peak_ratio (2) times every other |rho| more than 2 ms away, so a probe heard twice
# (an echo as loud as the direct path, or two probes in the window) is reported as not found.

PROBE_BAND_HZ = (300.0, 3400.0)
"""Band of both probes."""
DEFAULT_MIN_CORRELATION = 0.2
"""Default |rho| a peak needs to count as the probe."""
DEFAULT_MIN_PEAK_RATIO = 2.0
"""Default ratio of the peak to the highest |rho| more than PEAK_EXCLUSION_S away."""
PEAK_EXCLUSION_S = 0.002
"""Half-width around the peak excluded when looking for a rival peak."""

_FADE_S = 0.01
_MLS_CHIP_RATE = 8000


@dataclass(frozen=True)
class DelayEstimate:
    """Where the probe was found in the received audio."""

    delay_ms: float
    """Received minus sent, in milliseconds (sub-sample resolution)."""
    correlation: float
    """|rho| at the peak: 1.0 for a clean copy."""
    peak_ratio: float
    """Peak |rho| over the highest |rho| more than PEAK_EXCLUSION_S away."""


def _fade(x: npt.NDArray[np.float64], rate: int) -> npt.NDArray[np.float64]:
    n = min(sample_count(_FADE_S, rate), x.size // 2)
    if n:
        ramp = 0.5 - 0.5 * np.cos(np.pi * np.arange(n) / n)
        x[:n] *= ramp
        x[-n:] *= ramp[::-1]
    return x


def delay_probe(
    kind: Literal["chirp", "mls"] = "chirp",
    seconds: float = 1.0,
    rate: int = 48000,
    level_dbfs: float = -16.0,
) -> npt.NDArray[np.float32]:
    """A delay probe of RMS `level_dbfs`, faded in and out over 10 ms.

    "chirp": logarithmic sweep 300 -> 3400 Hz. "mls": a maximum-length sequence at 8000 chips/s,
    band-passed to 300-3400 Hz (deterministic)."""
    n = sample_count(seconds, rate)
    if n < 2:
        raise ValueError(f"probe too short: {seconds} s at {rate} Hz")
    low, high = PROBE_BAND_HZ
    if high >= rate / 2:
        raise ValueError(f"{rate} Hz cannot carry a probe up to {high} Hz")
    if kind == "chirp":
        t = np.arange(n, dtype=np.float64) / rate
        x = chirp(t, f0=low, t1=n / rate, f1=high, method="logarithmic", phi=-90.0)
    elif kind == "mls":
        chips = math.ceil(n * _MLS_CHIP_RATE / rate) + 1
        bits = max(4, math.ceil(math.log2(chips + 1)))
        seq = max_len_seq(bits)[0][:chips].astype(np.float64) * 2.0 - 1.0
        sos = butter(6, [low, high], btype="bandpass", fs=_MLS_CHIP_RATE, output="sos")
        x = sosfiltfilt(sos, seq)
        g = math.gcd(rate, _MLS_CHIP_RATE)
        x = resample_poly(x, rate // g, _MLS_CHIP_RATE // g)[:n]
        x = np.pad(x, (0, n - x.size))
    else:
        raise ValueError(f"unknown probe kind {kind!r}: use 'chirp' or 'mls'")
    x = _fade(np.asarray(x, dtype=np.float64), rate)
    x *= db_to_amplitude(level_dbfs) / math.sqrt(float(np.mean(x * x)))
    return np.clip(x, -1.0, 1.0).astype(np.float32)


def correlation_coefficients(
    sent: npt.NDArray[np.floating],
    received: npt.NDArray[np.floating],
    min_lag: int,
    max_lag: int,
) -> npt.NDArray[np.float64]:
    """rho[k - min_lag] for lags k in min_lag..max_lag: the correlation coefficient between
    `sent` and the received samples from k on (missing samples count as silence)."""
    x = np.asarray(sent, dtype=np.float64).reshape(-1)
    y = np.asarray(received, dtype=np.float64).reshape(-1)
    n = x.size
    lags = max_lag - min_lag + 1
    if n == 0 or lags <= 0:
        raise ValueError("need a non-empty probe and max_lag >= min_lag")
    # window[i] = received[min_lag + i], zero outside the received signal
    window = np.zeros(lags + n - 1, dtype=np.float64)
    first = max(min_lag, 0)
    last = min(y.size, min_lag + window.size)
    if last > first:
        window[first - min_lag : last - min_lag] = y[first:last]
    products = correlate(window, x, mode="valid", method="fft")
    energy = np.concatenate([[0.0], np.cumsum(window * window)])
    local = energy[n:] - energy[:-n]
    sent_energy = float(np.dot(x, x))
    if sent_energy <= 0.0:
        raise ValueError("the probe is silent")
    # below -80 dB of the probe's energy (or -120 dBFS) a window counts as silence
    floor = max(sent_energy * 1e-8, n * 1e-12)
    rho: npt.NDArray[np.float64] = products / np.sqrt(sent_energy * np.maximum(local, floor))
    return rho


def estimate_delay(
    sent: npt.NDArray[np.floating],
    received: npt.NDArray[np.floating],
    rate: int = 48000,
    max_delay_s: float = 1.0,
    min_delay_s: float = 0.0,
    min_correlation: float = DEFAULT_MIN_CORRELATION,
    min_peak_ratio: float = DEFAULT_MIN_PEAK_RATIO,
) -> DelayEstimate | None:
    """Delay of `sent` (the probe) inside `received`, both at `rate` and starting at the same
    instant; None when the probe is not found (see the rule above)."""
    if max_delay_s < min_delay_s:
        raise ValueError(f"max_delay_s {max_delay_s} < min_delay_s {min_delay_s}")
    lo = math.floor(min_delay_s * rate)
    hi = math.ceil(max_delay_s * rate)
    rho = np.abs(correlation_coefficients(sent, received, lo, hi))
    k = int(np.argmax(rho))
    peak = float(rho[k])
    offset = 0.0
    if 0 < k < rho.size - 1:
        a, b, c = float(rho[k - 1]), peak, float(rho[k + 1])
        curvature = a - 2.0 * b + c
        if curvature < 0.0:
            offset = 0.5 * (a - c) / curvature
    exclusion = max(1, round(PEAK_EXCLUSION_S * rate))
    rivals = np.concatenate([rho[: max(k - exclusion, 0)], rho[k + exclusion + 1 :]])
    rival = float(rivals.max()) if rivals.size else 0.0
    ratio = peak / rival if rival > 0.0 else math.inf
    if peak < min_correlation or ratio < min_peak_ratio:
        return None
    delay_ms = (lo + k + offset) * 1000.0 / rate
    return DelayEstimate(delay_ms=delay_ms, correlation=peak, peak_ratio=ratio)
