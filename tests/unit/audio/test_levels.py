from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xctest.audio.g711 import ulaw_roundtrip
from xctest.audio.levels import (
    Clipping,
    LevelMeter,
    clipped_fraction,
    clipping,
    is_silent,
    level_dbfs,
    non_signature_audio,
    non_signature_power,
)
from xctest.audio.signals import SILENCE_DBFS, concat, mix, silence, sine, white_noise
from xctest.audio.signature import render, signature_for
from xctest.audio.speech import music_like, speech_like

RATE = 48000
FRAME = 960


def power_sum_db(*levels: float) -> float:
    return 10 * math.log10(sum(10 ** (level / 10) for level in levels))


# --- frame levels and silence ---------------------------------------------------------------


def test_level_per_frame_follows_the_signal():
    x = concat(sine(1000, 0.1, level_dbfs=-20.0), silence(0.1), white_noise(0.1, level_dbfs=-30.0))
    levels = level_dbfs(x)
    assert levels.shape == (15,)
    assert levels[:5] == pytest.approx([-20.0] * 5, abs=0.01)
    assert levels[5:10].tolist() == [SILENCE_DBFS] * 5
    assert levels[10:] == pytest.approx([-30.0] * 5, abs=0.6)


def test_level_per_frame_in_batch_drops_the_partial_frame():
    x = np.stack([sine(1000, 0.05, level_dbfs=-10.0), sine(500, 0.05, level_dbfs=-40.0)])
    levels = level_dbfs(x)
    assert levels.shape == (2, 2)  # 2400 samples: two whole frames
    assert levels[0] == pytest.approx([-10.0, -10.0], abs=0.01)
    assert levels[1] == pytest.approx([-40.0, -40.0], abs=0.01)


def test_silence_rule_is_per_frame():
    assert is_silent(silence(1.0))
    assert is_silent(white_noise(1.0, level_dbfs=-60.0))
    assert not is_silent(white_noise(1.0, level_dbfs=-50.0))
    # one 20 ms burst at -45 dBFS in 10 s: the whole-signal RMS is -72 dBFS, yet not silent
    burst = concat(silence(5.0), sine(1000, 0.02, level_dbfs=-45.0), silence(5.0))
    assert 10 * math.log10(np.mean(burst.astype(np.float64) ** 2)) < -70
    assert not is_silent(burst)
    assert is_silent(burst, floor_dbfs=-40.0)


def test_silence_of_signals_shorter_than_a_frame():
    assert is_silent(np.zeros(0, dtype=np.float32))
    assert is_silent(np.zeros(100, dtype=np.float32))
    assert not is_silent(sine(1000, 0.002, level_dbfs=-20.0))


# --- clipping -------------------------------------------------------------------------------


def test_a_sine_with_headroom_is_not_clipped():
    c = clipping(sine(1000, 1.0, level_dbfs=-6.0))
    assert c == Clipping(total=RATE, full_scale=0, clipped=0, runs=0, longest_run=0)
    assert c.fraction == 0.0


def test_overdriven_sine_clips_where_it_exceeds_the_rail():
    # amplitude 2 (+3 dBFS RMS) clipped to [-1, 1]: |2 sin| >= 0.98 for 1 - (2/pi) asin(0.49)
    # of the time; 997 Hz is incommensurate with the rate, so the sampled share converges
    raw = 2.0 * np.sin(2 * np.pi * 997 * np.arange(RATE) / RATE)
    c = clipping(np.clip(raw, -1.0, 1.0))
    expected = 1 - 2 / math.pi * math.asin(0.49)
    assert c.fraction == pytest.approx(expected, abs=0.002)
    assert c.full_scale == c.clipped
    assert c.runs == 2 * 997  # one per half cycle
    assert c.longest_run == pytest.approx(expected * RATE / 997 / 2, abs=1)
    assert clipped_fraction(np.clip(raw, -1.0, 1.0)) == c.fraction


def test_isolated_or_alternating_full_scale_samples_are_not_clipping():
    x = np.zeros(10000, dtype=np.float32)
    x[::100] = 1.0
    c = clipping(x)
    assert (c.full_scale, c.clipped, c.runs, c.longest_run) == (100, 0, 0, 1)
    alternating = np.tile(np.array([1.0, -1.0], dtype=np.float32), 500)
    assert clipping(alternating).clipped == 0
    two = np.array([0, 1, 1, 0, -1, -1, -1, 0], dtype=np.float32)
    assert (clipping(two).clipped, clipping(two).runs, clipping(two).longest_run) == (3, 1, 3)


