from __future__ import annotations

import av
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xctest.audio.delay import (
    PROBE_BAND_HZ,
    DelayEstimate,
    correlation_coefficients,
    delay_probe,
    estimate_delay,
)
from xctest.audio.g711 import alaw_roundtrip, resample, ulaw_roundtrip
from xctest.audio.signals import concat, from_int16, mix, rms_dbfs, silence, to_int16, white_noise
from xctest.audio.speech import music_like, speech_like

RATE = 48000
KINDS = ["chirp", "mls"]


def delayed(probe: np.ndarray, delay_samples: int, tail: float = 0.6) -> np.ndarray:
    return concat(silence(delay_samples / RATE), probe, silence(tail))


def ms(samples: int, rate: int = RATE) -> float:
    return samples * 1000.0 / rate


def opus_round_trip(x: np.ndarray, bit_rate: int = 32000) -> np.ndarray:
    """libopus at 48 kHz mono, 20 ms frames (adds the codec's own constant latency)."""
    enc = av.CodecContext.create("libopus", "w")
    enc.sample_rate, enc.layout, enc.format, enc.bit_rate = RATE, "mono", "s16", bit_rate
    dec = av.CodecContext.create("libopus", "r")
    dec.sample_rate, dec.layout, dec.format = RATE, "mono", "s16"
    pcm = to_int16(x)
    packets = []
    for i in range(0, pcm.size - 960 + 1, 960):
        frame = av.AudioFrame.from_ndarray(pcm[None, i : i + 960], format="s16", layout="mono")
        frame.sample_rate, frame.pts = RATE, i
        packets += enc.encode(frame)
    packets += enc.encode(None)
    out = [f.to_ndarray().reshape(-1) for p in packets for f in dec.decode(p)]
    return from_int16(np.concatenate(out))


def through_8k(x: np.ndarray) -> np.ndarray:
    return resample(resample(x, RATE, 8000), 8000, RATE)


# --- the probes -----------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_probe_level_length_band_and_fades(kind):
    p = delay_probe(kind, 1.0, RATE, level_dbfs=-20.0)
    assert p.dtype == np.float32 and p.size == RATE
    assert rms_dbfs(p) == pytest.approx(-20.0, abs=0.01)
    assert abs(p[0]) < 1e-3 and abs(p[-1]) < 1e-3
    spectrum = np.abs(np.fft.rfft(p.astype(np.float64))) ** 2
    freqs = np.fft.rfftfreq(p.size, 1 / RATE)
    low, high = PROBE_BAND_HZ
    inside = spectrum[(freqs >= low - 100) & (freqs <= high + 100)].sum()
    assert inside / spectrum.sum() > 0.99
    assert np.array_equal(p, delay_probe(kind, 1.0, RATE, level_dbfs=-20.0))


def test_probe_arguments_are_checked():
    with pytest.raises(ValueError):
        delay_probe("sweep")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        delay_probe("chirp", 1.0, rate=6000)
    with pytest.raises(ValueError):
        delay_probe("chirp", 0.0)
    with pytest.raises(ValueError):
        estimate_delay(delay_probe(), silence(1.0), max_delay_s=0.1, min_delay_s=0.2)


# --- known delays -----------------------------------------------------------------------------


DELAYS = [0, 18, 960, 5923, 12000, 23999]  # samples: 0 to 499.98 ms


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("delay", DELAYS)
def test_known_delay_clean_noisy_and_transcoded(kind, delay):
    probe = delay_probe(kind)
    rx = delayed(probe, delay)
    received = {
        "clean": rx,
        "snr 10 dB": mix(rx, white_noise(rx.size / RATE, level_dbfs=-26.0, seed=delay)),
        "mu-law": ulaw_roundtrip(rx, RATE),
        "a-law": alaw_roundtrip(rx, RATE),
        "8 kHz": through_8k(rx),
    }
    for name, y in received.items():
        est = estimate_delay(probe, y, RATE, max_delay_s=0.6)
        assert est is not None, name
        assert est.delay_ms == pytest.approx(ms(delay), abs=1.0), name
        assert est.correlation > 0.9 and est.peak_ratio > 4, name


def test_sub_sample_accuracy_at_8_khz():
    probe48 = delay_probe("chirp")
    for delay in (592, 593, 595, 597):  # 98.67, 98.83, 99.17, 99.5 samples at 8 kHz
        received = resample(delayed(probe48, delay), RATE, 8000)
        est = estimate_delay(resample(probe48, RATE, 8000), received, 8000, max_delay_s=0.5)
        assert est is not None
        assert est.delay_ms == pytest.approx(ms(delay), abs=0.02)


