"""Streaming signature detection: which parties' tone pairs are audible, 20 ms frame by frame.

Owns the presence rule and presence(). Imports only numpy and the stdlib; no clocks: time is
the sample count since the detector's first sample.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from xctest.audio.signals import SILENCE_DBFS
from xctest.audio.signature import SIGNATURE_FREQS, Signature

# Theory of operation
# -------------------
# Samples are cut into back-to-back frames (20 ms = 960 samples at 48 kHz). Each frame is
# Hann-windowed and multiplied, in one matrix-vector product, by a precomputed cos/sin basis
# at every tone frequency f that matters and at probes f - 25 Hz and f + 25 Hz (a vectorised
# Goertzel). The tones measured are those of the watched signatures plus the whole signature
# grid. P(f) is scaled so that a sine of RMS level L dBFS at f reads L. A tone of a watched
# signature is present in a frame when all of these hold:
#
# 1. level: P(f) >= min_level_dbfs (default -45; a signature at -35 dBFS has tones at -38).
# 2. peak: P(f) >= P(f - 25 Hz) and P(f) >= P(f + 25 Hz): the spectrum peaks within 12.5 Hz
#    of f. A tone at f reads 1.4 dB less at a probe; any other tone more than 12.5 Hz away
#    reads more at the nearer probe than at f, so DTMF (>= 45 Hz off every grid tone), chirps
#    and speech harmonics that miss f are rejected however loud they are. Grid neighbours
#    (>= 120 Hz apart) leak < -31 dB into a probe: a party up to ~15 dB louder than the one
#    next to it on the grid cannot flip the test.
# 3. share: P(f) >= min_share x "rest", the frame's power (Hann-weighted, which cancels the
#    beating between tones >= 100 Hz apart) minus every *other* grid tone passing 1 and 2.
#    Removing the other parties makes a pair hold ~0.5 per tone whatever the conference mix;
#    broadband sound spreads out instead: white noise puts ~0.003 of its power in one bin at
#    48 kHz and ~0.02 band-limited to 4 kHz (G.711), speech-like audio <= 0.01 at grid pairs
#    (the high tone of every pair is >= 1986 Hz). Default 0.15: the worst noise frame seen
#    after G.711 held 0.06, a lone pair holds ~0.5, and the weakest party of an Opus-coded
#    three-way mix spanning 10 dB dipped to ~0.2.
# 4. dynamic range: P(f) >= min_frame_share x the whole frame's power (default 0.01, -20 dB).
#    Rule 3 alone would let the distortion products of one loud signature (clipping, G.711;
#    seen at ~-35 dB) pass once its own tones are removed. With rule 2, it bounds how much
#    quieter than the rest of a mix a party may be and still be heard: ~15 dB.
#
# A signature is present when both of its tones are. Codecs keep frequencies, so the rule
# survives G.711 and Opus; tests/unit/audio/test_detector.py proves each claim above.

PROBE_OFFSET_HZ = 25.0
"""Distance of the peak-test probes from each tone (half of it is the tolerance)."""
DEFAULT_MIN_SHARE = 0.15
"""Default minimum share of the frame's power, less other signatures' tones, per tone."""
DEFAULT_MIN_FRAME_SHARE = 0.01
"""Default minimum share of the whole frame's power per tone (-20 dB)."""

_POWER_FLOOR = 10.0 ** (SILENCE_DBFS / 10.0)


def frame_size(rate: int, frame_ms: int) -> int:
    """Samples in one `frame_ms` frame at `rate`; ValueError unless it is a whole number."""
    size = rate * frame_ms // 1000
    if size <= 0 or size * 1000 != rate * frame_ms:
        raise ValueError(f"{frame_ms} ms is not a whole number of samples at {rate} Hz")
    return size


def hann_window(size: int) -> npt.NDArray[np.float64]:
    """Periodic Hann window of `size` samples."""
    n = np.arange(size, dtype=np.float64)
    window: npt.NDArray[np.float64] = 0.5 - 0.5 * np.cos(2.0 * math.pi * n / size)
    return window


