"""Reproducible speech-like and music-like test signals (talk-off, voice-quality references).

Owns speech_like() and music_like(): synthesised, never recorded, so the same seed, length and
rate give the same samples everywhere. Imports only numpy, scipy and the stdlib.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
from scipy.signal import butter, resample_poly, sosfilt

from xctest.audio.signals import db_to_amplitude, sample_count

_SYNTH_RATE = 16000
"""Both generators synthesise at 16 kHz, then resample to the rate asked for."""
_BLOCK = 160
"""The vocal-tract filter is updated every 10 ms."""

# Peterson & Barney average formants (F1, F2, F3 in Hz) of adult male English vowels.
_VOWELS = np.array(
    [
        [270.0, 2290.0, 3010.0],  # i
        [390.0, 1990.0, 2550.0],  # I
        [530.0, 1840.0, 2480.0],  # E
        [660.0, 1720.0, 2410.0],  # ae
        [730.0, 1090.0, 2440.0],  # a
        [570.0, 840.0, 2410.0],  # o
        [440.0, 1020.0, 2240.0],  # U
        [300.0, 870.0, 2240.0],  # u
        [640.0, 1190.0, 2390.0],  # V
        [490.0, 1350.0, 1690.0],  # 3
    ]
)
_BANDWIDTHS = np.array([90.0, 110.0, 170.0, 250.0])
_F4 = 3400.0
_KNEE = 0.7

_MAJOR_SCALE = (0, 2, 4, 5, 7, 9, 11)


def _seconds(s: float) -> int:
    return round(s * _SYNTH_RATE)


def _glottal_flow(cycles: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Rosenberg pulse: opens over 40 % of each period, closes over 16 %, then stays shut."""
    p = np.mod(cycles, 1.0)
    opening = 0.5 - 0.5 * np.cos(math.pi * p / 0.4)
    closing = np.cos(0.5 * math.pi * (p - 0.4) / 0.16)
    flow: npt.NDArray[np.float64] = np.where(p < 0.4, opening, np.where(p < 0.56, closing, 0.0))
    return flow


