from __future__ import annotations

import numpy as np
import pytest

from xctest.audio.signals import rms_dbfs
from xctest.audio.speech import music_like, speech_like

GENERATORS = [speech_like, music_like]


def band_share(x: np.ndarray, rate: int, lo: float, hi: float) -> float:
    """Share of the signal's power between lo and hi Hz."""
    power = np.abs(np.fft.rfft(x.astype(np.float64))) ** 2
    freqs = np.fft.rfftfreq(x.size, 1 / rate)
    return float(power[(freqs >= lo) & (freqs <= hi)].sum() / power.sum())


def frames(x: np.ndarray, size: int) -> np.ndarray:
    return x[: x.size // size * size].reshape(-1, size).astype(np.float64)


@pytest.mark.parametrize("generate", GENERATORS)
def test_same_seed_same_samples_other_seed_other_samples(generate):
    a = generate(2.0, seed=3)
    assert a.dtype == np.float32
    assert np.array_equal(a, generate(2.0, seed=3))
    assert not np.allclose(a, generate(2.0, seed=4), atol=1e-3)


@pytest.mark.parametrize("generate", GENERATORS)
@pytest.mark.parametrize("rate", [8000, 16000, 48000])
def test_length_and_level(generate, rate):
    x = generate(1.5, rate=rate, level_dbfs=-22.0, seed=1)
    assert x.size == round(1.5 * rate)
    assert rms_dbfs(x) == pytest.approx(-22.0, abs=0.05)


@pytest.mark.parametrize("generate", GENERATORS)
def test_band_limited_to_the_telephone_band(generate):
    x = generate(5.0, seed=2)
    assert band_share(x, 48000, 100.0, 3800.0) > 0.99
    assert band_share(x, 48000, 4200.0, 24000.0) < 1e-4


@pytest.mark.parametrize("generate", GENERATORS)
def test_default_level_does_not_reach_full_scale(generate):
    for seed in range(4):
        assert np.abs(generate(10.0, seed=seed)).max() < 1.0


@pytest.mark.parametrize("seed", range(4))
def test_speech_has_pauses_and_voiced_pitch(seed):
    rate = 16000
    x = speech_like(20.0, rate=rate, seed=seed)
    level = 10 * np.log10(np.mean(frames(x, 320) ** 2, axis=1) + 1e-20)
    quiet = level < rms_dbfs(x) - 30
    assert 0.1 < quiet.mean() < 0.5  # talk spurts and pauses
    long_frames = frames(x, 640)
    loud = long_frames[np.mean(long_frames**2, axis=1) > np.mean(x.astype(np.float64) ** 2)]
    # normalised autocorrelation peaks at a pitch period (80-300 Hz) in most loud frames
    lags = np.arange(rate // 300, rate // 80)
    periodic = 0
    for f in loud:
        f = f - f.mean()
        r = np.array([f[:-lag] @ f[lag:] for lag in lags]) / (f @ f)
        periodic += r.max() > 0.5
    assert periodic / len(loud) > 0.8


def test_music_is_not_periodic_over_seconds():
    x = music_like(8.0, rate=8000, seed=0)
    a, b = frames(x, 8000)[1], frames(x, 8000)[5]
    assert abs(a @ b) / np.sqrt((a @ a) * (b @ b)) < 0.5
