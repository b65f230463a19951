"""Call-progress tones: tone plans as data, their generators, and a batch cadence detector.

Owns the European (ETSI/CEPT) and North-American plans and the on/off cadence rule. Imports only
numpy, the stdlib and sibling audio modules; no clocks: time is samples since the first one.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from xctest.audio.detector import frame_size, hann_window, sinusoid_basis, tone_basis
from xctest.audio.signals import SILENCE_DBFS, concat, sample_count, silence, tones

# Theory of operation
# -------------------
# Each 20 ms frame of each leg is Hann-windowed and projected (least squares) onto the sines and
# cosines of a tone's frequencies. The tone is "on" in the frame when:
#   1. level: the projected power is >= min_level_dbfs (default -45 dBFS);
#   2. share: it is >= min_share (default 0.75) of the frame's Hann-weighted power, so noise
#      must stay ~5 dB below the tone; a single tone is accepted within about +-20 Hz;
#   3. components: for a multi-frequency tone, each frequency alone holds >= min_component_share
#      (default 0.2) of the frame's power, so 425 Hz is not "440 + 480 Hz" (it holds ~0.1 at 480)
#      while a real 440 + 480 Hz pair, beating at 40 Hz, never drops below ~0.3. A 20 ms frame
#      cannot resolve 40 Hz, so a lone 460 Hz tone passes as 440 + 480 Hz.
# Each frame's decision is then the majority of it and its two neighbours: a single-frame
# dropout (loss, a noise burst) or blip is ignored at the cost of one frame of latency, and runs
# of two frames or more keep their exact length.
# Runs of on and off frames are matched against the cadence: a run matches a step when its
# length is within max(tolerance x nominal, tolerance_ms) of the step's on (off) time, by
# default +-20 % or +-50 ms, whichever is wider (EU busy 400-600 ms on, congestion 200-300).
# A cycle counts once its last off run has ended, i.e. when the next on run starts, so a tone
# that stops for good never adds a cycle, and an on run longer than any step (a continuous
# 425 Hz dial tone) matches nothing. A continuous tone (no cadence) counts one cycle per
# CONTINUOUS_CYCLE_MS of uninterrupted tone. A match is reported for every cycle completed once
# `confirm_cycles` consecutive cycles have been seen. Edges cost at most one frame (20 ms) each.

CONTINUOUS_CYCLE_MS = 1000
"""A continuous tone (empty cadence) counts one cycle per this much uninterrupted tone."""
DEFAULT_MIN_SHARE = 0.75
"""Default minimum share of a frame's power that a tone's frequencies must hold."""
DEFAULT_MIN_COMPONENT_SHARE = 0.2
"""Default minimum share of a frame's power held by each frequency of a multi-frequency tone."""
DEFAULT_TOLERANCE = 0.2
"""Default relative tolerance on on/off durations."""
DEFAULT_TOLERANCE_MS = 50.0
"""Default absolute tolerance on on/off durations (the wider of the two applies)."""

_POWER_FLOOR = 10.0 ** (SILENCE_DBFS / 10.0)
_MAX_STEPS = 16


@dataclass(frozen=True)
class ToneStep:
    """`ms` milliseconds of the simultaneous tones `freqs`; no frequencies means silence."""

    freqs: tuple[float, ...]
    ms: float


