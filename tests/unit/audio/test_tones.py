from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xctest.audio.g711 import ulaw_roundtrip
from xctest.audio.signals import concat, mix, rms_dbfs, silence, sine, tones, white_noise
from xctest.audio.speech import music_like, speech_like
from xctest.audio.tones import (
    EU_BUSY,
    EU_CONGESTION,
    EU_DIAL,
    EU_RINGBACK,
    EU_TONES,
    NA_BUSY,
    NA_DIAL,
    NA_REORDER,
    NA_RINGBACK,
    NA_TONES,
    ProgressTone,
    ProgressToneDetector,
    ToneMatch,
    ToneStep,
    cadence,
    render_tone,
)

RATE = 48000
FRAME_S = 0.02
ALL = EU_TONES + NA_TONES


def detect(x: np.ndarray, watched=ALL, **kwargs) -> list[ToneMatch]:
    return ProgressToneDetector(watched, **kwargs).feed(x)


def names(matches: list[ToneMatch]) -> set[str]:
    return {m.name for m in matches}


def completed_cycles(tone: ProgressTone, onset: float, seconds: float) -> int:
    """Cycles whose next onset falls inside the signal, with one frame of smoothing latency
    and one frame to see the onset."""
    period = sum(on + off for on, off in tone.cadence) / 1000.0
    last_seen = seconds - 2 * FRAME_S
    return int(np.floor((last_seen - onset) / period + 1e-9))


# --- the plans ------------------------------------------------------------------------------


def test_plans_follow_etsi_and_north_american_standards():
    for tone in EU_TONES:
        assert tone.freqs == (425.0,)
    assert EU_DIAL.continuous
    assert EU_RINGBACK.cadence == ((1000, 4000),)
    assert EU_BUSY.cadence == ((500, 500),)
    assert EU_CONGESTION.cadence == ((250, 250),)
    assert (NA_DIAL.freqs, NA_DIAL.cadence) == ((350.0, 440.0), ())
    assert (NA_RINGBACK.freqs, NA_RINGBACK.cadence) == ((440.0, 480.0), ((2000, 4000),))
    assert (NA_BUSY.freqs, NA_BUSY.cadence) == ((480.0, 620.0), ((500, 500),))
    assert (NA_REORDER.freqs, NA_REORDER.cadence) == ((480.0, 620.0), ((250, 250),))


@pytest.mark.parametrize(
    "kwargs",
    [
        {"freqs": ()},
        {"freqs": (425.0, 425.0)},
        {"freqs": (-1.0,)},
        {"cadence": ((500, 0),)},
        {"confirm_cycles": 0},
    ],
)
def test_invalid_plans_are_refused(kwargs):
    args = {"name": "x", "freqs": (425.0,), "cadence": ((500, 500),)} | kwargs
    with pytest.raises(ValueError):
        ProgressTone(**args)


# --- generators -----------------------------------------------------------------------------


def test_render_tone_plays_the_cadence_at_the_level_asked():
    x = render_tone(EU_BUSY, 2.2, level_dbfs=-20.0)
    half = RATE // 2
    assert x.size == round(2.2 * RATE)
    for k in range(4):
        segment = x[k * half : (k + 1) * half]
        if k % 2:
            assert not segment.any()
        else:
            assert rms_dbfs(segment) == pytest.approx(-20.0, abs=0.01)
    spectrum = np.abs(np.fft.rfft(x[:half]))
    assert np.argmax(spectrum) * RATE / half == pytest.approx(425.0, abs=2.0)


def test_render_dual_and_continuous_tones():
    ring = render_tone(NA_RINGBACK, 6.0)
    on, off = ring[: 2 * RATE], ring[2 * RATE :]
    assert rms_dbfs(on) == pytest.approx(-16.0, abs=0.01) and not off.any()
    spectrum = np.abs(np.fft.rfft(on))
    peaks = sorted(np.argsort(spectrum)[-2:] * RATE / on.size)
    assert peaks == pytest.approx([440.0, 480.0], abs=1.0)
    dial = render_tone(EU_DIAL, 1.0)
    assert rms_dbfs(dial[:960]) == pytest.approx(-16.0, abs=0.1)
    assert rms_dbfs(dial[-960:]) == pytest.approx(-16.0, abs=0.1)


def test_cadence_boundaries_do_not_drift():
    # 1000 steps of 10.01 ms: rounding each step would drift by 480 samples; cumulative doesn't
    steps = [ToneStep((1000.0,) if i % 2 == 0 else (), 10.01) for i in range(1000)]
    x = cadence(steps, RATE)
    assert x.size == round(10010 * RATE / 1000)
    # the last step (silence) starts at round(9999.99 ms)
    start = round(999 * 10.01 * RATE / 1000)
    assert not x[start:].any() and x[start - 20 : start].any()


