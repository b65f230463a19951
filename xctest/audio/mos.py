"""MOS-LQO by ITU-T P.862 PESQ (the `pesq` package) between a sent reference and received audio.

Owns pesq_mos(): resampling to the PESQ rate, coarse time alignment, and turning pesq's errors
into MediaError. Imports only numpy, scipy, pesq, the stdlib and sibling audio modules.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt
from scipy.signal import resample_poly

from xctest.audio.delay import estimate_delay
from xctest.errors import MediaError

PESQ_RATES = {"wb": 16000, "nb": 8000}
"""Rate each PESQ mode runs at: P.862.2 wide-band at 16 kHz, P.862 narrow-band at 8 kHz."""
ALIGN_MIN_CORRELATION = 0.1
"""Alignment is applied only when reference and degraded correlate at least this much."""


@dataclass(frozen=True)
class MosResult:
    """A PESQ score and the alignment applied before scoring."""

    mos: float
    """MOS-LQO: wb ~1.04-4.64, nb ~1.02-4.55 (P.862.1 / P.862.2 mappings)."""
    mode: str
    aligned_offset_ms: float | None
    """Delay of the degraded audio behind the reference that was removed before scoring (to
    the nearest PESQ-rate sample); None when no alignment was found and PESQ's own was used."""


def _resample(x: npt.NDArray[np.floating], rate: int, target: int) -> npt.NDArray[np.float64]:
    a = np.asarray(x, dtype=np.float64).reshape(-1)
    if rate == target:
        return a
    g = math.gcd(rate, target)
    out: npt.NDArray[np.float64] = resample_poly(a, target // g, rate // g)
    return out


def pesq_mos(
    reference: npt.NDArray[np.floating],
    degraded: npt.NDArray[np.floating],
    rate: int = 48000,
    mode: Literal["wb", "nb"] = "wb",
    max_offset_s: float = 1.0,
) -> MosResult:
    """PESQ MOS-LQO of `degraded` against `reference`, both mono at `rate`.

    Both are resampled to 16 kHz (wb) or 8 kHz (nb); the degraded signal is shifted by the lag
    (within +-max_offset_s) that best correlates it with the reference, then cut or padded to
    the reference's length. PESQ needs speech-like audio of a few seconds (8 s is ideal)."""
    if mode not in PESQ_RATES:
        raise ValueError(f"mode must be 'wb' or 'nb', got {mode!r}")
    fs = PESQ_RATES[mode]
    ref = _resample(reference, rate, fs)
    deg = _resample(degraded, rate, fs)
    if ref.size < fs // 4 or deg.size == 0:
        raise MediaError(
            f"PESQ needs at least 0.25 s of audio, got {ref.size / fs:.3f} s reference "
            f"and {deg.size / fs:.3f} s degraded"
        )
    if not np.all(np.isfinite(ref)) or not np.all(np.isfinite(deg)):
        raise MediaError("PESQ input contains NaN or infinity")
    if not np.any(ref):
        raise MediaError("PESQ reference is digital silence: nothing to compare with")
    if not np.any(deg):
        raise MediaError("PESQ degraded audio is digital silence: nothing was received")

    offset_ms: float | None = None
    found = estimate_delay(
        ref,
        deg,
        fs,
        max_delay_s=max_offset_s,
        min_delay_s=-max_offset_s,
        min_correlation=ALIGN_MIN_CORRELATION,
        min_peak_ratio=1.0,
    )
    if found is not None:
        lag = round(found.delay_ms * fs / 1000.0)
        deg = deg[lag:] if lag >= 0 else np.concatenate([np.zeros(-lag), deg])
        offset_ms = lag * 1000.0 / fs
    deg = np.pad(deg[: ref.size], (0, max(0, ref.size - deg.size)))

    try:
        import pesq  # imported on first use: a C extension
    except ImportError as e:
        raise MediaError("MOS needs the 'pesq' package (pip install pesq)") from e
    try:
        score = pesq.pesq(fs, ref.astype(np.float32), deg.astype(np.float32), mode)
    except (pesq.PesqError, ValueError, ArithmeticError) as e:
        detail = e.args[0] if e.args else ""
        text = detail.decode(errors="replace") if isinstance(detail, bytes) else str(e)
        raise MediaError(
            f"PESQ could not score the audio ({type(e).__name__}: {text}); it needs a few "
            "seconds of speech-like reference audio"
        ) from e
    return MosResult(mos=float(score), mode=mode, aligned_offset_ms=offset_ms)