def sinusoid_basis(freqs: npt.NDArray[np.float64], size: int, rate: int) -> npt.NDArray[np.float64]:
    """(size, 2k) matrix: a cosine column per frequency, then a sine column per frequency."""
    n = np.arange(size, dtype=np.float64)
    phase = 2.0 * math.pi * np.outer(n, freqs) / rate
    return np.hstack([np.cos(phase), np.sin(phase)])


def tone_basis(freqs: npt.NDArray[np.float64], size: int, rate: int) -> npt.NDArray[np.float32]:
    """Hann-windowed sinusoid_basis, scaled so that tone_power(frame @ basis) reads, at each
    frequency, the power (A^2 / 2) of a sine of amplitude A at that frequency."""
    window = hann_window(size)
    scale = math.sqrt(2.0) / float(window.sum())
    basis = window[:, None] * sinusoid_basis(freqs, size, rate)
    return np.ascontiguousarray(basis * scale, dtype=np.float32)


def tone_power(products: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """Per frequency, cos^2 + sin^2 of `frames @ tone_basis(...)` (any leading axes)."""
    squares = products * products
    k = squares.shape[-1] // 2
    power: npt.NDArray[np.float32] = squares[..., :k] + squares[..., k:]
    return power


@dataclass(frozen=True)
class FrameAnalysis:
    """What one frame contained."""

    t: float
    """Start of the frame, in seconds since the detector's first sample."""
    rms_dbfs: float
    levels: dict[str, float]
    """Per signature name: the weaker of its two tone levels, dBFS."""
    present: frozenset[str]
    """Signatures judged present in this frame."""


class SignatureDetector:
    """Feed received audio in any chunks; get one FrameAnalysis per completed frame."""

    def __init__(
        self,
        signatures: Sequence[Signature],
        rate: int = 48000,
        frame_ms: int = 20,
        min_level_dbfs: float = -45.0,
        min_share: float = DEFAULT_MIN_SHARE,
        min_frame_share: float = DEFAULT_MIN_FRAME_SHARE,
    ) -> None:
        names = [s.name for s in signatures]
        if len(set(names)) != len(names):
            raise ValueError(f"signature names must be unique: {names}")
        size = frame_size(rate, frame_ms)
        top = rate / 2 - PROBE_OFFSET_HZ
        for s in signatures:
            if not all(PROBE_OFFSET_HZ < f < top for f in s.freqs) or s.freqs[0] == s.freqs[1]:
                raise ValueError(f"{s}: need two different tones in {PROBE_OFFSET_HZ}..{top} Hz")
        self.signatures = tuple(signatures)
        self._names = names
        self.rate = rate
        self.frame_size = size
        self.min_level_dbfs = min_level_dbfs
        self.min_share = min_share
        self.min_frame_share = min_frame_share
        self._min_level_power = 10.0 ** (min_level_dbfs / 10.0)

        watched = {f for s in self.signatures for f in s.freqs}
        # grid tones are always measured (see rule 3) unless a watched tone is close to one
        known = [g for g in SIGNATURE_FREQS if min((abs(g - f) for f in watched), default=1e9) > 60]
        tone_freqs = sorted(watched | set(known))
        tone_index = {f: i for i, f in enumerate(tone_freqs)}
        # per signature, the rows of its two tones in the tone table
        self._sig_tones = np.array(
            [[tone_index[f] for f in s.freqs] for s in self.signatures], dtype=np.intp
        ).reshape(len(self.signatures), 2)
        self._n_tones = len(tone_freqs)

        window = hann_window(size)
        # columns: tones, tones - probe, tones + probe; then the same again for sin.
        # float32 halves the product's cost and keeps ~1e-6 relative accuracy, far below
        # anything the rule compares.
        tones = np.array(tone_freqs, dtype=np.float64)
        probe_freqs = np.concatenate([tones, tones - PROBE_OFFSET_HZ, tones + PROBE_OFFSET_HZ])
        self._basis = tone_basis(probe_freqs, size, rate)
        # squares @ _stats = (mean square, Hann-weighted mean square)
        stats = np.stack([np.full(size, 1.0 / size), window / float(window.sum())], axis=1)
        self._stats = np.ascontiguousarray(stats, dtype=np.float32)
        self._buffer = np.zeros(size, dtype=np.float32)
        self._fill = 0
        self._frames = 0

    def __repr__(self) -> str:
        names = ",".join(s.name for s in self.signatures)
        return f"<SignatureDetector [{names}] {self.rate} Hz frames={self._frames}>"

    @property
    def frames(self) -> int:
        """Frames analysed so far."""
        return self._frames

    def reset(self) -> None:
        """Forget buffered samples and restart time at 0."""
        self._fill = 0
        self._frames = 0

    def feed(self, samples: npt.NDArray[np.floating]) -> list[FrameAnalysis]:
        """Add samples (any length); return the frames this chunk completed."""
        x = np.asarray(samples, dtype=np.float32).reshape(-1)
        out: list[FrameAnalysis] = []
        pos = 0
        while pos < x.size:
            take = min(self.frame_size - self._fill, x.size - pos)
            self._buffer[self._fill : self._fill + take] = x[pos : pos + take]
            self._fill += take
            pos += take
            if self._fill == self.frame_size:
                # always the same buffer, so results cannot depend on how input was chunked
                out.append(self._analyse(self._buffer))
                self._fill = 0
        return out

    def _analyse(self, frame: npt.NDArray[np.float32]) -> FrameAnalysis:
        t = self._frames * self.frame_size / self.rate
        self._frames += 1
        present, rms, weaker = self.analyse_frames(frame[None, :])
        levels = {
            name: 10.0 * math.log10(max(p, _POWER_FLOOR))
            for name, p in zip(self._names, weaker[0].tolist(), strict=True)
        }
        names = frozenset(itertools.compress(self._names, present[0].tolist()))
        return FrameAnalysis(t=t, rms_dbfs=float(rms[0]), levels=levels, present=names)

    def analyse_frames(
        self, frames: npt.NDArray[np.float32]
    ) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.float64], npt.NDArray[np.float32]]:
        """The rules on ``(legs, frame_size)`` frames at once: per leg and signature, present
        or not; per leg the RMS in dBFS; per leg and signature the weaker tone's power."""
        stats = (frames * frames) @ self._stats  # (legs, 2): mean square, Hann mean square
        mean_square, frame_power = stats[:, 0].astype(np.float64), stats[:, 1]
        # the floor is SILENCE_DBFS, so silence reads exactly that
        rms = 10.0 * np.log10(np.maximum(mean_square, _POWER_FLOOR))
        power = tone_power(frames @ self._basis)  # (legs, 3k)
        k = self._n_tones
        centre, below, above = power[:, :k], power[:, k : 2 * k], power[:, 2 * k :]
        floor = np.maximum(np.maximum(below, above), self._min_level_power)
        heard = centre * (centre >= floor)  # rules 1 and 2; 0 for tones not heard
        pair = heard[:, self._sig_tones]  # (legs, signatures, 2)
        # rule 3: power left once the *other* heard tones are taken out of the frame
        rest = (frame_power - heard.sum(axis=1))[:, None] + pair.sum(axis=2)
        # rules 3 and 4
        frame_need = np.maximum(self.min_frame_share * frame_power, _POWER_FLOOR)[:, None]
        needed = np.maximum(self.min_share * rest, frame_need)
        present = (pair >= needed[:, :, None]).all(axis=2)
        weaker = centre[:, self._sig_tones].min(axis=2)
        return present, rms, weaker


def presence(
    analyses: Sequence[FrameAnalysis], name: str, t0: float = 0.0, t1: float = math.inf
) -> float:
    """Fraction of the frames starting in [t0, t1) in which `name` is present (0.0 if none)."""
    window = [a for a in analyses if t0 <= a.t < t1]
    if not window:
        return 0.0
    return sum(name in a.present for a in window) / len(window)