def test_cadence_renders_sequences_of_different_tones():
    sit = cadence([ToneStep((950.0,), 330), ToneStep((1400.0,), 330), ToneStep((1800.0,), 330)])
    for k, f in enumerate([950.0, 1400.0, 1800.0]):
        part = sit[round(k * 0.33 * RATE) : round((k + 1) * 0.33 * RATE)]
        assert np.argmax(np.abs(np.fft.rfft(part))) * RATE / part.size == pytest.approx(f, abs=4)


# --- detection of each tone, and nothing else -------------------------------------------------


@pytest.mark.parametrize("tone", ALL, ids=lambda t: t.name)
def test_each_tone_is_detected_as_itself_only(tone):
    onset, seconds = 0.31, 13.5
    x = concat(silence(onset), render_tone(tone, seconds - onset))
    matches = detect(x)
    assert names(matches) == {tone.name}
    assert all(abs(m.start - onset) <= FRAME_S for m in matches)
    if tone.continuous:
        expected = int((seconds - onset - 2 * FRAME_S) // 1.0)
    else:
        expected = completed_cycles(tone, onset, seconds)
    assert max(m.cycles for m in matches) == expected
    # one report per cycle from confirm_cycles on
    assert [m.cycles for m in matches] == list(range(tone.confirm_cycles, expected + 1))


def test_continuous_425_is_dial_tone_not_ringback_busy_or_congestion():
    assert names(detect(sine(425.0, 12.0, level_dbfs=-16.0))) == {"eu-dial"}


def test_ringback_on_time_is_too_short_for_dial_tone():
    det = ProgressToneDetector(EU_TONES)
    det.feed(render_tone(EU_RINGBACK, 5.5))
    assert det.cycles[0].tolist() == [0, 1, 0, 0]  # dial, ringback, busy, congestion


@pytest.mark.parametrize(
    ("on_ms", "off_ms", "expected"),
    [
        (500, 500, {"eu-busy"}),
        (420, 580, {"eu-busy"}),  # within +-20 %
        (590, 410, {"eu-busy"}),
        (350, 350, set()),  # between congestion (200-300) and busy (400-600)
        (650, 650, set()),
        (250, 250, {"eu-congestion"}),
        (210, 290, {"eu-congestion"}),  # within +-50 ms
        (150, 150, set()),
        (1000, 4000, {"eu-ringback"}),
        (1300, 4000, set()),
        (1000, 5000, set()),
    ],
)
def test_cadence_tolerance_accepts_and_rejects(on_ms, off_ms, expected):
    steps = [ToneStep((425.0,), on_ms), ToneStep((), off_ms)] * 5
    assert names(detect(cadence(steps), EU_TONES)) == expected


@pytest.mark.parametrize(
    ("freq", "on"),
    [(405.0, True), (425.0, True), (445.0, True), (395.0, False), (455.0, False)],
)
def test_single_tone_frequency_acceptance(freq, on):
    det = ProgressToneDetector([EU_BUSY])
    frames = sine(freq, 1.0, level_dbfs=-20.0, phase=0.4).reshape(-1, 960)
    assert det.frame_decisions(frames).all() == on
    assert det.frame_decisions(frames).any() == on


@pytest.mark.parametrize(
    ("freqs", "plan"),
    [((425.0,), "none"), ((440.0,), "none"), ((480.0,), "none"), ((440.0, 480.0), "ring")],
)
def test_dual_tone_needs_both_components(freqs, plan):
    det = ProgressToneDetector([NA_RINGBACK, NA_BUSY])
    frames = tones(freqs, 1.0, level_dbfs=-20.0)[37 : 37 + 40 * 960].reshape(-1, 960)
    on = det.frame_decisions(frames)
    assert on[:, 0].all() == (plan == "ring") and not on[:, 1].any()


def test_level_floor():
    assert names(detect(render_tone(EU_BUSY, 4.0, level_dbfs=-42.0), EU_TONES)) == {"eu-busy"}
    assert names(detect(render_tone(EU_BUSY, 4.0, level_dbfs=-48.0), EU_TONES)) == set()
    quiet = ProgressToneDetector(EU_TONES, min_level_dbfs=-55.0)
    assert names(quiet.feed(render_tone(EU_BUSY, 4.0, level_dbfs=-48.0))) == {"eu-busy"}


# --- robustness -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "tone", [EU_BUSY, EU_CONGESTION, NA_RINGBACK, NA_REORDER], ids=lambda t: t.name
)
def test_survives_noise_and_mu_law(tone):
    x = concat(silence(0.137), render_tone(tone, 7.0, level_dbfs=-20.0))
    noisy = mix(x, white_noise(x.size / RATE, level_dbfs=-30.0, seed=5))  # SNR 10 dB
    assert names(detect(noisy)) == {tone.name}
    assert names(detect(ulaw_roundtrip(noisy, RATE))) == {tone.name}


def test_single_frame_dropouts_are_bridged():
    x = render_tone(EU_BUSY, 6.0)
    for t in np.arange(0.2, 6.0, 1.0):  # 20 ms hole in every on period
        x[round(t * RATE) : round(t * RATE) + 960] = 0.0
    assert names(detect(x, EU_TONES)) == {"eu-busy"}