def test_clipping_survives_mu_law():
    # clipped at 8 kHz before the channel: the mu-law top code 32124 (0.9804) forms the plateaus
    raw = 2.0 * np.sin(2 * np.pi * 300 * np.arange(8000) / 8000)
    received = ulaw_roundtrip(np.clip(raw, -1, 1).astype(np.float32), 8000)
    assert received.max() == pytest.approx(32124 / 32768)
    c = clipping(received)
    assert c.runs == 600 and c.fraction > 0.5


@pytest.mark.parametrize(("level", "clipped"), [(-3.02, True), (-3.4, False)])
def test_a_sine_peaking_within_0_18_db_of_full_scale_counts_as_clipped(level, clipped):
    x = sine(1000, 0.1, level_dbfs=level)  # peak 0.9999 or 0.958
    assert (clipping(x).clipped > 0) == clipped


def reference_clipping(x, threshold=0.98, min_run=3):
    """Plain loop over runs of same-sign samples at |x| >= threshold."""
    runs = []
    sign, length = 0, 0
    for v in x.tolist() + [0.0]:
        s = 1 if v >= threshold else -1 if v <= -threshold else 0
        if s == sign and s != 0:
            length += 1
            continue
        if sign != 0:
            runs.append(length)
        sign, length = s, 1
    long_runs = [r for r in runs if r >= min_run]
    return Clipping(len(x), sum(runs), sum(long_runs), len(long_runs), max(runs, default=0))


@given(
    st.lists(st.sampled_from([-1.0, -0.99, -0.5, 0.0, 0.5, 0.97, 0.98, 1.0]), max_size=200),
    st.integers(1, 5),
)
@settings(max_examples=100, deadline=None)
def test_property_clipping_matches_a_plain_loop(values, min_run):
    x = np.array(values, dtype=np.float32)
    assert clipping(x, min_run=min_run) == reference_clipping(x, min_run=min_run)


def test_clipping_arguments_are_checked():
    with pytest.raises(ValueError):
        clipping(np.zeros(3), min_run=0)
    with pytest.raises(ValueError):
        clipping(np.zeros(3), threshold=1.5)


# --- the streaming meter --------------------------------------------------------------------


def test_meter_tracks_each_leg():
    legs = np.stack(
        [
            sine(1000, 1.0, level_dbfs=-20.0),
            silence(1.0),
            np.clip(sine(500, 1.0, level_dbfs=3.0) * 1.0, -1, 1),
        ]
    )
    meter = LevelMeter(legs=3)
    levels = meter.feed(legs)
    assert levels.shape == (3, 50)
    assert meter.rms_dbfs[0] == pytest.approx(-20.0, abs=0.01)
    assert meter.rms_dbfs[1] == SILENCE_DBFS
    assert meter.peak[0] == pytest.approx(math.sqrt(2) * 10 ** (-20 / 20), rel=1e-3)
    assert meter.silent.tolist() == [False, True, False]
    assert meter.silent_frames.tolist() == [0, 50, 0]
    assert meter.clipped[:2].tolist() == [0, 0] and meter.clipped[2] > 0
    assert meter.clip_runs[2] == 1000  # 500 Hz for 1 s: two runs per cycle
    assert meter.last_dbfs[0] == pytest.approx(-20.0, abs=0.01)
    assert meter.loudest_dbfs[1] == SILENCE_DBFS
    assert (meter.samples, meter.frames) == (RATE, 50)


def test_meter_counts_a_run_split_across_chunks_once():
    x = np.zeros(100, dtype=np.float32)
    x[40:50] = 1.0
    meter = LevelMeter()
    for part in np.split(x, [42, 43, 45, 80]):
        meter.feed(part)
    assert (meter.clipped[0], meter.clip_runs[0], meter.longest_clip_run[0]) == (10, 1, 10)
    assert meter.full_scale[0] == 10


def test_meter_checks_shape_and_resets():
    meter = LevelMeter(legs=2)
    with pytest.raises(ValueError):
        meter.feed(np.zeros(960, dtype=np.float32))
    meter.feed(np.ones((2, 1000), dtype=np.float32))
    meter.reset()
    assert meter.samples == 0 and meter.frames == 0
    assert meter.clipped.tolist() == [0, 0] and meter.peak.tolist() == [0.0, 0.0]
    assert meter.feed(np.zeros((2, 959), dtype=np.float32)).shape == (2, 0)


