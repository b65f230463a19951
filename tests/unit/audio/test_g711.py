from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

from xctest.audio.g711 import (
    alaw_decode,
    alaw_encode,
    alaw_roundtrip,
    resample,
    ulaw_decode,
    ulaw_encode,
    ulaw_roundtrip,
)
from xctest.audio.signals import rms_dbfs, sine

ALL_PCM = np.arange(-32768, 32768).astype(np.int16)
ALL_CODES = np.arange(256).astype(np.uint8)
LAWS = {"ulaw": (ulaw_encode, ulaw_decode), "alaw": (alaw_encode, alaw_decode)}


def reference():
    """Python's audioop (Sun's g711.c), an independent implementation; from Python 3.13 on it
    comes from the ``audioop-lts`` package of the dev extra.  Absent, the tests fail."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import audioop  # type: ignore[import-not-found,unused-ignore]
    return audioop


# --- code points ----------------------------------------------------------------------------


def test_ulaw_code_points():
    # G.711: bits inverted, 0xFF is +0, 0x80 / 0x00 the largest magnitudes (+-8031 x 4)
    assert ulaw_encode(np.array([0, 32767, -32768])).tolist() == [0xFF, 0x80, 0x00]
    assert ulaw_decode(np.array([0xFF, 0x7F, 0x80, 0x00])).tolist() == [0, 0, 32124, -32124]


def test_alaw_code_points():
    # G.711: even bits inverted, 0xD5 / 0x55 are +-0 (decoded as +-8), 0xAA / 0x2A the largest
    assert alaw_encode(np.array([0, -1, 32767, -32768])).tolist() == [0xD5, 0x55, 0xAA, 0x2A]
    assert alaw_decode(np.array([0xD5, 0x55, 0xAA, 0x2A])).tolist() == [8, -8, 32256, -32256]


@pytest.mark.parametrize("law", sorted(LAWS))
def test_every_code_decodes_and_encodes_back(law):
    encode, decode = LAWS[law]
    again = encode(decode(ALL_CODES))
    expected = np.where(ALL_CODES == 0x7F, 0xFF, ALL_CODES) if law == "ulaw" else ALL_CODES
    assert np.array_equal(again, expected)  # mu-law 0x7F is "-0", which encodes as +0


@pytest.mark.parametrize("law", sorted(LAWS))
def test_decoder_levels_form_8_segments_of_16_doubling_steps(law):
    _, decode = LAWS[law]
    levels = np.unique(decode(ALL_CODES).astype(int))
    positive = levels[levels > 0]
    steps = np.diff(positive)
    # within each segment the step is constant; it doubles from segment to segment
    assert sorted(set(steps.tolist())) == (
        [8, 12, 16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512, 768, 1024]
        if law == "ulaw"
        else [16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512, 768, 1024]
    )
    assert len(positive) == (127 if law == "ulaw" else 128)


@pytest.mark.parametrize("law", sorted(LAWS))
def test_every_sample_maps_to_a_neighbouring_level(law):
    encode, decode = LAWS[law]
    levels = np.unique(decode(ALL_CODES).astype(int))
    x = ALL_PCM.astype(int)
    y = decode(encode(ALL_PCM)).astype(int)
    assert np.all(np.diff(y) >= 0)  # monotonic
    # no decoder level lies strictly between a sample and its reconstruction
    lo, hi = np.minimum(x, y), np.maximum(x, y)
    between = np.searchsorted(levels, hi, side="left") - np.searchsorted(levels, lo, "right")
    assert between.max() <= 0


@pytest.mark.parametrize("law", sorted(LAWS))
def test_decoders_match_audioop(law):
    audioop = reference()
    _, decode = LAWS[law]
    theirs = getattr(audioop, f"{law}2lin")(ALL_CODES.tobytes(), 2)
    assert np.array_equal(decode(ALL_CODES), np.frombuffer(theirs, dtype=np.int16))


def test_encoders_match_audioop():
    audioop = reference()
    theirs = np.frombuffer(audioop.lin2alaw(ALL_PCM.tobytes(), 2), dtype=np.uint8)
    assert np.array_equal(alaw_encode(ALL_PCM), theirs)
    theirs = np.frombuffer(audioop.lin2ulaw(ALL_PCM.tobytes(), 2), dtype=np.uint8)
    ours = ulaw_encode(ALL_PCM)
    # Sun's coder negates negative samples, G.191's one's-complements them: the two differ
    # only on the lower boundary of a negative interval, by one code
    differ = ours != theirs
    assert np.all(ALL_PCM[differ] < 0)
    assert differ.mean() < 0.01
    assert np.abs(ulaw_decode(ours[differ]) - ulaw_decode(theirs[differ])).max() <= 1024


# --- transmission quality -------------------------------------------------------------------


def sqr_db(x: np.ndarray, y: np.ndarray) -> float:
    noise = y.astype(np.float64) - x
    return 10 * math.log10(np.mean(x.astype(np.float64) ** 2) / np.mean(noise**2))


# G.712 signal-to-total-distortion for a sine: >= 35 dB from -30 to 0 dBm0, >= 29 dB at
# -40 dBm0. 0 dBm0 is 3.17 dB below a full-scale sine for mu-law (-6.17 dBFS) and 3.14 dB for
# A-law.
@pytest.mark.parametrize("channel", [ulaw_roundtrip, alaw_roundtrip])
@pytest.mark.parametrize("dbm0,minimum", [(0, 35), (-10, 35), (-20, 35), (-30, 35), (-40, 29)])
def test_quantisation_noise_meets_g712(channel, dbm0, minimum):
    level = dbm0 - 6.17
    x = sine(1020.0, 1.0, rate=8000, level_dbfs=level)
    assert sqr_db(x, channel(x, 8000)) >= minimum


@pytest.mark.parametrize("channel", [ulaw_roundtrip, alaw_roundtrip])
def test_48_khz_round_trip_passes_speech_band_only(channel):
    rate = 48000
    x = sine(1000.0, 1.0, rate=rate, level_dbfs=-20.0)
    y = channel(x, rate)
    assert y.dtype == np.float32 and y.size == x.size
    assert rms_dbfs(y) == pytest.approx(-20.0, abs=0.2)
    assert sqr_db(x[4800:-4800], y[4800:-4800]) > 30  # no delay, level kept
    assert rms_dbfs(channel(sine(6000.0, 1.0, rate=rate, level_dbfs=-20.0), rate)) < -60


def test_resample_keeps_time_and_level():
    x = sine(440.0, 0.5, rate=48000, level_dbfs=-12.0)
    down = resample(x, 48000, 8000)
    assert down.size == 4000
    assert rms_dbfs(down[400:-400]) == pytest.approx(-12.0, abs=0.05)
    up = resample(down, 8000, 48000)
    assert up.size == x.size
    assert sqr_db(x[4800:-4800], up[4800:-4800]) > 40
    assert np.array_equal(resample(x, 48000, 48000), x)


# --- the lookup-table codec of the media path -------------------------------------------------


def test_the_tables_are_the_reference_algorithm_on_every_input():
    from xctest.audio.g711 import (
        ALAW_DECODE,
        ALAW_ENCODE,
        ULAW_DECODE,
        ULAW_ENCODE,
        alaw_decode,
        alaw_encode,
        table_decode,
        table_encode,
        ulaw_decode,
        ulaw_encode,
    )

    every = np.arange(-32768, 32768, dtype=np.int32).astype(np.int16)
    assert np.array_equal(table_encode(ULAW_ENCODE, every), ulaw_encode(every))
    assert np.array_equal(table_encode(ALAW_ENCODE, every), alaw_encode(every))
    codes = np.arange(256, dtype=np.uint8)
    assert np.array_equal(table_decode(ULAW_DECODE, codes), ulaw_decode(codes))
    assert np.array_equal(table_decode(ALAW_DECODE, codes), alaw_decode(codes))
    block = every[:3200].reshape(20, 160)  # any shape: legs x samples
    assert table_encode(ULAW_ENCODE, block).shape == (20, 160)


def test_pcm16_of_saturates():
    from xctest.audio.g711 import pcm16_of

    x = np.array([-2.0, -1.0, 0.0, 0.5, 1.0, 2.0], dtype=np.float32)
    assert pcm16_of(x).tolist() == [-32768, -32767, 0, 16383, 32767, 32767]