@pytest.mark.parametrize(("snr", "heard"), [(6.0, True), (3.0, False)])
def test_snr_limit_with_full_band_noise(snr, heard):
    x = render_tone(EU_BUSY, 6.0, level_dbfs=-20.0)
    noisy = mix(x, white_noise(6.0, level_dbfs=-20.0 - snr, seed=2))
    assert names(detect(noisy, EU_TONES)) == ({"eu-busy"} if heard else set())


def test_speech_music_and_noise_are_not_tones():
    for x in (speech_like(20.0), music_like(20.0), white_noise(10.0, level_dbfs=-20.0)):
        assert detect(x) == []


def test_joining_mid_tone_locks_on_at_the_next_onset():
    x = render_tone(EU_BUSY, 6.0)[round(0.3 * RATE) :]  # starts 0.3 s into an on period
    matches = detect(x, EU_TONES)
    assert matches[0].start == pytest.approx(0.7, abs=FRAME_S)
    assert matches[0].cycles == 2


def test_cycles_drop_to_zero_once_the_tone_stops():
    det = ProgressToneDetector(EU_TONES)
    det.feed(render_tone(EU_BUSY, 4.0))
    assert det.cycles[0, 2] == 3
    det.feed(silence(0.06))  # the fourth off period is 560 ms long: still a busy cadence
    assert det.cycles[0, 2] == 3
    det.feed(silence(0.2))  # 760 ms: longer than any busy off period (600 ms)
    assert det.cycles[0, 2] == 0


def test_multi_step_cadence():
    uk = ProgressTone("uk-ringback", (400.0, 450.0), ((400, 200), (400, 2000)))
    x = render_tone(uk, 9.5)
    matches = detect(x, [uk])
    assert [m.cycles for m in matches] == [1, 2, 3]
    assert all(m.start == 0.0 for m in matches)
    # only the long step repeated never completes a cycle
    wrong = cadence([ToneStep(uk.freqs, 400), ToneStep((), 2000)] * 4)
    assert detect(wrong, [uk]) == []


# --- batch ----------------------------------------------------------------------------------


def test_batch_legs_match_single_leg_detectors_whatever_the_chunking():
    seconds = 7.0
    legs = np.stack(
        [
            render_tone(EU_BUSY, seconds),
            concat(silence(0.5), render_tone(EU_CONGESTION, seconds - 0.5)),
            white_noise(seconds, level_dbfs=-30.0),
            mix(render_tone(NA_REORDER, seconds, level_dbfs=-20.0), white_noise(seconds)),
        ]
    )
    batch = ProgressToneDetector(ALL, legs=len(legs))
    got: list[ToneMatch] = []
    rng = np.random.default_rng(1)
    pos = 0
    while pos < legs.shape[1]:
        step = int(rng.integers(1, 3000))
        got += batch.feed(legs[:, pos : pos + step])
        pos += step
    for leg, x in enumerate(legs):
        single = [ToneMatch(m.name, m.start, m.cycles, leg) for m in detect(x)]
        assert [m for m in got if m.leg == leg] == single
    assert batch.cycles.shape == (4, len(ALL))
    assert batch.frames == legs.shape[1] // 960


def test_feed_checks_the_shape_and_reset_restarts():
    det = ProgressToneDetector(EU_TONES, legs=2)
    with pytest.raises(ValueError):
        det.feed(np.zeros(960, dtype=np.float32))
    det.feed(np.stack([render_tone(EU_BUSY, 3.0)] * 2))
    assert det.cycles[:, 2].tolist() == [2, 2]
    det.reset()
    assert det.frames == 0 and not det.cycles.any() and not det.tone_on.any()


def test_detector_arguments_are_checked():
    with pytest.raises(ValueError):
        ProgressToneDetector([EU_BUSY, EU_BUSY])
    with pytest.raises(ValueError):
        ProgressToneDetector([EU_BUSY], legs=0)
    with pytest.raises(ValueError):
        ProgressToneDetector([ProgressTone("hi", (5000.0,), ())], rate=8000)


@given(
    level=st.floats(-40.0, -6.0),
    snr=st.floats(10.0, 40.0),
    onset=st.floats(0.0, 1.0),
    tone=st.sampled_from([EU_BUSY, EU_CONGESTION, NA_BUSY, NA_REORDER]),
)
@settings(max_examples=20, deadline=None)
def test_property_detected_at_any_level_snr_and_onset(level, snr, onset, tone):
    seconds = onset + 3.2
    x = concat(silence(onset), render_tone(tone, 3.2, level_dbfs=level))
    x = mix(x, white_noise(x.size / RATE, level_dbfs=level - snr, seed=int(onset * 1000)))
    matches = detect(x)
    assert names(matches) == {tone.name}
    assert abs(matches[0].start - onset) <= FRAME_S + 1e-9
    assert max(m.cycles for m in matches) == completed_cycles(tone, onset, seconds)