@pytest.mark.parametrize("kind", KINDS)
def test_opus_adds_only_its_own_constant_latency(kind):
    probe = delay_probe(kind)
    base = estimate_delay(probe, opus_round_trip(delayed(probe, 0)))
    assert base is not None and 0.0 <= base.delay_ms < 10.0
    for delay in (4321, 17777):
        est = estimate_delay(probe, opus_round_trip(delayed(probe, delay)))
        assert est is not None
        assert est.delay_ms - base.delay_ms == pytest.approx(ms(delay), abs=1.0)


def test_mu_law_with_noise_and_a_quiet_received_level():
    probe = delay_probe("chirp", level_dbfs=-16.0)
    rx = 10 ** (-30 / 20) * delayed(probe, 7777)  # received 30 dB down: -46 dBFS
    rx = mix(rx, white_noise(rx.size / RATE, level_dbfs=-56.0, seed=3))
    est = estimate_delay(probe, ulaw_roundtrip(rx, RATE))
    assert est is not None and est.delay_ms == pytest.approx(ms(7777), abs=1.0)


def test_negative_delay_when_allowed():
    probe = delay_probe("chirp")
    received = concat(probe[4800:], silence(0.5))  # recording started 100 ms late
    assert estimate_delay(probe, received) is None  # by default only 0..1 s is searched
    est = estimate_delay(probe, received, min_delay_s=-0.5)
    assert est is not None and est.delay_ms == pytest.approx(-100.0, abs=1.0)


def test_a_quieter_echo_does_not_move_the_estimate():
    probe = delay_probe("chirp")
    rx = mix(delayed(probe, 4800), 0.25 * delayed(probe, 9600))  # echo 12 dB down, 100 ms later
    est = estimate_delay(probe, rx)
    assert est is not None and est.delay_ms == pytest.approx(100.0, abs=1.0)
    assert 3.0 < est.peak_ratio < 5.0


# --- the probe is absent ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "received",
    [
        silence(2.0),
        white_noise(2.0, level_dbfs=-20.0),
        speech_like(2.0),
        music_like(2.0),
    ],
    ids=["silence", "noise", "speech", "music"],
)
@pytest.mark.parametrize("kind", KINDS)
def test_no_estimate_without_the_probe(kind, received):
    assert estimate_delay(delay_probe(kind), received) is None


def test_the_other_probe_is_not_this_probe():
    assert estimate_delay(delay_probe("mls"), delayed(delay_probe("chirp"), 1000)) is None
    assert estimate_delay(delay_probe("chirp"), delayed(delay_probe("mls"), 1000)) is None


def test_probe_heard_twice_at_equal_level_is_ambiguous():
    probe = delay_probe("chirp")
    rx = mix(delayed(probe, 4800), delayed(probe, 9600))
    assert estimate_delay(probe, rx) is None


def test_delay_beyond_the_search_window_is_not_found():
    probe = delay_probe("chirp")
    assert estimate_delay(probe, delayed(probe, 28800), max_delay_s=0.5) is None


def test_correlation_coefficients_are_one_for_a_copy_and_bounded():
    probe = delay_probe("mls", 0.25)
    rho = correlation_coefficients(probe, delayed(probe, 100, tail=0.0), 0, 200)
    assert rho.shape == (201,)
    assert rho[100] == pytest.approx(1.0, abs=1e-6)
    assert np.abs(rho).max() <= 1.0 + 1e-9


# --- properties -------------------------------------------------------------------------------


@given(
    delay=st.integers(0, 24000),
    level=st.floats(-40.0, -6.0),
    snr=st.floats(0.0, 30.0),
    kind=st.sampled_from(KINDS),
    channel=st.sampled_from(["none", "mu-law", "8 kHz"]),
)
@settings(max_examples=30, deadline=None)
def test_property_delay_within_1_ms(delay, level, snr, kind, channel):
    probe = delay_probe(kind, level_dbfs=level)
    rx = delayed(probe, delay, tail=0.1)
    rx = mix(rx, white_noise(rx.size / RATE, level_dbfs=level - snr, seed=delay))
    if channel == "mu-law":
        rx = ulaw_roundtrip(rx, RATE)
    elif channel == "8 kHz":
        rx = through_8k(rx)
    est = estimate_delay(probe, rx, RATE, max_delay_s=0.5)
    assert isinstance(est, DelayEstimate)
    assert est.delay_ms == pytest.approx(ms(delay), abs=1.0)


@given(level=st.floats(-60.0, -6.0), seed=st.integers(0, 10_000), kind=st.sampled_from(KINDS))
@settings(max_examples=20, deadline=None)
def test_property_noise_alone_never_yields_an_estimate(level, seed, kind):
    assert estimate_delay(delay_probe(kind), white_noise(1.6, level_dbfs=level, seed=seed)) is None
