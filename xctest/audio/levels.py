"""Levels: RMS dBFS per frame, silence, clipping, a streaming many-leg level meter, and the
"non-signature audio" (music-on-hold) measure.

Levels are RMS dBFS (a full-scale sine is -3.01). Imports only numpy, the stdlib and sibling audio
modules; per-leg state lives in arrays, never in per-leg objects.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from xctest.audio.detector import (
    PROBE_OFFSET_HZ,
    frame_size,
    hann_window,
    tone_basis,
    tone_power,
)
from xctest.audio.signals import SILENCE_DBFS
from xctest.audio.signature import SIGNATURE_FREQS

DEFAULT_SILENCE_DBFS = -55.0
"""A frame quieter than this is silence (G.711 idle noise is ~-80 dBFS, speech -35 to -10)."""
DEFAULT_CLIP_THRESHOLD = 0.98
"""|x| at or above this is at full scale: covers the float and int16 rails and the top G.711
codes (mu-law 32124 / 32768 = 0.9804, A-law 32256 / 32768 = 0.9844)."""
DEFAULT_MIN_CLIP_RUN = 3
"""Consecutive full-scale samples of one sign that make a clipped run."""
DEFAULT_NON_SIGNATURE_DBFS = -45.0
"""Default floor of the non-signature residual (same as the signature detector's tone floor)."""
DEFAULT_NON_SIGNATURE_SHARE = 0.05
"""Default minimum share of a frame's power left unexplained by signature tones (-13 dB)."""
DEFAULT_PRESENCE = 0.5
"""Default share of frames that must carry non-signature audio for it to be present."""

_POWER_FLOOR = 10.0 ** (SILENCE_DBFS / 10.0)


def _db(power: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Power to dBFS, floored at SILENCE_DBFS."""
    floored = np.maximum(power, _POWER_FLOOR)
    out: npt.NDArray[np.float64] = np.where(
        power > _POWER_FLOOR, 10.0 * np.log10(floored), SILENCE_DBFS
    )
    return out


def _framed(x: npt.NDArray[np.floating], size: int) -> npt.NDArray[np.float32]:
    """(..., n) -> (..., n // size, size), dropping the incomplete last frame."""
    a = np.asarray(x, dtype=np.float32)
    count = a.shape[-1] // size
    return a[..., : count * size].reshape(*a.shape[:-1], count, size)


def level_dbfs(
    x: npt.NDArray[np.floating], rate: int = 48000, frame_ms: int = 20
) -> npt.NDArray[np.float64]:
    """RMS dBFS of each whole frame: (n,) -> (frames,), (legs, n) -> (legs, frames)."""
    frames = _framed(x, frame_size(rate, frame_ms)).astype(np.float64)
    return _db(np.mean(frames * frames, axis=-1))


def is_silent(
    x: npt.NDArray[np.floating],
    floor_dbfs: float = DEFAULT_SILENCE_DBFS,
    rate: int = 48000,
    frame_ms: int = 20,
) -> bool:
    """True when every frame (the whole signal if shorter than a frame) is below `floor_dbfs`."""
    a = np.asarray(x, dtype=np.float64).reshape(-1)
    levels = level_dbfs(a, rate, frame_ms)
    if levels.size == 0:
        levels = _db(np.array([np.mean(a * a)])) if a.size else np.array([SILENCE_DBFS])
    return bool(levels.max() < floor_dbfs)


# --- clipping ---------------------------------------------------------------------------------


def _clip_runs(
    x: npt.NDArray[np.float32],
    threshold: float,
    min_run: int,
    carry_sign: npt.NDArray[np.int8],
    carry_len: npt.NDArray[np.int64],
) -> tuple[npt.NDArray[np.int64], ...]:
    """Per row of (legs, n): full-scale samples, clipped samples, new runs, longest run, and the
    sign and length of the run still open at the end (runs may continue from `carry_*`)."""
    legs, n = x.shape
    width = n + 2
    # per row: the sign of the run carried in, the samples' rail signs, then a 0 that ends
    # every run at the row's end (so no run spans two rows of the flattened array)
    signs = np.zeros((legs, width), dtype=np.int8)
    signs[:, 0] = carry_sign
    np.greater_equal(x, threshold, out=signs[:, 1:-1], casting="unsafe")
    signs[:, 1:-1] -= (x <= -threshold).view(np.int8)
    flat = signs.reshape(-1)
    edges = np.flatnonzero(flat[1:] != flat[:-1]) + 1
    starts = np.concatenate([[0], edges])
    ends = np.concatenate([edges, [flat.size]])
    value = flat[starts]
    hot = value != 0
    starts, ends, value = starts[hot], ends[hot], value[hot]
    row = starts // width
    from_carry = starts % width == 0
    before = np.where(from_carry, carry_len[row], 0)
    total = ends - starts - from_carry + before
    counted_now = np.where(total >= min_run, total, 0)
    counted_before = np.where(before >= min_run, before, 0)

    def per_row(weights: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
        return np.bincount(row, weights, minlength=legs).round().astype(np.int64)

    full_scale = per_row(total - before)
    clipped = per_row(counted_now - counted_before)
    runs = per_row(((total >= min_run) & (before < min_run)).astype(np.int64))
    longest = np.zeros(legs, dtype=np.int64)
    if row.size:
        first = np.flatnonzero(np.concatenate([[True], row[1:] != row[:-1]]))
        longest[row[first]] = np.maximum.reduceat(total, first)
    still_open = ends == (row + 1) * width - 1
    end_sign = np.zeros(legs, dtype=np.int64)
    end_len = np.zeros(legs, dtype=np.int64)
    end_sign[row[still_open]] = value[still_open]
    end_len[row[still_open]] = total[still_open]
    return full_scale, clipped, runs, longest, end_sign, end_len


@dataclass(frozen=True)
class Clipping:
    """Samples at full scale, and those in runs of `min_run` or more at the same rail."""

    total: int
    full_scale: int
    """Samples with |x| >= threshold."""
    clipped: int
    """Samples inside runs of >= min_run consecutive full-scale samples of one sign."""
    runs: int
    longest_run: int

    @property
    def fraction(self) -> float:
        """clipped / total (0.0 for no samples)."""
        return self.clipped / self.total if self.total else 0.0


def clipping(
    x: npt.NDArray[np.floating],
    threshold: float = DEFAULT_CLIP_THRESHOLD,
    min_run: int = DEFAULT_MIN_CLIP_RUN,
) -> Clipping:
    """Clipping statistics of a mono signal."""
    if min_run < 1 or not 0 < threshold <= 1:
        raise ValueError(f"need min_run >= 1 and 0 < threshold <= 1, got {min_run}, {threshold}")
    a = np.asarray(x, dtype=np.float32).reshape(1, -1)
    zero = np.zeros(1, dtype=np.int64)
    full, clipped, runs, longest, _, _ = _clip_runs(
        a, threshold, min_run, zero.astype(np.int8), zero
    )
    return Clipping(a.shape[1], int(full[0]), int(clipped[0]), int(runs[0]), int(longest[0]))


def clipped_fraction(
    x: npt.NDArray[np.floating],
    threshold: float = DEFAULT_CLIP_THRESHOLD,
    min_run: int = DEFAULT_MIN_CLIP_RUN,
) -> float:
    """Fraction of samples inside clipped runs (see clipping())."""
    return clipping(x, threshold, min_run).fraction


# --- streaming meter ---------------------------------------------------------------------------


class LevelMeter:
    """Streaming levels of many legs at once: feed (legs, n) chunks, or (n,) for one leg.

    feed() returns the RMS dBFS of each frame it completed; the properties give, per leg, totals
    since the last reset as arrays of shape (legs,)."""

    def __init__(
        self,
        legs: int = 1,
        rate: int = 48000,
        frame_ms: int = 20,
        silence_dbfs: float = DEFAULT_SILENCE_DBFS,
        clip_threshold: float = DEFAULT_CLIP_THRESHOLD,
        min_clip_run: int = DEFAULT_MIN_CLIP_RUN,
    ) -> None:
        if legs < 1 or min_clip_run < 1 or not 0 < clip_threshold <= 1:
            raise ValueError("need legs >= 1, min_clip_run >= 1 and 0 < clip_threshold <= 1")
        self.legs = legs
        self.rate = rate
        self.frame_size = frame_size(rate, frame_ms)
        self.silence_dbfs = silence_dbfs
        self.clip_threshold = clip_threshold
        self.min_clip_run = min_clip_run
        self._buffer = np.zeros((legs, self.frame_size), dtype=np.float32)
        self.reset()

    def __repr__(self) -> str:
        return f"<LevelMeter legs={self.legs} {self.rate} Hz samples={self._samples}>"

    def reset(self) -> None:
        """Forget everything, including buffered samples."""
        legs = self.legs
        self._fill = 0
        self._samples = 0
        self._frames = 0
        self._energy = np.zeros(legs, dtype=np.float64)
        self._peak = np.zeros(legs, dtype=np.float32)
        self._last = np.full(legs, SILENCE_DBFS)
        self._loudest = np.full(legs, SILENCE_DBFS)
        self._silent_frames = np.zeros(legs, dtype=np.int64)
        self._full_scale = np.zeros(legs, dtype=np.int64)
        self._clipped = np.zeros(legs, dtype=np.int64)
        self._runs = np.zeros(legs, dtype=np.int64)
        self._longest = np.zeros(legs, dtype=np.int64)
        self._run_sign = np.zeros(legs, dtype=np.int8)
        self._run_len = np.zeros(legs, dtype=np.int64)

    def feed(self, samples: npt.NDArray[np.floating]) -> npt.NDArray[np.float64]:
        """Add a chunk; return (legs, frames completed) frame levels in dBFS."""
        x = np.asarray(samples, dtype=np.float32)
        if x.ndim == 1 and self.legs == 1:
            x = x[None, :]
        if x.ndim != 2 or x.shape[0] != self.legs:
            raise ValueError(f"expected ({self.legs}, n) samples, got shape {x.shape}")
        self._samples += x.shape[1]
        if x.shape[1]:
            top = np.maximum(x.max(axis=1), -x.min(axis=1))
            np.maximum(self._peak, top, out=self._peak)
            # only legs at full scale now, or with a run open from the last chunk, can change
            rows = np.flatnonzero((top >= self.clip_threshold) | (self._run_len > 0))
            if rows.size:
                self._count_clipping(x[rows], rows)

        if self._fill:
            x = np.concatenate([self._buffer[:, : self._fill], x], axis=1)
        frames = _framed(x, self.frame_size)
        used = frames.shape[1] * self.frame_size
        self._fill = x.shape[1] - used
        self._buffer[:, : self._fill] = x[:, used:]
        energy = np.einsum("lfn,lfn->lf", frames, frames).astype(np.float64)
        levels = _db(energy / self.frame_size)
        if levels.shape[1]:
            self._frames += levels.shape[1]
            self._energy += energy.sum(axis=1)
            self._last = levels[:, -1].copy()
            np.maximum(self._loudest, levels.max(axis=1), out=self._loudest)
            self._silent_frames += (levels < self.silence_dbfs).sum(axis=1)
        return levels

    def _count_clipping(self, x: npt.NDArray[np.float32], rows: npt.NDArray[np.intp]) -> None:
        full, clipped, runs, longest, sign, length = _clip_runs(
            x, self.clip_threshold, self.min_clip_run, self._run_sign[rows], self._run_len[rows]
        )
        self._full_scale[rows] += full
        self._clipped[rows] += clipped
        self._runs[rows] += runs
        self._longest[rows] = np.maximum(self._longest[rows], longest)
        self._run_sign[rows] = sign
        self._run_len[rows] = length

    @property
    def samples(self) -> int:
        """Samples fed per leg."""
        return self._samples

    @property
    def frames(self) -> int:
        """Frames completed per leg."""
        return self._frames

    @property
    def rms_dbfs(self) -> npt.NDArray[np.float64]:
        """RMS dBFS of all completed frames (SILENCE_DBFS before the first)."""
        return _db(self._energy / max(self._frames * self.frame_size, 1))

    @property
    def peak(self) -> npt.NDArray[np.float32]:
        """Largest |sample| (1.0 = full scale)."""
        return self._peak.copy()

    @property
    def last_dbfs(self) -> npt.NDArray[np.float64]:
        """Level of the last completed frame (SILENCE_DBFS before the first)."""
        return self._last.copy()

    @property
    def loudest_dbfs(self) -> npt.NDArray[np.float64]:
        """Level of the loudest completed frame."""
        return self._loudest.copy()

    @property
    def silent(self) -> npt.NDArray[np.bool_]:
        """Every completed frame was below silence_dbfs (what is_silent() says)."""
        out: npt.NDArray[np.bool_] = self._loudest < self.silence_dbfs
        return out

    @property
    def silent_frames(self) -> npt.NDArray[np.int64]:
        """Completed frames below silence_dbfs."""
        return self._silent_frames.copy()

    @property
    def full_scale(self) -> npt.NDArray[np.int64]:
        """Samples with |x| >= clip_threshold."""
        return self._full_scale.copy()

    @property
    def clipped(self) -> npt.NDArray[np.int64]:
        """Samples inside clipped runs (runs may span chunks)."""
        return self._clipped.copy()

    @property
    def clip_runs(self) -> npt.NDArray[np.int64]:
        """Clipped runs seen (counted when they reach min_clip_run samples)."""
        return self._runs.copy()

    @property
    def longest_clip_run(self) -> npt.NDArray[np.int64]:
        """Longest run of full-scale samples of one sign."""
        return self._longest.copy()


# --- non-signature audio -----------------------------------------------------------------------
#
# Rule: in each 20 ms Hann-windowed frame, every tone of the signature grid that the signature
# detector would hear (rules 1 and 2 of detector.py: >= -45 dBFS and a spectral peak within
# 12.5 Hz) is removed from the frame's power. What is left is non-signature audio when it is
# >= floor_dbfs (-45) and >= min_share (0.05, -13 dB) of the frame's power. The relative test
# keeps a signature's own G.711 distortion (~-35 dB) and the Opus coding error of a three-party
# mix (up to ~-14 dB) out; the price is that audio more than ~10 dB below the signatures in a
# mix is not reliably reported. Anything else counts: music,
# speech, noise, DTMF and call-progress tones are all "non-signature audio".


@dataclass(frozen=True)
class NonSignatureAudio:
    """How much of a signal is audio that no signature tone explains."""

    frames: int
    active: int
    """Frames whose residual passes the floor and share tests."""
    level_dbfs: float
    """Power-mean residual level over the active frames (SILENCE_DBFS if none)."""
    present: bool
    """active / frames >= the presence threshold."""

    @property
    def share(self) -> float:
        """active / frames (0.0 without frames)."""
        return self.active / self.frames if self.frames else 0.0


def non_signature_power(
    x: npt.NDArray[np.floating],
    rate: int = 48000,
    frame_ms: int = 20,
    min_tone_dbfs: float = -45.0,
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Per frame, (residual power, Hann-weighted frame power): (n,) -> (frames,) each,
    (legs, n) -> (legs, frames) each. The residual has every heard grid tone removed."""
    size = frame_size(rate, frame_ms)
    grid = np.array(SIGNATURE_FREQS, dtype=np.float64)
    k = grid.size
    probes = np.concatenate([grid, grid - PROBE_OFFSET_HZ, grid + PROBE_OFFSET_HZ])
    basis = tone_basis(probes, size, rate)
    window = hann_window(size)
    weights = (window / window.sum()).astype(np.float32)
    frames = _framed(x, size)
    power = tone_power(frames @ basis).astype(np.float64)
    centre, below, above = power[..., :k], power[..., k : 2 * k], power[..., 2 * k :]
    floor = np.maximum(np.maximum(below, above), 10.0 ** (min_tone_dbfs / 10.0))
    heard = np.where(centre >= floor, centre, 0.0).sum(axis=-1)
    total = (np.square(frames) @ weights).astype(np.float64)
    return np.maximum(total - heard, 0.0), total


def non_signature_audio(
    x: npt.NDArray[np.floating],
    rate: int = 48000,
    floor_dbfs: float = DEFAULT_NON_SIGNATURE_DBFS,
    min_share: float = DEFAULT_NON_SIGNATURE_SHARE,
    presence: float = DEFAULT_PRESENCE,
    frame_ms: int = 20,
) -> NonSignatureAudio:
    """Is there audio (music on hold, speech, noise ...) that signature tones do not explain?"""
    residual, total = non_signature_power(np.asarray(x).reshape(-1), rate, frame_ms)
    active = (residual >= 10.0 ** (floor_dbfs / 10.0)) & (residual >= min_share * total)
    count = int(active.sum())
    level = float(_db(np.array([residual[active].mean()]))[0]) if count else SILENCE_DBFS
    frames = int(residual.size)
    return NonSignatureAudio(frames, count, level, frames > 0 and count >= presence * frames)
