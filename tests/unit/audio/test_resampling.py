"""Streaming 48 kHz <-> 8 kHz conversion: block by block equals whole, tones keep their
frequency and level, what is above the low rate's band is removed."""

from __future__ import annotations

import numpy as np
import pytest

from xctest.audio.resampling import Decimator, Interpolator
from xctest.audio.signals import rms_dbfs, sine


@pytest.mark.parametrize("kind", [Decimator, Interpolator])
def test_twenty_ms_blocks_give_what_the_whole_stream_gives(kind):
    rate = 48000 if kind is Decimator else 8000
    x = sine(1000.0, 0.5, rate, -10.0) + sine(2500.0, 0.5, rate, -20.0)
    whole = kind()(x)
    block = rate // 50
    converter = kind()
    parts = np.concatenate([converter(x[i : i + block]) for i in range(0, x.size, block)])
    assert np.allclose(parts, whole, atol=1e-5)
    assert whole.size == (x.size // 6 if kind is Decimator else x.size * 6)


@pytest.mark.parametrize("freq", [400.0, 1586.0, 3000.0])
def test_a_telephone_band_tone_keeps_its_level_both_ways(freq):
    x = sine(freq, 1.0, 48000, -16.0)
    narrow = Decimator()(x)
    back = Interpolator()(narrow)
    settled = slice(4800, None)  # past the filters' start
    assert rms_dbfs(narrow[800:]) == pytest.approx(-16.0, abs=0.3)
    assert rms_dbfs(back[settled]) == pytest.approx(-16.0, abs=0.5)
    spectrum = np.abs(np.fft.rfft(narrow[800:]))
    peak = np.argmax(spectrum) * 8000 / (narrow.size - 800)
    assert peak == pytest.approx(freq, abs=2.0)


def test_what_is_above_the_narrow_band_is_removed():
    x = sine(6000.0, 1.0, 48000, -10.0)  # would alias to 2 kHz at 8 kHz
    assert rms_dbfs(Decimator()(x)[800:]) < -50.0