def _tract_response(formants: npt.NDArray[np.float64], nfft: int) -> npt.NDArray[np.complex128]:
    """(frames, nfft // 2 + 1) frequency response of a cascade of two-pole resonators at
    F1-F3 (per frame) and F4, each with unity gain at DC, so upper formants fall off as in
    real vowels."""
    freqs = np.concatenate([formants, np.full((formants.shape[0], 1), _F4)], axis=1)
    r = np.exp(-math.pi * _BANDWIDTHS / _SYNTH_RATE)
    a1 = -2.0 * r * np.cos(2.0 * math.pi * freqs / _SYNTH_RATE)
    a2 = r * r
    z1 = np.exp(-2j * math.pi * np.arange(nfft // 2 + 1) / nfft)
    response = (1.0 + a1 + a2)[..., None] / (1.0 + a1[..., None] * z1 + (a2[:, None] * z1 * z1))
    result: npt.NDArray[np.complex128] = response.prod(axis=1)
    return result


def _vocal_tract(
    source: npt.NDArray[np.float64], formants: npt.NDArray[np.float64]
) -> npt.NDArray[np.float64]:
    """Filter `source` through formants that change every _BLOCK samples: 50 % overlapping
    Hann segments (which sum to one), each filtered by its own response, added back up."""
    blocks = formants.shape[0]
    padded = np.zeros((blocks + 1) * _BLOCK)
    padded[_BLOCK : _BLOCK + source.size] = source[: blocks * _BLOCK]
    segments = np.lib.stride_tricks.sliding_window_view(padded, 2 * _BLOCK)[::_BLOCK]
    window = np.hanning(2 * _BLOCK + 1)[:-1]
    span = 7  # segment plus resonator ring-down (> 40 ms), in blocks
    nfft = span * _BLOCK
    out = np.zeros((blocks + span, _BLOCK))
    # formants hold still between glides: one response per distinct set
    distinct, which = np.unique(formants, axis=0, return_inverse=True)
    responses = _tract_response(distinct, nfft)
    for first in range(0, blocks, 2000):
        last = min(blocks, first + 2000)
        spectra = np.fft.rfft(segments[first:last] * window, nfft)
        spectra *= responses[which[first:last]]
        filtered = np.fft.irfft(spectra, nfft).reshape(last - first, span, _BLOCK)
        for j in range(span):
            out[first + j : last + j] += filtered[:, j]
    return out.reshape(-1)[_BLOCK : _BLOCK + source.size]


def _finish(
    x: npt.NDArray[np.float64], seconds: float, rate: int, level_dbfs: float
) -> npt.NDArray[np.float32]:
    """Band-limit to 100-3800 Hz, resample to `rate`, cut to length, set the RMS level."""
    band = butter(4, (100.0, 3800.0), btype="bandpass", fs=_SYNTH_RATE, output="sos")
    y = sosfilt(band, x)
    if rate != _SYNTH_RATE:
        g = math.gcd(rate, _SYNTH_RATE)
        y = resample_poly(y, rate // g, _SYNTH_RATE // g)
    n = sample_count(seconds, rate)
    out = np.zeros(n)
    out[: min(n, y.size)] = y[:n]
    rms = math.sqrt(float(np.mean(out * out))) if n else 0.0
    if rms > 0.0:
        out *= db_to_amplitude(level_dbfs) / rms
    # soft limiter above -3 dBFS instead of hard clipping (speech peaks ~18 dB over its RMS)
    magnitude = np.abs(out)
    over = magnitude > _KNEE
    out[over] = np.sign(out[over]) * (
        _KNEE + (1.0 - _KNEE) * np.tanh((magnitude[over] - _KNEE) / (1.0 - _KNEE))
    )
    return out.astype(np.float32)


def speech_like(
    seconds: float, rate: int = 48000, level_dbfs: float = -16.0, seed: int = 0
) -> npt.NDArray[np.float32]:
    """Synthetic speech, deterministic from `seed`: talk spurts of 0.8-2.5 s separated by
    0.15-0.6 s pauses; syllables of 120-300 ms, voiced (glottal pulses at a gliding, declining
    pitch through vowel formants that glide from one vowel to the next), a third with a
    fricative onset. One talker per seed (mean pitch 95-230 Hz). Band-limited to 100-3800 Hz;
    `level_dbfs` is the RMS of the whole signal, pauses included."""
    rng = np.random.default_rng(seed)
    total = sample_count(seconds, _SYNTH_RATE) + _BLOCK
    blocks = total // _BLOCK + 1
    f0 = np.zeros(total)
    voicing = np.zeros(total)
    frication = np.zeros(total)
    formants = np.zeros((blocks, 3))
    mean_f0 = rng.uniform(95.0, 230.0)
    tract_scale = 1.0 + 0.18 * (mean_f0 - 95.0) / 135.0  # higher voices, shorter tracts
    previous = _VOWELS[4] * tract_scale
    formants[:] = previous

    pos = _seconds(rng.uniform(0.1, 0.3))
    while pos < total:
        spurt_start = pos
        spurt_end = min(total, pos + _seconds(rng.uniform(0.8, 2.5)))
        while pos < spurt_end - _seconds(0.08):
            end = min(spurt_end, pos + _seconds(rng.uniform(0.12, 0.30)))
            if rng.random() < 0.35:
                onset = min(end - pos, _seconds(rng.uniform(0.03, 0.08)))
                frication[pos : pos + onset] = np.hanning(onset) * db_to_amplitude(
                    rng.uniform(-8.0, 0.0)
                )
                pos += onset
            size = end - pos
            if size > 0:
                progress = (pos - spurt_start) / (spurt_end - spurt_start)
                centre = mean_f0 * (1.12 - 0.25 * progress) * rng.uniform(0.9, 1.12)
                glide = rng.uniform(-0.08, 0.08)
                f0[pos:end] = centre * (1.0 + glide * np.linspace(-1.0, 1.0, size))
                envelope = np.full(size, db_to_amplitude(rng.uniform(-4.0, 2.0)))
                attack, release = min(size, _seconds(0.015)), min(size, _seconds(0.03))
                envelope[:attack] *= np.hanning(2 * attack)[:attack]
                envelope[size - release :] *= np.hanning(2 * release)[release:]
                voicing[pos:end] = envelope
                target = _VOWELS[rng.integers(len(_VOWELS))] * tract_scale
                target = target * rng.uniform(0.93, 1.07, 3)
                b0, b1 = pos // _BLOCK, end // _BLOCK + 1
                steps = np.clip(np.arange(b1 - b0) / 5.0, 0.0, 1.0)[:, None]  # 50 ms glide
                formants[b0:b1] = previous + (target - previous) * steps
                formants[b1:] = target
                previous = target
            pos = end
        pos = spurt_end + _seconds(rng.uniform(0.15, 0.6))

    wander_points = rng.normal(0.0, 0.01, total // 800 + 2)  # pitch jitter, every 50 ms
    wander = np.interp(np.arange(total), np.arange(wander_points.size) * 800.0, wander_points)
    cycles = np.cumsum(f0 * (1.0 + wander)) / _SYNTH_RATE
    flow = np.zeros(total)
    on = np.flatnonzero(voicing)
    flow[on] = _glottal_flow(cycles[on]) * voicing[on]
    source = np.diff(flow, prepend=0.0)
    source += 0.01 * voicing * rng.standard_normal(total)  # breath

    tract = _vocal_tract(source, formants)

    hiss_band = butter(4, (2200.0, 3800.0), btype="bandpass", fs=_SYNTH_RATE, output="sos")
    hiss = sosfilt(hiss_band, rng.standard_normal(total))
    loud = voicing > 0.5
    voiced_rms = math.sqrt(float(np.mean(tract[loud] ** 2))) if loud.any() else 1.0
    hiss *= 0.3 * voiced_rms / math.sqrt(float(np.mean(hiss * hiss)))
    return _finish(tract + hiss * frication, seconds, rate, level_dbfs)


def music_like(
    seconds: float, rate: int = 48000, level_dbfs: float = -16.0, seed: int = 0
) -> npt.NDArray[np.float32]:
    """Synthetic music, deterministic from `seed`: a random walk over the diatonic chords of
    a major key (a bass note and a four-note voicing per chord, a melody note per beat on
    top), every note an equal-tempered pitch with decaying harmonic partials. Key, tempo and
    timbre vary with the seed. Band-limited to 100-3800 Hz; `level_dbfs` is the RMS."""
    rng = np.random.default_rng(seed)
    total = sample_count(seconds, _SYNTH_RATE) + _BLOCK
    key = int(rng.integers(-5, 7))
    beat = _seconds(rng.uniform(0.2, 0.4))
    n_partials = int(rng.integers(4, 9))
    rolloff = rng.uniform(1.0, 2.0)
    decay = rng.uniform(1.5, 5.0)
    out = np.zeros(total)

    def note(start: int, length: int, midi: int, gain: float) -> None:
        length = min(length, total - start)
        if length <= 0:
            return
        freq = 440.0 * 2.0 ** ((midi + key - 69) / 12.0)
        h = np.arange(1, n_partials + 1)
        h = h[h * freq < 0.45 * _SYNTH_RATE]
        t = np.arange(length) / _SYNTH_RATE
        phases = rng.uniform(0.0, 2.0 * math.pi, h.size)
        wave = (h ** (-rolloff)) @ np.sin(2.0 * math.pi * freq * np.outer(h, t) + phases[:, None])
        envelope = np.exp(-decay * t) * np.minimum(1.0, t / 0.005)
        out[start : start + length] += gain * envelope * wave

    def pitch(degree: int, octave: int) -> int:
        return 12 * (octave + 1 + degree // 7) + _MAJOR_SCALE[degree % 7]

    degree = 0
    pos = 0
    while pos < total:
        beats = int(rng.integers(2, 5))
        chord = [degree, degree + 2, degree + 4, degree + 7]
        length = beats * beat
        note(pos, length, pitch(degree, 3), 0.8)
        for d in chord:
            note(pos, length, pitch(d, 4), 0.5)
        for b in range(beats):
            tone = int(rng.choice([*chord, degree + int(rng.integers(0, 7))]))
            note(pos + b * beat, beat, pitch(tone, 5), 0.7)
        pos += length
        degree = int(rng.choice([0, 1, 2, 3, 4, 5]))
    return _finish(out, seconds, rate, level_dbfs)
