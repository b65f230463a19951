from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xctest.audio.signals import (
    SILENCE_DBFS,
    concat,
    db_to_amplitude,
    from_int16,
    mix,
    rms_dbfs,
    sample_count,
    silence,
    sine,
    to_int16,
    tones,
    white_noise,
)

RATE = 48000
FULL_SCALE_SINE_DBFS = 10 * math.log10(0.5)  # mean of sin^2 is 1/2


def spectrum_amplitudes(x: np.ndarray, rate: int = RATE) -> np.ndarray:
    """Peak amplitude per 1 Hz bin of exactly one second of signal."""
    assert x.size == rate
    return 2 * np.abs(np.fft.rfft(x.astype(np.float64))) / x.size


def test_rms_of_full_scale_sine_is_minus_3_dbfs():
    n = np.arange(RATE)
    assert rms_dbfs(np.sin(2 * np.pi * 1000 * n / RATE)) == pytest.approx(FULL_SCALE_SINE_DBFS)
    assert FULL_SCALE_SINE_DBFS == pytest.approx(-3.0103, abs=1e-4)


def test_rms_of_square_wave_is_0_dbfs():
    assert rms_dbfs(np.array([1.0, -1.0] * 100)) == pytest.approx(0.0)


def test_rms_floor_for_silence_and_empty():
    assert rms_dbfs(np.zeros(960)) == SILENCE_DBFS == -120.0
    assert rms_dbfs(np.zeros(0, dtype=np.float32)) == SILENCE_DBFS


@given(level=st.floats(-90, -3.5), freq=st.integers(100, 20000))
@settings(max_examples=40, deadline=None)
def test_sine_has_requested_rms_level(level, freq):
    # a whole number of cycles in one second: the RMS is exact
    assert rms_dbfs(sine(freq, 1.0, level_dbfs=level)) == pytest.approx(level, abs=0.01)


def test_sine_frequency_amplitude_and_phase():
    x = sine(1000, 1.0, level_dbfs=-12.0, phase=math.pi / 2)
    amplitude = math.sqrt(2) * 10 ** (-12 / 20)
    spec = spectrum_amplitudes(x)
    assert int(np.argmax(spec)) == 1000
    assert spec[1000] == pytest.approx(amplitude, rel=1e-4)
    assert x[0] == pytest.approx(amplitude, rel=1e-6)  # sin(pi/2) = 1
    assert x.dtype == np.float32 and x.size == RATE


def test_sine_above_full_scale_is_clipped():
    x = sine(1000, 0.1, level_dbfs=0.0)
    assert x.dtype == np.float32
    assert np.max(np.abs(x)) == 1.0


def test_tones_total_rms_and_equal_components():
    x = tones([500, 1300, 2100], 1.0, level_dbfs=-20.0)
    assert rms_dbfs(x) == pytest.approx(-20.0, abs=0.01)
    spec = spectrum_amplitudes(x)
    each = math.sqrt(2 / 3) * 10 ** (-20 / 20)
    for f in (500, 1300, 2100):
        assert spec[f] == pytest.approx(each, rel=1e-3)
    spec[[500, 1300, 2100]] = 0
    assert spec.max() < 1e-5


def test_tones_of_nothing_is_silence():
    assert not np.any(tones([], 0.02))
    assert tones([], 0.02).size == 960


def test_silence():
    x = silence(0.02, rate=8000)
    assert x.dtype == np.float32 and x.size == 160 and not np.any(x)


def test_white_noise_level_and_seed():
    a = white_noise(2.0, level_dbfs=-30.0, seed=1)
    assert rms_dbfs(a) == pytest.approx(-30.0, abs=0.1)
    assert np.array_equal(a, white_noise(2.0, level_dbfs=-30.0, seed=1))
    assert not np.array_equal(a, white_noise(2.0, level_dbfs=-30.0, seed=2))
    assert abs(float(np.mean(a))) < 1e-3
    assert np.max(np.abs(white_noise(0.1, level_dbfs=0.0))) <= 1.0


def test_sample_count_rounds_and_rejects_nonsense():
    assert sample_count(0.02, 48000) == 960
    assert sample_count(1 / 3, 8000) == 2667
    with pytest.raises(ValueError):
        sample_count(-1.0, 48000)
    with pytest.raises(ValueError):
        sample_count(1.0, 0)


def test_db_to_amplitude():
    assert db_to_amplitude(0.0) == 1.0
    assert db_to_amplitude(-20.0) == pytest.approx(0.1)


def test_int16_round_trip_is_exact_on_the_int16_grid():
    pcm = np.arange(-32768, 32768, dtype=np.int16)
    x = from_int16(pcm)
    assert x.dtype == np.float32
    assert x.min() == -1.0 and x.max() < 1.0
    assert np.array_equal(to_int16(x), pcm)


def test_to_int16_saturates_and_rounds():
    x = np.array([-2.0, -1.0, 0.0, 0.5 / 32768, 1.0, 2.0])
    assert to_int16(x).tolist() == [-32768, -32768, 0, 0, 32767, 32767]
    assert to_int16(x).dtype == np.int16


@given(st.lists(st.floats(-1, 1, width=32), min_size=1, max_size=50))
def test_float_round_trip_error_is_below_one_step(values):
    x = np.array(values, dtype=np.float32)
    assert np.max(np.abs(from_int16(to_int16(x)) - x)) <= 1 / 32768


def test_concat_and_mix():
    a = np.full(3, 0.25, dtype=np.float32)
    b = np.full(2, 0.5, dtype=np.float32)
    assert concat(a, b).tolist() == [0.25, 0.25, 0.25, 0.5, 0.5]
    assert mix(a, b).tolist() == [0.75, 0.75, 0.25]
    assert mix(b, b, b).tolist() == [1.0, 1.0]  # clipped
    assert concat().size == 0 and mix().size == 0