@given(
    chunks=st.lists(st.integers(0, 3000), min_size=1, max_size=15),
    legs=st.integers(1, 3),
    gain=st.floats(0.5, 4.0),
)
@settings(max_examples=30, deadline=None)
def test_property_meter_equals_the_offline_functions_whatever_the_chunking(chunks, legs, gain):
    n = sum(chunks)
    x = np.stack(
        [
            np.clip(gain * white_noise(n / RATE, level_dbfs=-12.0, seed=leg), -1, 1)
            for leg in range(legs)
        ]
    ).reshape(legs, n)
    meter = LevelMeter(legs=legs)
    pieces = []
    pos = 0
    for size in chunks:
        pieces.append(meter.feed(x[:, pos : pos + size]))
        pos += size
    assert np.allclose(np.concatenate(pieces, axis=1), level_dbfs(x), atol=1e-4)
    for leg in range(legs):
        c = clipping(x[leg])
        assert meter.clipped[leg] == c.clipped and meter.clip_runs[leg] == c.runs
        assert meter.full_scale[leg] == c.full_scale
        assert meter.longest_clip_run[leg] == c.longest_run
        assert meter.peak[leg] == (np.abs(x[leg]).max() if n else 0.0)


@given(level=st.floats(-80.0, -30.0), snr=st.floats(-10.0, 40.0), freq=st.integers(100, 3400))
@settings(max_examples=40, deadline=None)
def test_property_meter_reads_level_of_tone_plus_noise(level, snr, freq):
    # the sum stays below -20 dBFS, so mix() never clips it
    noise_level = level - snr
    x = mix(
        sine(freq, 0.5, level_dbfs=level),
        white_noise(0.5, level_dbfs=noise_level, seed=freq),
    )
    meter = LevelMeter()
    meter.feed(x)
    # over n samples, the noise's power and its cross term with the tone are random (5 sigma),
    # and a partial cycle moves the tone's mean square by up to 1 / (n sin(2 pi f / rate))
    ps, pn = 10 ** (level / 10), 10 ** (noise_level / 10)

    def tolerance(n: int) -> float:
        sigma = math.sqrt((2 * pn * pn + 4 * ps * pn) / n)
        partial = ps / (n * math.sin(2 * math.pi * freq / RATE))
        return 10 / math.log(10) * (5 * sigma + partial) / (ps + pn) + 0.001

    expected = power_sum_db(level, noise_level)
    assert meter.rms_dbfs[0] == pytest.approx(expected, abs=tolerance(x.size))
    assert meter.last_dbfs[0] == pytest.approx(expected, abs=tolerance(FRAME))


# --- non-signature audio (music on hold) ----------------------------------------------------


def test_music_is_non_signature_audio():
    result = non_signature_audio(music_like(4.0, level_dbfs=-20.0))
    assert result.present and result.share > 0.9
    assert result.level_dbfs == pytest.approx(-20.0, abs=1.5)


@pytest.mark.parametrize("level", [-6.0, -16.0, -35.0])
def test_a_signature_alone_is_not_non_signature_audio(level):
    x = render(signature_for(3), 3.0, level_dbfs=level)
    for received in (x, ulaw_roundtrip(x, RATE)):
        result = non_signature_audio(received)
        assert not result.present and result.active == 0


def test_a_conference_of_signatures_is_not_non_signature_audio():
    parts = [
        render(signature_for(i), 3.0, level_dbfs=lv) for i, lv in [(0, -16), (4, -26), (6, -20)]
    ]
    assert non_signature_audio(ulaw_roundtrip(mix(*parts), RATE)).active == 0


def test_music_under_a_signature_is_found_down_to_10_db_below_it():
    sig = render(signature_for(1), 4.0, level_dbfs=-16.0)
    assert non_signature_audio(mix(sig, music_like(4.0, level_dbfs=-26.0))).present
    assert not non_signature_audio(mix(sig, music_like(4.0, level_dbfs=-36.0))).present


def test_silence_and_quiet_music_are_not_non_signature_audio():
    assert not non_signature_audio(silence(2.0)).present
    assert not non_signature_audio(music_like(3.0, level_dbfs=-50.0)).present
    assert non_signature_audio(music_like(3.0, level_dbfs=-40.0)).present


def test_speech_and_noise_are_non_signature_audio_too():
    assert non_signature_audio(speech_like(6.0)).present
    assert non_signature_audio(white_noise(2.0, level_dbfs=-30.0)).present


def test_non_signature_power_in_batch():
    x = np.stack([render(signature_for(0), 0.2), white_noise(0.2, level_dbfs=-30.0)])
    residual, total = non_signature_power(x)
    assert residual.shape == total.shape == (2, 10)
    assert (residual[0] < 1e-4 * total[0]).all()
    assert residual[1] == pytest.approx(total[1], rel=0.05)