@dataclass(frozen=True)
class ProgressTone:
    """A call-progress tone: simultaneous frequencies played with an (on_ms, off_ms) cadence.

    An empty cadence is a continuous tone (dial tone). Two close frequencies (NA ringback
    440 + 480 Hz) sound as one tone amplitude-modulated at their difference."""

    name: str
    freqs: tuple[float, ...]
    cadence: tuple[tuple[int, int], ...]
    confirm_cycles: int = 1

    def __post_init__(self) -> None:
        if not 1 <= len(self.freqs) <= 4 or len(set(self.freqs)) != len(self.freqs):
            raise ValueError(f"{self.name}: need 1 to 4 distinct frequencies, got {self.freqs}")
        if any(f <= 0 for f in self.freqs):
            raise ValueError(f"{self.name}: frequencies must be positive, got {self.freqs}")
        if len(self.cadence) > _MAX_STEPS:
            raise ValueError(f"{self.name}: at most {_MAX_STEPS} cadence steps")
        if any(on <= 0 or off <= 0 for on, off in self.cadence):
            raise ValueError(f"{self.name}: cadence times must be positive, got {self.cadence}")
        if self.confirm_cycles < 1:
            raise ValueError(f"{self.name}: confirm_cycles must be >= 1")

    @property
    def continuous(self) -> bool:
        """True for a tone without cadence."""
        return not self.cadence

    def steps(self) -> tuple[ToneStep, ...]:
        """One period of the cadence as tone and silence steps (one step if continuous)."""
        if self.continuous:
            return (ToneStep(self.freqs, CONTINUOUS_CYCLE_MS),)
        out: list[ToneStep] = []
        for on, off in self.cadence:
            out += [ToneStep(self.freqs, on), ToneStep((), off)]
        return tuple(out)


EU_DIAL = ProgressTone("eu-dial", (425.0,), (), confirm_cycles=3)
"""ETSI/CEPT dial tone: continuous 425 Hz."""
EU_RINGBACK = ProgressTone("eu-ringback", (425.0,), ((1000, 4000),))
"""ETSI/CEPT ringing tone: 425 Hz, 1 s on, 4 s off."""
EU_BUSY = ProgressTone("eu-busy", (425.0,), ((500, 500),), confirm_cycles=2)
"""ETSI/CEPT busy tone: 425 Hz, 0.5 s on, 0.5 s off."""
EU_CONGESTION = ProgressTone("eu-congestion", (425.0,), ((250, 250),), confirm_cycles=2)
"""ETSI/CEPT congestion tone: 425 Hz, 0.25 s on, 0.25 s off."""
NA_DIAL = ProgressTone("na-dial", (350.0, 440.0), (), confirm_cycles=3)
"""North-American precise dial tone: continuous 350 + 440 Hz."""
NA_RINGBACK = ProgressTone("na-ringback", (440.0, 480.0), ((2000, 4000),))
"""North-American audible ringing: 440 + 480 Hz, 2 s on, 4 s off."""
NA_BUSY = ProgressTone("na-busy", (480.0, 620.0), ((500, 500),), confirm_cycles=2)
"""North-American busy: 480 + 620 Hz, 0.5 s on, 0.5 s off."""
NA_REORDER = ProgressTone("na-reorder", (480.0, 620.0), ((250, 250),), confirm_cycles=2)
"""North-American reorder (congestion): 480 + 620 Hz, 0.25 s on, 0.25 s off."""
EU_TONES = (EU_DIAL, EU_RINGBACK, EU_BUSY, EU_CONGESTION)
NA_TONES = (NA_DIAL, NA_RINGBACK, NA_BUSY, NA_REORDER)


def cadence(
    steps: Sequence[ToneStep], rate: int = 48000, level_dbfs: float = -16.0
) -> npt.NDArray[np.float32]:
    """Play `steps` once, one after another; each step's tones have total RMS `level_dbfs`.

    Step boundaries fall on the sample nearest their exact time, so long sequences don't drift."""
    parts: list[npt.NDArray[np.float32]] = []
    elapsed_ms = 0.0
    done = 0
    for step in steps:
        if step.ms < 0:
            raise ValueError(f"negative step duration: {step}")
        elapsed_ms += step.ms
        n = round(elapsed_ms * rate / 1000.0) - done
        done += n
        seconds = n / rate
        if step.freqs:
            parts.append(tones(step.freqs, seconds, rate, level_dbfs))
        else:
            parts.append(silence(seconds, rate))
    return concat(*parts)


