"""DTMF: the ITU-T Q.23 key table, a digit-string generator and a streaming receiver that
checks Q.24-style acceptance rules for one leg or for many legs at once.

Owns dtmf_tones(), DtmfDigit, DtmfBatchDetector and DtmfDetector. Imports only numpy and the
stdlib; no clocks: time is the sample count since the detector's first sample.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from xctest.audio.detector import hann_window, tone_basis
from xctest.audio.signals import db_to_amplitude, sample_count
from xctest.audio.signature import DTMF_FREQS

# Theory of operation
# -------------------
# Input at 16-48 kHz is first low-passed (Kaiser-windowed sinc, 121 taps at 48 kHz: flat
# within 0.05 dB to 3.4 kHz, >= 53 dB down from 4.65 kHz) and decimated to 8 kHz, in one
# matrix product per call for all legs; its 1.25 ms delay is taken off the timestamps.
# Everything above 4 kHz is thereby ignored. At 8 kHz, every 5 ms, the last 20 ms (160
# samples) form a frame: one matrix product per frame position, for all legs, projects the
# frames onto Hann-windowed cos/sin columns (a vectorised Goertzel) at f - 50, f, f + 50 Hz
# for each DTMF frequency f and at 2f; 50 Hz is one bin of a 20 ms window. Per frame and f:
# - offset: a = sqrt(P(f +- 50) / P(f)) with the larger neighbour gives the tone's distance
#   from f, d = (2a - 1) / (a + 1) bins (exact for a Hann window), signed by that neighbour;
# - tone power: P(f) / H(d)^2, H(d) = sinc(d) / (1 - d^2) the Hann response d bins off;
# - band power: (P(f - 50) + P(f) + P(f + 50)) / 1.5, which holds a steady tone's power
#   whatever its offset (within 2 %) and most of a tone cut off inside the frame.
# The strongest low-group and strongest high-group tone are the frame's candidate digit,
# valid when all of these hold:
#
# 1. level: each tone >= min_level_dbfs (default -46 dBFS).
# 2. frequency: each tone within max_deviation of nominal (default 2.5 %: Q.24 asks for
#    operation within 1.5 % and rejection beyond 3.5 %; 1 % either side is 7 Hz at 697 Hz,
#    against estimation noise of ~1-2 Hz at 15 dB SNR).
# 3. twist: high-group minus low-group level between -max_reverse_twist_db (default -10)
#    and +max_forward_twist_db (default +6): operate at -8 / +4 dB, reject at -12 / +8 dB.
# 4. energy ratio (talk-off): the two tones' band powers hold >= min_tone_share (default
#    0.93) of the frame's Hann-weighted power. A digit in white noise at 15 dB SNR (noise
#    over 0-4 kHz) holds 0.97 on average and 0.934 at the worst of ~13,000 frames measured;
#    voiced speech and chords spread their power over many harmonics. On one hour of
#    speech_like() (seeds 2000-2059) 0.93 gave no false digit, 0.9 gave 7 and 0.8 gave 27.
# 5. second harmonic (talk-off): the power at 2f_high, plus at 2f_low when that is >= 150 Hz
#    from f_high, is >= harmonic_margin_db (default 20 dB) below the two tones' power. For
#    2, 3, 6, B and C, 2f_low lies 58-93 Hz from f_high, inside that tone's main lobe. Pure
#    DTMF, even through G.711 or Opus, has harmonics below -30 dB.
# 6. octave (talk-off): for 2, 6 and C, f_high is 4.3 % below 2f_low, so a musical note and
#    its octave can pass rules 1-5 with offsets inside 2.5 %. The measured f_high must not be
#    within octave_tolerance (0.6 %) of twice the measured f_low; at the +-1.5 % corners a
#    real digit keeps >= 1.2 %.
#
# Frames showing the same valid digit form a run; up to max_dropout_ms (default 15 ms, three
# frames) of frames without it inside a run are bridged, so an interruption of up to 10 ms
# (which spoils the frames overlapping it) does not split a digit, while one of 20 ms does.
# A run ends when another digit is valid or the dropout is longer. With the tone amplitude
# a (sum of both tones' RMS):
#     core = 5 ms x sum(a over the frames that passed) / max(a)
# is how long the tone passed every rule. A run is a digit when core >= min_duration_ms
# (default 22 ms). Q.24 asks for operation at 40 ms and rejection below 23 ms. Frames whose
# window overlaps the tone by less than about three quarters fail rules 2 or 4, so core is
# shorter than the tone: over 4,800 digits at 15 dB SNR with the level, twist and frequency
# corners, 28-35 ms for 40 ms tones (once 24 ms) and at most 19.4 ms for 23 ms tones (a bound
# set by the window, not by noise); 22 ms sits between the two. For timing, the two frames
# before and after the run (centres up to 10 ms outside the tone) and the bridged frames are
# added: with a 20 ms Hann window slid by a quarter of its length, every sample of a steady
# tone then counts equally, so
#     duration = 5 ms x sum(a) / max(a),  centre = sum(t x a) / sum(a)
# (t the frame centres), and start, end = centre -+ duration / 2, within ~1 ms for clean
# tones. A 40 ms pause leaves >= 4 frames whose window holds no tone at all (the frames
# overlapping it partly fail too, unless in digital silence), so it always ends a run.
#
# Cost per leg and 20 ms of 48 kHz audio: (960 x 8) products with the 4 decimation matrices,
# four (160 x 64) products and ~50 numpy operations on (frames, legs) arrays.

DTMF_KEYS = "123A456B789C*0#D"
"""Keys row by row: key i has low tone DTMF_FREQS[i // 4] and high tone DTMF_FREQS[4 + i % 4]."""
DTMF_TABLE: dict[str, tuple[float, float]] = {
    key: (DTMF_FREQS[i // 4], DTMF_FREQS[4 + i % 4]) for i, key in enumerate(DTMF_KEYS)
}
"""Key -> (low, high) frequencies in Hz, ITU-T Q.23."""

_BLOCK_MS = 5
"""Hop between analysis frames."""
_FRAME_MS = 20
"""Analysis frame (Hann window) length: four blocks."""
_BIN_HZ = 1000 // _FRAME_MS  # 50 Hz: one bin of a 20 ms window
_LOW_GUARD_HZ = 150.0
_MIN_BINS = 1e-3
_MAX_BINS = 0.95
_RATE = 8000
"""Analysis rate: other rates are low-passed and decimated to it first."""
_HOP = _RATE * _BLOCK_MS // 1000
_FRAME = _RATE * _FRAME_MS // 1000
_DECIMATION_BLOCK = 8
"""Output samples per decimation product (1 ms)."""
_DECIMATION_DELAY = 10
"""Group delay of the decimation filter in 8 kHz samples (1.25 ms)."""
_EDGE_FRAMES = _FRAME_MS // 2 // _BLOCK_MS
"""Frames centred outside a tone whose window still overlaps it."""
_POWER_FLOOR = 1e-20
DTMF_RATES = (8000, 16000, 24000, 32000, 48000)
"""Input rates the detectors accept."""


def _decimator(factor: int) -> npt.NDArray[np.float32]:
    """(P + 1, factor x 8, 8) block matrices G_p of a Kaiser-windowed low-pass (cut-off
    4 kHz; flat within 0.05 dB to 3.4 kHz, >= 53 dB down from 4.65 kHz) decimating by
    `factor`: output sample 8j + r is the sum over p of (input chunk j - p) @ G_p[:, r]."""
    taps = 2 * factor * _DECIMATION_DELAY + 1
    n = np.arange(taps) - (taps - 1) / 2.0
    cutoff = 0.5 / factor
    h = 2.0 * cutoff * np.sinc(2.0 * cutoff * n) * np.kaiser(taps, 5.0)
    h /= h.sum()
    step = _DECIMATION_BLOCK * factor
    blocks = (taps - 2) // step + 2
    q = np.arange(step)[:, None]
    r = np.arange(_DECIMATION_BLOCK)[None, :]
    g = np.zeros((blocks, step, _DECIMATION_BLOCK))
    for p in range(blocks):
        t = factor * r + step * p - q  # tap index linking input q of block j - p to output r
        inside = (t >= 0) & (t < taps)
        g[p][inside] = h[t[inside]]
    return np.ascontiguousarray(g, dtype=np.float32)


@dataclass(frozen=True)
class DtmfDigit:
    """One received digit; times in seconds since the detector's first sample."""

    digit: str
    start: float
    end: float

    @property
    def duration(self) -> float:
        """Measured tone duration in seconds."""
        return self.end - self.start


def dtmf_tones(
    digits: str,
    rate: int = 48000,
    tone_ms: float = 70.0,
    pause_ms: float = 70.0,
    level_dbfs: float = -10.0,
    twist_db: float = 0.0,
    freq_offset: float = 0.0,
) -> npt.NDArray[np.float32]:
    """Each digit as `tone_ms` of its two Q.23 tones then `pause_ms` of silence (digit i
    starts at i x (tone_ms + pause_ms)). The tones are at level_dbfs -+ twist_db / 2 (low,
    high: positive twist = high group louder) and at (1 + freq_offset) x nominal frequency."""
    tone_n = sample_count(tone_ms / 1000.0, rate)
    pause_n = sample_count(pause_ms / 1000.0, rate)
    n = np.arange(tone_n, dtype=np.float64)
    low_amp = math.sqrt(2.0) * db_to_amplitude(level_dbfs - twist_db / 2.0)
    high_amp = math.sqrt(2.0) * db_to_amplitude(level_dbfs + twist_db / 2.0)
    out = np.zeros(len(digits) * (tone_n + pause_n), dtype=np.float64)
    for i, key in enumerate(digits.upper()):
        if key not in DTMF_TABLE:
            raise ValueError(f"not a DTMF key: {key!r} in {digits!r}")
        low, high = (f * (1.0 + freq_offset) for f in DTMF_TABLE[key])
        start = i * (tone_n + pause_n)
        out[start : start + tone_n] = low_amp * np.sin(2.0 * math.pi * low * n / rate)
        out[start : start + tone_n] += high_amp * np.sin(2.0 * math.pi * high * n / rate)
    return np.clip(out, -1.0, 1.0).astype(np.float32)


_Floats = npt.NDArray[np.float32] | npt.NDArray[np.float64]


@dataclass(frozen=True)
class _Measured:
    """Per frame and leg (frame-major): the 8 tones' power, band power and relative
    frequency deviation, the power at their second harmonics, and the frame's Hann-weighted
    power."""

    tone_power: _Floats
    deviation: _Floats
    harmonic: _Floats
    frame_power: _Floats
    band_power: _Floats


class _Workspace:
    """Arrays for feeds of `count` blocks, reused while the count repeats: at a thousand
    legs, fresh arrays of this size cost more in page faults than the arithmetic."""

    def __init__(self, legs: int, count: int, factor: int, groups: int, columns: int) -> None:
        self.count = count
        chunks = count * _HOP // _DECIMATION_BLOCK
        self.signal = np.zeros((legs, _FRAME - _HOP + count * _HOP), dtype=np.float32)
        self.squares = np.zeros_like(self.signal)
        self.products = np.zeros((count, legs, columns), dtype=np.float32)
        self.power = np.zeros((count, legs, columns // 2), dtype=np.float32)
        self.frame_power = np.zeros((count, legs), dtype=np.float32)
        self.decimation = np.zeros((groups, legs * chunks, _DECIMATION_BLOCK), dtype=np.float32)
        self.narrow = np.zeros((legs, chunks, _DECIMATION_BLOCK), dtype=np.float32)
        step = _DECIMATION_BLOCK * factor
        self.chunks = np.zeros((legs * chunks if factor > 1 else 0, step), dtype=np.float32)


class DtmfBatchDetector:
    """DTMF receiver for `legs` synchronous streams: feed (legs, n) blocks of any n; get
    (leg, digit) for every digit that ended. Per-leg state lives in arrays, and each call
    analyses all legs with the same few matrix products.

    The keyword arguments are the thresholds of the rules in the theory of operation above;
    the defaults are the ones docs/audio-dtmf.md and tests/unit/audio/test_dtmf.py measure.
    """

    def __init__(
        self,
        legs: int,
        rate: int = 48000,
        *,
        min_level_dbfs: float = -46.0,
        max_deviation: float = 0.025,
        max_forward_twist_db: float = 6.0,
        max_reverse_twist_db: float = 10.0,
        min_tone_share: float = 0.93,
        harmonic_margin_db: float = 20.0,
        octave_tolerance: float = 0.006,
        min_duration_ms: float = 22.0,
        max_dropout_ms: float = 15.0,
    ) -> None:
        if legs < 1:
            raise ValueError(f"need at least one leg, got {legs}")
        if rate not in DTMF_RATES:
            raise ValueError(f"rate must be one of {DTMF_RATES}, got {rate}")
        self.legs = legs
        self.rate = rate
        self.block_size = rate * _BLOCK_MS // 1000
        self.min_level_dbfs = min_level_dbfs
        self.max_deviation = max_deviation
        self.max_forward_twist_db = max_forward_twist_db
        self.max_reverse_twist_db = max_reverse_twist_db
        self.min_tone_share = min_tone_share
        self.harmonic_margin_db = harmonic_margin_db
        self.octave_tolerance = octave_tolerance
        self.min_duration_ms = min_duration_ms
        self.max_dropout_ms = max_dropout_ms
        self._min_power = 10.0 ** (min_level_dbfs / 10.0)
        self._max_dropout = int(max_dropout_ms // _BLOCK_MS)
        self._twist_hi = 10.0 ** (max_forward_twist_db / 10.0)
        self._twist_lo = 10.0 ** (-max_reverse_twist_db / 10.0)
        self._harmonic = 10.0 ** (-harmonic_margin_db / 10.0)

        tones = np.array(DTMF_FREQS)
        self._factor = rate // _RATE
        self._decimator = _decimator(self._factor) if self._factor > 1 else None
        self._delay = _DECIMATION_DELAY / _RATE if self._factor > 1 else 0.0
        # Hann outputs at f - 50, f, f + 50 per tone, then 2f
        freqs = np.concatenate([tones - _BIN_HZ, tones, tones + _BIN_HZ, 2.0 * tones])
        self._basis = tone_basis(freqs, _FRAME, _RATE)
        window = hann_window(_FRAME)
        self._hann = (window / window.sum()).astype(np.float32)

        self._tone_hz = tones.astype(np.float32)
        self._low_checked = np.array(
            [[abs(2.0 * DTMF_FREQS[r] - DTMF_FREQS[4 + c]) >= _LOW_GUARD_HZ for c in range(4)]
             for r in range(4)]
        )  # fmt: skip
        self.reset()

    def __repr__(self) -> str:
        return f"<DtmfBatchDetector legs={self.legs} {self.rate} Hz t={self.time:.3f} s>"

    @property
    def time(self) -> float:
        """Seconds of audio fed so far (per leg)."""
        return (self._blocks * self.block_size + self._fill) / self.rate

    def reset(self) -> None:
        """Forget all audio and open runs; time restarts at 0."""
        legs = self.legs
        self._pending = np.zeros((legs, self.block_size), dtype=np.float32)
        self._fill = 0
        self._blocks = 0  # complete blocks analysed
        self._tail = np.zeros((legs, _FRAME - _HOP), dtype=np.float32)
        self._work: _Workspace | None = None
        if self._decimator is not None:
            groups = self._decimator.shape[0]
            self._partial = np.zeros((groups, legs, groups - 1, _DECIMATION_BLOCK),
                                     dtype=np.float32)  # fmt: skip
        self._run = np.full(legs, -1, dtype=np.int64)
        self._sum_a = np.zeros(legs)
        self._core_a = np.zeros(legs)
        self._sum_ta = np.zeros(legs)
        self._peak = np.zeros(legs)
        self._misses = np.zeros(legs, dtype=np.int64)
        self._pending_a = np.zeros(legs)
        self._pending_ta = np.zeros(legs)
        self._edge_a = np.zeros(legs)
        self._edge_ta = np.zeros(legs)
        self._amplitude_history = np.zeros((_EDGE_FRAMES, legs, 8), dtype=np.float32)

    def feed(self, block: npt.NDArray[np.floating]) -> list[tuple[int, DtmfDigit]]:
        """Add (legs, n) samples (any n); return (leg, digit) for digits that ended, in order
        of detection."""
        x = np.asarray(block, dtype=np.float32)
        if x.ndim != 2 or x.shape[0] != self.legs:
            raise ValueError(f"expected shape ({self.legs}, n), got {x.shape}")
        size = self.block_size
        if self._fill:
            x = np.concatenate([self._pending[:, : self._fill], x], axis=1)
        whole = x.shape[1] // size
        rest = x.shape[1] - whole * size
        self._pending[:, :rest] = x[:, whole * size :]
        self._fill = rest
        if whole == 0:
            return []
        return self._analyse(x[:, : whole * size].reshape(self.legs, whole, size))

    def flush(self) -> list[tuple[int, DtmfDigit]]:
        """End of stream: pad with silence so that every sample is analysed, report the
        digits still open, then reset()."""
        pad = (self.block_size - self._fill) % self.block_size
        pad += (_FRAME_MS // _BLOCK_MS - 1) * self.block_size
        out = self.feed(np.zeros((self.legs, pad), dtype=np.float32))
        self._sum_a += self._edge_a
        self._sum_ta += self._edge_ta
        out += self._close(np.flatnonzero(self._run >= 0))
        self.reset()
        return out

    # --- analysis ----------------------------------------------------------------------------

    def _analyse(self, blocks: npt.NDArray[np.float32]) -> list[tuple[int, DtmfDigit]]:
        first = self._blocks
        measured = self._measure(blocks)
        band = measured.band_power.reshape(-1, 8)
        frame_power = measured.frame_power.reshape(-1)
        # the energy rule with each group's largest band: a cheap bound that most frames of
        # speech, music, noise and silence fail; the other rules only see the rest
        bound = band[:, :4].max(axis=1) + band[:, 4:].max(axis=1)
        rows = np.flatnonzero(bound >= self.min_tone_share * frame_power)
        candidate = np.full(frame_power.shape, -1)
        if rows.size:
            low, high, rules = self._rules(measured, rows)
            valid = np.logical_and.reduce(list(rules.values()))
            candidate[rows] = np.where(valid, 4 * low + high, -1)
        shape = measured.frame_power.shape
        return self._track(candidate.reshape(shape), np.sqrt(measured.tone_power), first - 1)

    def _workspace(self, count: int) -> _Workspace:
        if self._work is None or self._work.count != count:
            groups = self._decimator.shape[0] if self._decimator is not None else 0
            self._work = _Workspace(self.legs, count, self._factor, groups, self._basis.shape[1])
        return self._work

    def _measure(self, blocks: npt.NDArray[np.float32]) -> _Measured:
        """Per frame ending in each of `blocks` (legs, count, block_size): the Hann-window
        measurements, frame-major (count, legs, ...). Advances the block count and the
        history."""
        legs, count, _ = blocks.shape
        self._blocks += count
        work = self._workspace(count)
        past = _FRAME - _HOP
        x = work.signal
        x[:, :past] = self._tail
        if self._decimator is not None:
            x[:, past:] = self._decimate(blocks, work).reshape(legs, count * _HOP)
        else:
            x[:, past:] = blocks.reshape(legs, count * _HOP)
        self._tail[...] = x[:, count * _HOP :]
        np.multiply(x, x, out=work.squares)
        for k in range(count):
            frame = slice(k * _HOP, k * _HOP + _FRAME)
            np.matmul(x[:, frame], self._basis, out=work.products[k])
            np.matmul(work.squares[:, frame], self._hann, out=work.frame_power[k])
        products = work.products
        np.multiply(products, products, out=products)
        half = products.shape[-1] // 2
        power = np.add(products[..., :half], products[..., half:], out=work.power)
        below, centre, above = power[..., 0:8], power[..., 8:16], power[..., 16:24]
        centre = np.maximum(centre, _POWER_FLOOR)
        ratio = np.sqrt(np.maximum(below, above) / centre)
        bins = np.clip((2.0 * ratio - 1.0) / (ratio + 1.0), _MIN_BINS, _MAX_BINS)
        # 1 / H(d)^2 with H(d) = sin(pi d) / (pi d (1 - d^2)), the Hann response d bins off
        angle = np.float32(math.pi) * bins
        gain = (1.0 - bins * bins) * angle / np.sin(angle)
        return _Measured(
            tone_power=centre * gain * gain,
            deviation=np.where(above >= below, bins, -bins) * (_BIN_HZ / self._tone_hz),
            harmonic=power[..., 24:32],
            frame_power=work.frame_power,
            band_power=(below + centre + above) / 1.5,
        )

    def _decimate(
        self, blocks: npt.NDArray[np.float32], work: _Workspace
    ) -> npt.NDArray[np.float32]:
        """Low-pass and keep every factor-th sample: (legs, count, block_size) to 8 kHz
        (legs, 5 x count, 8). With the input cut into chunks of 8 x factor samples, output
        chunk j is the sum over p of (input chunk j - p) @ G_p: one product per p for all
        chunks, shifted by p and added; the products that reach into the next call are
        kept in _partial."""
        assert self._decimator is not None
        legs = blocks.shape[0]
        step = _DECIMATION_BLOCK * self._factor
        if blocks.flags.c_contiguous:
            chunks = blocks.reshape(-1, step)
        else:
            chunks = work.chunks
            chunks.reshape(blocks.shape)[...] = blocks
        n = chunks.shape[0] // legs
        groups = self._decimator.shape[0]
        history = groups - 1
        products = work.decimation  # (groups, legs * n, 8)
        for p in range(groups):
            np.matmul(chunks, self._decimator[p], out=products[p])
        shifted = products.reshape(groups, legs, n, _DECIMATION_BLOCK)
        out = work.narrow
        out[...] = shifted[0]
        for p in range(1, groups):
            out[:, p:] += shifted[p, :, : n - p]
            out[:, :p] += self._partial[p, :, history - p : history - p + min(p, n)]
        self._partial[...] = shifted[:, :, n - history :]
        return out

    def _rules(
        self, m: _Measured, rows: npt.NDArray[np.intp]
    ) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp], dict[str, npt.NDArray[np.bool_]]]:
        """For the frames `rows` of (frames x legs): the candidate digit's low and high tone
        (0-3), and which of the rules (see the theory of operation) it passes."""
        power = m.tone_power.reshape(-1, 8)[rows]
        band = m.band_power.reshape(-1, 8)[rows]
        deviation = m.deviation.reshape(-1, 8)[rows]
        harmonic = m.harmonic.reshape(-1, 8)[rows]
        frame_power = m.frame_power.reshape(-1)[rows]
        at = np.arange(rows.size)
        low = np.argmax(power[:, :4], axis=1)
        high = np.argmax(power[:, 4:], axis=1) + 4
        p_low, p_high = power[at, low], power[at, high]
        dev_low, dev_high = deviation[at, low], deviation[at, high]
        harmonics = harmonic[at, high] + self._low_checked[low, high - 4] * harmonic[at, low]
        octave = (2.0 * self._tone_hz[low] * (1.0 + dev_low)) / (
            self._tone_hz[high] * (1.0 + dev_high)
        )
        rules = {
            "level": np.minimum(p_low, p_high) >= self._min_power,
            "frequency": np.maximum(np.abs(dev_low), np.abs(dev_high)) <= self.max_deviation,
            "twist": (p_high <= self._twist_hi * p_low) & (p_high >= self._twist_lo * p_low),
            "energy": band[at, low] + band[at, high] >= self.min_tone_share * frame_power,
            "harmonic": harmonics <= self._harmonic * (p_low + p_high),
            "octave": np.abs(octave - 1.0) > self.octave_tolerance,
        }
        return low, high - 4, rules

    # --- runs --------------------------------------------------------------------------------

    def _track(
        self,
        candidate: npt.NDArray[np.int64],
        amplitude: npt.NDArray[np.float32],
        first_centre: int,
    ) -> list[tuple[int, DtmfDigit]]:
        """Advance every leg's run through the frames (frame-major arrays); frame i is
        centred on block boundary first_centre + i."""
        out: list[tuple[int, DtmfDigit]] = []
        edge = _EDGE_FRAMES
        amplitude = np.concatenate([self._amplitude_history, amplitude])
        self._amplitude_history = amplitude[amplitude.shape[0] - edge :].copy()
        seen = set(np.flatnonzero((candidate >= 0).sum(axis=1)).tolist())
        legs = np.arange(self.legs)

        def tones_at(frame: int, digit: npt.NDArray[np.int64]) -> npt.NDArray[np.float32]:
            d = np.maximum(digit, 0)
            a: npt.NDArray[np.float32] = amplitude[frame, legs, d // 4]
            a = a + amplitude[frame, legs, 4 + d % 4]
            return a

        for i in range(candidate.shape[0]):
            active = self._run >= 0
            if i not in seen and not active.any():
                continue
            t = float((first_centre + i) * self.block_size)
            found = candidate[i]
            a = tones_at(i + edge, self._run)
            hit = active & (found == self._run)
            miss = active & ~hit
            if hit.any():
                self._core_a += np.where(hit, a, 0.0)
                self._sum_a += np.where(hit, self._pending_a + a, 0.0)
                self._sum_ta += np.where(hit, self._pending_ta + t * a, 0.0)
                self._peak = np.where(hit, np.maximum(self._peak, a), self._peak)
                for state in (self._pending_a, self._pending_ta, self._edge_a, self._edge_ta):
                    state[hit] = 0.0
                self._misses[hit] = 0
            if miss.any():
                self._misses += miss
                ended = miss & ((self._misses > self._max_dropout) | (found >= 0))
                self._sum_a += np.where(ended, self._edge_a, 0.0)
                self._sum_ta += np.where(ended, self._edge_ta, 0.0)
                out += self._close(np.flatnonzero(ended))
                going = miss & ~ended
                self._pending_a += np.where(going, a, 0.0)
                self._pending_ta += np.where(going, t * a, 0.0)
                trailing = going & (self._misses <= edge)  # the tone's trailing edge
                self._edge_a += np.where(trailing, a, 0.0)
                self._edge_ta += np.where(trailing, t * a, 0.0)
            start = (self._run < 0) & (found >= 0)
            if start.any():
                a = tones_at(i + edge, found)
                sum_a, sum_ta = a.astype(np.float64), t * a
                for back in range(1, edge + 1):  # the tone's leading edge
                    before = tones_at(i + edge - back, found)
                    sum_a += before
                    sum_ta += (t - back * self.block_size) * before
                self._run = np.where(start, found, self._run)
                self._sum_a = np.where(start, sum_a, self._sum_a)
                self._core_a = np.where(start, a, self._core_a)
                self._sum_ta = np.where(start, sum_ta, self._sum_ta)
                self._peak = np.where(start, a, self._peak)
                for state in (self._pending_a, self._pending_ta, self._edge_a, self._edge_ta):
                    state[start] = 0.0
                self._misses[start] = 0
        return out

    def _close(self, ended: npt.NDArray[np.intp]) -> list[tuple[int, DtmfDigit]]:
        out: list[tuple[int, DtmfDigit]] = []
        block_s = self.block_size / self.rate
        for leg in ended.tolist():
            duration = block_s * self._sum_a[leg] / self._peak[leg]
            core = block_s * self._core_a[leg] / self._peak[leg]
            centre = self._sum_ta[leg] / self._sum_a[leg] / self.rate - self._delay
            if core * 1000.0 >= self.min_duration_ms:
                key = DTMF_KEYS[int(self._run[leg])]
                start = max(0.0, centre - duration / 2.0)
                out.append((leg, DtmfDigit(key, float(start), float(centre + duration / 2.0))))
            self._run[leg] = -1
        return out


class DtmfDetector:
    """DTMF receiver for one stream: feed samples in any chunks; get the digits that ended
    (a DtmfBatchDetector with one leg; keyword arguments are passed on to it)."""

    def __init__(self, rate: int = 48000, **options: float) -> None:
        self._batch = DtmfBatchDetector(1, rate, **options)
        self.rate = rate

    def __repr__(self) -> str:
        return f"<DtmfDetector {self.rate} Hz t={self.time:.3f} s>"

    @property
    def time(self) -> float:
        """Seconds of audio fed so far."""
        return self._batch.time

    def reset(self) -> None:
        """Forget all audio and any open digit; time restarts at 0."""
        self._batch.reset()

    def feed(self, samples: npt.NDArray[np.floating]) -> list[DtmfDigit]:
        """Add samples (any length); return the digits that ended in them."""
        x = np.asarray(samples, dtype=np.float32).reshape(1, -1)
        return [digit for _, digit in self._batch.feed(x)]

    def flush(self) -> list[DtmfDigit]:
        """End of stream: report a digit still sounding, then reset()."""
        return [digit for _, digit in self._batch.flush()]