def render_tone(
    tone: ProgressTone, seconds: float, rate: int = 48000, level_dbfs: float = -16.0
) -> npt.NDArray[np.float32]:
    """`seconds` of `tone` from the start of an on period, at RMS `level_dbfs` while on."""
    n = sample_count(seconds, rate)
    if tone.continuous:
        return tones(tone.freqs, seconds, rate, level_dbfs)
    period = cadence(tone.steps(), rate, level_dbfs)
    return np.tile(period, -(-n // period.size))[:n]


@dataclass(frozen=True)
class ToneMatch:
    """`cycles` consecutive cadence cycles of tone `name` heard on `leg`, the first at `start`."""

    name: str
    start: float
    """Onset of the first matched cycle, seconds since the detector's first sample."""
    cycles: int
    leg: int = 0


class ProgressToneDetector:
    """Streaming cadence detector for many legs at once (feed legs x samples, or samples if one).

    All per-leg state lives in (legs, tones) arrays; one matrix product per chunk analyses every
    frame of every leg, and only the cadence step runs frame by frame."""

    def __init__(
        self,
        tones: Sequence[ProgressTone],
        rate: int = 48000,
        legs: int = 1,
        frame_ms: int = 20,
        min_level_dbfs: float = -45.0,
        min_share: float = DEFAULT_MIN_SHARE,
        min_component_share: float = DEFAULT_MIN_COMPONENT_SHARE,
        tolerance: float = DEFAULT_TOLERANCE,
        tolerance_ms: float = DEFAULT_TOLERANCE_MS,
    ) -> None:
        names = [t.name for t in tones]
        if not names or len(set(names)) != len(names):
            raise ValueError(f"need at least one tone, with unique names: {names}")
        if legs < 1:
            raise ValueError(f"legs must be >= 1, got {legs}")
        for t in tones:
            if max(t.freqs) >= rate / 2:
                raise ValueError(f"{t.name}: {max(t.freqs)} Hz is above Nyquist at {rate} Hz")
        self.tones = tuple(tones)
        self.rate = rate
        self.legs = legs
        self.frame_size = frame_size(rate, frame_ms)
        self.frame_ms = frame_ms
        self.min_level_dbfs = min_level_dbfs
        self.min_share = min_share
        self.min_component_share = min_component_share
        self.tolerance = tolerance
        self.tolerance_ms = tolerance_ms
        self._min_level_power = 10.0 ** (min_level_dbfs / 10.0)

        size = self.frame_size
        freqs = sorted({f for t in self.tones for f in t.freqs})
        column = {f: i for i, f in enumerate(freqs)}
        self._basis = tone_basis(np.array(freqs, dtype=np.float64), size, rate)
        window = hann_window(size)
        self._weights = (window / window.sum()).astype(np.float32)
        # frame @ basis = scale * B^T (w x) with B the raw sinusoids; the least-squares fit of
        # (w x) on B has coefficients G^-1 B^T (w x), G = B^T diag(w) B, and explains the power
        # (B^T w x)^T G^-1 (B^T w x) / sum(w) of the Hann-weighted frame power sum(w x^2) / sum(w)
        scale = math.sqrt(2.0) / float(window.sum())
        sets = sorted({tuple(sorted(t.freqs)) for t in self.tones})
        self._sets: list[tuple[npt.NDArray[np.intp], npt.NDArray[np.float64], int]] = []
        for fs in sets:
            raw = sinusoid_basis(np.array(fs, dtype=np.float64), size, rate)
            gram = raw.T @ (window[:, None] * raw)
            g_inv = np.asarray(np.linalg.inv(gram), dtype=np.float64)
            cols = np.array(
                [column[f] for f in fs] + [column[f] + len(freqs) for f in fs], dtype=np.intp
            )
            self._sets.append((cols, g_inv / scale, len(fs)))
        self._set_of = np.array([sets.index(tuple(sorted(t.freqs))) for t in self.tones])

        n_tones = len(self.tones)
        steps = max(1, max(len(t.cadence) for t in self.tones))
        inf = np.inf
        self._on_lo = np.full((n_tones, steps), inf)
        self._on_hi = np.full((n_tones, steps), -inf)
        self._off_lo = np.full((n_tones, steps), inf)
        self._off_hi = np.full((n_tones, steps), -inf)
        for i, t in enumerate(self.tones):
            for j, (on, off) in enumerate(t.cadence):
                self._on_lo[i, j], self._on_hi[i, j] = self._window(on)
                self._off_lo[i, j], self._off_hi[i, j] = self._window(off)
        self._pow2 = (1 << np.arange(steps, dtype=np.int64)).astype(np.int64)
        self._n_steps = np.array([max(1, len(t.cadence)) for t in self.tones], dtype=np.int64)
        self._full = (1 << self._n_steps) - 1
        self._continuous = np.array([t.continuous for t in self.tones])
        self._cont_frames = max(1, math.ceil(CONTINUOUS_CYCLE_MS / frame_ms))
        self._confirm = np.array([t.confirm_cycles for t in self.tones], dtype=np.int64)
        self._max_on_frames = np.where(self._continuous, inf, self._on_hi.max(axis=1))
        self._max_off_frames = np.where(self._continuous, inf, self._off_hi.max(axis=1))

        self._buffer = np.zeros((legs, size), dtype=np.float32)
        self._fill = 0
        self._frames = 0
        shape = (legs, n_tones)
        self._recent = np.zeros((legs, 2, n_tones), dtype=bool)
        self._on = np.zeros(shape, dtype=bool)
        self._run = np.full(shape, 1 << 40, dtype=np.int64)
        self._seg_start = np.zeros(shape, dtype=np.int64)
        self._chain_start = np.zeros(shape, dtype=np.int64)
        self._pending = np.zeros(shape, dtype=np.int64)
        self._expect = np.zeros(shape, dtype=np.int64)
        self._steps = np.zeros(shape, dtype=np.int64)

    def _window(self, ms: int) -> tuple[float, float]:
        """Shortest and longest run, in frames, that matches a nominal `ms`."""
        slack = max(self.tolerance * ms, self.tolerance_ms)
        return (ms - slack) / self.frame_ms, (ms + slack) / self.frame_ms

    def __repr__(self) -> str:
        names = ",".join(t.name for t in self.tones)
        return (
            f"<ProgressToneDetector [{names}] {self.rate} Hz legs={self.legs} "
            f"frames={self._frames}>"
        )

    @property
    def frames(self) -> int:
        """Frames analysed so far (per leg)."""
        return self._frames

    @property
    def tone_on(self) -> npt.NDArray[np.bool_]:
        """(legs, tones): whether each tone was on in the last smoothed frame, which is the
        frame before the last one analysed."""
        return self._on.copy()

    @property
    def cycles(self) -> npt.NDArray[np.int64]:
        """(legs, tones): consecutive cycles of each tone in the cadence now running (0: none)."""
        running = np.where(self._on, self._run // self._cont_frames, 0)
        return np.where(self._continuous, running, self._steps // self._n_steps)

    def reset(self) -> None:
        """Forget buffered samples and every leg's cadence state; restart time at 0."""
        self._fill = 0
        self._frames = 0
        self._recent[:] = False
        self._on[:] = False
        self._run[:] = 1 << 40
        for state in (self._seg_start, self._chain_start, self._pending, self._expect):
            state[:] = 0
        self._steps[:] = 0

    def feed(self, samples: npt.NDArray[np.floating]) -> list[ToneMatch]:
        """Add samples, (legs, n) or (n,) for one leg; return the matches this chunk completed."""
        x = np.asarray(samples, dtype=np.float32)
        if x.ndim == 1 and self.legs == 1:
            x = x[None, :]
        if x.ndim != 2 or x.shape[0] != self.legs:
            raise ValueError(f"expected ({self.legs}, n) samples, got shape {x.shape}")
        if self._fill:
            x = np.concatenate([self._buffer[:, : self._fill], x], axis=1)
        size = self.frame_size
        count = x.shape[1] // size
        used = count * size
        self._fill = x.shape[1] - used
        self._buffer[:, : self._fill] = x[:, used:]
        if count == 0:
            return []
        raw = np.concatenate(
            [self._recent, self.frame_decisions(x[:, :used].reshape(self.legs, count, size))],
            axis=1,
        )
        self._recent = raw[:, -2:].copy()
        votes = raw[:, :-2].astype(np.int8) + raw[:, 1:-1] + raw[:, 2:]
        first = self._frames - 1
        self._frames += count
        out: list[ToneMatch] = []
        for f in range(count):
            out += self._step(votes[:, f, :] >= 2, first + f)
        return out

    def frame_decisions(self, frames: npt.NDArray[np.floating]) -> npt.NDArray[np.bool_]:
        """(..., frame_size) frames -> (..., tones): whether each tone is on (rules 1 to 3)."""
        x = np.asarray(frames, dtype=np.float32)
        if x.shape[-1] != self.frame_size:
            raise ValueError(f"frames must have {self.frame_size} samples, got {x.shape}")
        lead = x.shape[:-1]
        flat = x.reshape(-1, self.frame_size)
        products = (flat @ self._basis).astype(np.float64)
        power = np.maximum(np.square(flat) @ self._weights, _POWER_FLOOR).astype(np.float64)
        on_sets = np.empty((flat.shape[0], len(self._sets)), dtype=bool)
        for j, (cols, to_coef, k) in enumerate(self._sets):
            y = products[:, cols]
            coef = y @ to_coef
            tone = (coef * y).sum(axis=1) / math.sqrt(2.0)
            parts = (np.square(coef[:, :k]) + np.square(coef[:, k:])) / 2.0
            on_sets[:, j] = (
                (tone >= self._min_level_power)
                & (tone >= self.min_share * power)
                & (parts.min(axis=1) >= self.min_component_share * power)
            )
        decided: npt.NDArray[np.bool_] = on_sets[:, self._set_of].reshape(*lead, len(self.tones))
        return decided

    def _bits(
        self, run: npt.NDArray[np.int64], lo: npt.NDArray[np.float64], hi: npt.NDArray[np.float64]
    ) -> npt.NDArray[np.int64]:
        """Bit mask of the cadence steps whose window holds a run of `run` frames."""
        r = run[..., None]
        fits = (r >= lo) & (r <= hi)
        mask: npt.NDArray[np.int64] = fits.astype(np.int64) @ self._pow2
        return mask

    def _step(self, on: npt.NDArray[np.bool_], frame: int) -> list[ToneMatch]:
        was = self._on
        fell = was & ~on
        rose = on & ~was
        run = self._run

        if fell.any():
            matched = self._bits(run, self._on_lo, self._on_hi)
            follows = matched & self._expect
            fresh = fell & (follows == 0)
            self._pending = np.where(fell, np.where(fresh, matched, follows), self._pending)
            self._steps = np.where(fresh, 0, self._steps)
            self._chain_start = np.where(fresh, self._seg_start, self._chain_start)

        completed = np.zeros_like(on)
        if rose.any():
            ok = self._pending & self._bits(run, self._off_lo, self._off_hi)
            advanced = rose & (ok != 0)
            n = self._n_steps
            rotated = ((ok << 1) | (ok >> (n - 1))) & self._full
            self._steps = np.where(advanced, self._steps + 1, np.where(rose, 0, self._steps))
            self._expect = np.where(advanced, rotated, np.where(rose, 0, self._expect))
            self._pending = np.where(rose, 0, self._pending)
            completed = advanced & (self._steps % n == 0)

        changed = fell | rose
        self._seg_start = np.where(changed, frame, self._seg_start)
        self._run = np.where(changed, 1, run + 1)
        self._on = on
        too_long = np.where(on, self._run > self._max_on_frames, self._run > self._max_off_frames)
        if too_long.any():
            self._steps = np.where(too_long, 0, self._steps)
            self._expect = np.where(too_long, 0, self._expect)
            self._pending = np.where(too_long, 0, self._pending)

        cycles = self._steps // self._n_steps
        steady = on & self._continuous & (self._run % self._cont_frames == 0)
        cont_cycles = self._run // self._cont_frames
        cycles = np.where(self._continuous, cont_cycles, cycles)
        starts = np.where(self._continuous, self._seg_start, self._chain_start)
        report = (completed | steady) & (cycles >= self._confirm)
        if not report.any():
            return []
        frame_s = self.frame_size / self.rate
        return [
            ToneMatch(self.tones[t].name, int(starts[leg, t]) * frame_s, int(cycles[leg, t]), leg)
            for leg, t in zip(*np.nonzero(report), strict=True)
        ]
