from __future__ import annotations

import itertools
import math

import av
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xctest.audio.dtmf import (
    DTMF_KEYS,
    DTMF_RATES,
    DTMF_TABLE,
    DtmfBatchDetector,
    DtmfDetector,
    DtmfDigit,
    dtmf_tones,
)
from xctest.audio.g711 import alaw_roundtrip, resample, ulaw_roundtrip
from xctest.audio.signals import (
    concat,
    from_int16,
    mix,
    rms_dbfs,
    silence,
    sine,
    to_int16,
    white_noise,
)
from xctest.audio.speech import music_like, speech_like

RATES = [8000, 48000]

# ITU-T Q.23, written out independently of the module's table
Q23 = {
    "1": (697, 1209), "2": (697, 1336), "3": (697, 1477), "A": (697, 1633),
    "4": (770, 1209), "5": (770, 1336), "6": (770, 1477), "B": (770, 1633),
    "7": (852, 1209), "8": (852, 1336), "9": (852, 1477), "C": (852, 1633),
    "*": (941, 1209), "0": (941, 1336), "#": (941, 1477), "D": (941, 1633),
}  # fmt: skip


# --- helpers --------------------------------------------------------------------------------


def detect(x: np.ndarray, rate: int, **options) -> list[DtmfDigit]:
    detector = DtmfDetector(rate, **options)
    return detector.feed(x) + detector.flush()


def keys(digits: list[DtmfDigit]) -> str:
    return "".join(d.digit for d in digits)


def pair_dbfs(level: float, twist: float) -> float:
    """RMS of both tones together, as dtmf_tones() makes them."""
    return 10 * math.log10(10 ** ((level - twist / 2) / 10) + 10 ** ((level + twist / 2) / 10))


def band_noise(seconds: float, rate: int, level_dbfs: float, seed: int) -> np.ndarray:
    """White noise over the telephone band, 0-4 kHz, of RMS level_dbfs at any rate."""
    noise = white_noise(seconds, rate=8000, level_dbfs=level_dbfs, seed=seed)
    return noise if rate == 8000 else resample(noise, 8000, rate)[: round(seconds * rate)]


def with_noise(x: np.ndarray, rate: int, snr_db: float, level: float, twist: float, seed: int):
    noise = band_noise(x.size / rate, rate, pair_dbfs(level, twist) - snr_db, seed)
    return mix(x, noise)


def truth(digits: str, tone_ms: float, pause_ms: float) -> list[tuple[str, float, float]]:
    period = (tone_ms + pause_ms) / 1000
    return [(d, i * period, i * period + tone_ms / 1000) for i, d in enumerate(digits)]


def assert_timed(got: list[DtmfDigit], digits: str, tone_ms: float, pause_ms: float, tol: float):
    assert keys(got) == digits
    for d, (_, start, end) in zip(got, truth(digits, tone_ms, pause_ms), strict=True):
        assert d.start == pytest.approx(start, abs=tol)
        assert d.end == pytest.approx(end, abs=tol)


def opus_round_trip(x: np.ndarray, bit_rate: int) -> np.ndarray:
    """libopus at 48 kHz mono, 20 ms frames; returns the decoder's output (it lags)."""
    frame = 960
    enc = av.CodecContext.create("libopus", "w")
    enc.sample_rate, enc.layout, enc.format, enc.bit_rate = 48000, "mono", "s16", bit_rate
    dec = av.CodecContext.create("libopus", "r")
    dec.sample_rate, dec.layout, dec.format = 48000, "mono", "s16"
    pcm = to_int16(concat(x, silence(0.06)))
    packets = []
    for i in range(0, pcm.size - frame + 1, frame):
        f = av.AudioFrame.from_ndarray(pcm[None, i : i + frame], format="s16", layout="mono")
        f.sample_rate = 48000
        f.pts = i
        packets += enc.encode(f)
    packets += enc.encode(None)
    out = [f.to_ndarray().reshape(-1) for p in packets for f in dec.decode(p)]
    return from_int16(np.concatenate(out))


# --- the key table and the generator --------------------------------------------------------


def test_key_table_is_q23():
    assert sorted(DTMF_KEYS) == sorted(Q23)
    assert {k: tuple(int(f) for f in v) for k, v in DTMF_TABLE.items()} == Q23


def spectrum_level(x: np.ndarray, rate: int, freq: float) -> float:
    """RMS level (dBFS) of the component at `freq` of exactly one second of signal."""
    assert x.size == rate
    amplitude = 2 * np.abs(np.fft.rfft(x.astype(np.float64))[round(freq)]) / x.size
    return 20 * math.log10(amplitude / math.sqrt(2))


@pytest.mark.parametrize("key", ["1", "5", "C", "#"])
def test_generator_levels_twist_and_frequencies(key):
    low, high = Q23[key]
    x = dtmf_tones(key, rate=8000, tone_ms=1000, pause_ms=0, level_dbfs=-20, twist_db=6)
    assert spectrum_level(x, 8000, low) == pytest.approx(-23, abs=0.01)
    assert spectrum_level(x, 8000, high) == pytest.approx(-17, abs=0.01)
    assert rms_dbfs(x) == pytest.approx(pair_dbfs(-20, 6), abs=0.01)
    shifted = dtmf_tones(key, rate=8000, tone_ms=1000, pause_ms=0, freq_offset=0.02)
    spectrum = np.abs(np.fft.rfft(shifted.astype(np.float64)))
    peaks = sorted(np.argsort(spectrum)[-2:])
    assert peaks == [round(low * 1.02), round(high * 1.02)]


def test_generator_cadence():
    rate = 8000
    x = dtmf_tones("123", rate=rate, tone_ms=50, pause_ms=30)
    assert x.size == 3 * 80 * 8
    sounding = np.abs(x) > 0
    for start in (0, 80, 160):  # ms
        tone = slice(start * 8, (start + 50) * 8)
        gap = slice((start + 50) * 8, (start + 80) * 8)
        assert sounding[tone].mean() > 0.95
        assert not sounding[gap].any()


def test_generator_rejects_unknown_keys():
    with pytest.raises(ValueError, match="not a DTMF key"):
        dtmf_tones("12x")
    assert np.array_equal(dtmf_tones("abcd"), dtmf_tones("ABCD"))


# --- acceptance corners: every digit must be received ---------------------------------------


ACCEPT = {
    "nominal": {},
    "+1.5 %": {"freq_offset": 0.015},
    "-1.5 %": {"freq_offset": -0.015},
    "40 ms tone, 40 ms pause": {"tone_ms": 40, "pause_ms": 40},
    "forward twist +4 dB": {"twist_db": 4},
    "reverse twist -8 dB": {"twist_db": -8},
    "hot: -10 dBFS per tone": {"level_dbfs": -10},
    "low: -40 dBFS per tone": {"level_dbfs": -40},
    "near the floor: -44 dBFS per tone": {"level_dbfs": -44},
}


@pytest.mark.parametrize("rate", RATES)
@pytest.mark.parametrize("corner", sorted(ACCEPT))
def test_every_digit_at_the_acceptance_corners(rate, corner):
    options = {"tone_ms": 70, "pause_ms": 70, **ACCEPT[corner]}
    got = detect(dtmf_tones(DTMF_KEYS, rate=rate, **options), rate)
    assert_timed(got, DTMF_KEYS, options["tone_ms"], options["pause_ms"], tol=0.003)


@pytest.mark.parametrize("rate", RATES)
@pytest.mark.parametrize("seed", range(3))
def test_every_digit_at_15_db_snr(rate, seed):
    x = with_noise(dtmf_tones(DTMF_KEYS, rate=rate), rate, 15.0, -10.0, 0.0, seed)
    assert_timed(detect(x, rate), DTMF_KEYS, 70, 70, tol=0.005)


@pytest.mark.parametrize("rate", RATES)
@pytest.mark.parametrize(
    "twist,offset", [(-8, -0.015), (-8, 0.015), (4, -0.015), (4, 0.015)], ids=str
)
def test_every_digit_with_all_corners_at_once(rate, twist, offset):
    # 40 ms tones and pauses, +-1.5 %, extreme twist, low level and 15 dB SNR together
    options = dict(tone_ms=40, pause_ms=40, level_dbfs=-36, twist_db=twist, freq_offset=offset)
    x = with_noise(dtmf_tones(DTMF_KEYS, rate=rate, **options), rate, 15.0, -36, twist, 7)
    assert_timed(detect(x, rate), DTMF_KEYS, 40, 40, tol=0.01)


@pytest.mark.parametrize("rate", RATES)
def test_repeated_digits_split_by_40_ms_pauses(rate):
    x = dtmf_tones("11555##", rate=rate, tone_ms=40, pause_ms=40)
    assert_timed(detect(x, rate), "11555##", 40, 40, tol=0.003)


@pytest.mark.parametrize("rate", RATES)
@pytest.mark.parametrize("at_ms", [40, 43, 46, 49, 52])
def test_a_10_ms_interruption_does_not_split_a_digit(rate, at_ms):
    x = dtmf_tones("7", rate=rate, tone_ms=110, pause_ms=100)
    x[round(at_ms * rate / 1000) : round((at_ms + 10) * rate / 1000)] = 0.0
    (digit,) = detect(x, rate)
    assert digit.digit == "7"
    # the hole holds no tone: the measured tone is 10 ms shorter, centred alike
    assert digit.start == pytest.approx(0.0, abs=0.006)
    assert digit.end == pytest.approx(0.11, abs=0.006)


@pytest.mark.parametrize("rate", RATES)
def test_a_20_ms_interruption_splits_a_digit(rate):
    x = dtmf_tones("7", rate=rate, tone_ms=110, pause_ms=100)
    x[round(0.045 * rate) : round(0.065 * rate)] = 0.0
    assert keys(detect(x, rate)) == "77"


# --- rejection corners: nothing may be received ---------------------------------------------


REJECT = {
    "+3.5 %": {"freq_offset": 0.035},
    "-3.5 %": {"freq_offset": -0.035},
    "20 ms tone": {"tone_ms": 20, "pause_ms": 60},
    "22 ms tone": {"tone_ms": 22, "pause_ms": 60},
    "forward twist +8 dB": {"twist_db": 8},
    "reverse twist -12 dB": {"twist_db": -12},
    "below the floor: -48 dBFS per tone": {"level_dbfs": -48},
}


@pytest.mark.parametrize("rate", RATES)
@pytest.mark.parametrize("corner", sorted(REJECT))
def test_no_digit_at_the_rejection_corners(rate, corner):
    assert detect(dtmf_tones(DTMF_KEYS, rate=rate, **REJECT[corner]), rate) == []


def pair(low: float, high: float, rate: int, seconds: float = 0.1) -> np.ndarray:
    """One digit-like tone pair at -10 dBFS per tone, then 50 ms of silence."""
    return concat(sine(low, seconds, rate, -10) + sine(high, seconds, rate, -10),
                  silence(0.05, rate))  # fmt: skip


@pytest.mark.parametrize("key", sorted(Q23))
def test_one_tone_off_frequency_is_enough_to_reject(key):
    low, high = Q23[key]
    for f_low, f_high in ((low * 1.035, high), (low, high * 0.965)):
        assert detect(pair(f_low, f_high, 8000), 8000) == []
    assert keys(detect(pair(low * 0.985, high * 1.015, 8000), 8000)) == key


# --- each talk-off rule, in isolation -------------------------------------------------------


def test_energy_rule_rejects_a_digit_with_a_third_tone():
    rate = 8000
    low, high = Q23["5"]
    x = concat(
        sine(low, 0.1, rate, -10) + sine(high, 0.1, rate, -10) + sine(500, 0.1, rate, -18),
        silence(0.05, rate),
    )  # the pair holds 0.87 of the power
    assert detect(x, rate) == []
    assert keys(detect(x, rate, min_tone_share=0.8)) == "5"


def test_harmonic_rule_rejects_a_digit_with_strong_second_harmonics():
    rate = 8000
    low, high = Q23["9"]  # 2 x 852 is 227 Hz from 1477: both harmonics are checked
    pair = sine(low, 0.1, rate, -10) + sine(high, 0.1, rate, -10)
    x = concat(pair + sine(2 * high, 0.1, rate, -25), silence(0.05, rate))
    relaxed = {"min_tone_share": 0.5}  # so that only the harmonic rule can reject
    assert detect(x, rate, **relaxed) == []  # harmonic 15 dB below the pair
    assert keys(detect(x, rate, harmonic_margin_db=10, **relaxed)) == "9"
    weak = concat(pair + sine(2 * high, 0.1, rate, -40), silence(0.05, rate))
    assert keys(detect(weak, rate)) == "9"  # 30 dB below: a real sender's distortion


def test_octave_rule_rejects_a_note_and_its_octave():
    rate = 8000
    low, high = Q23["C"]  # 2 x 852 = 1704, 4.3 % above 1633
    f = low * 0.98  # 835 Hz; its octave 1670 Hz is 2.3 % above 1633
    x = concat(sine(f, 0.1, rate, -10) + sine(2 * f, 0.1, rate, -14), silence(0.05, rate))
    assert detect(x, rate) == []
    assert keys(detect(x, rate, octave_tolerance=0.0)) == "C"
    # real digits at the worst +-1.5 % corner stay 1.2 % away from an octave
    for key in "26C":
        low, high = Q23[key]
        assert keys(detect(pair(low * 0.985, high * 1.015, rate), rate)) == key


# --- codecs ---------------------------------------------------------------------------------


@pytest.mark.parametrize("channel", [ulaw_roundtrip, alaw_roundtrip])
@pytest.mark.parametrize("rate", RATES)
@pytest.mark.parametrize("level", [-10, -25, -40])
def test_digit_strings_survive_g711(channel, rate, level):
    x = dtmf_tones(DTMF_KEYS, rate=rate, tone_ms=40, pause_ms=40, level_dbfs=level)
    assert_timed(detect(channel(x, rate), rate), DTMF_KEYS, 40, 40, tol=0.003)


@pytest.mark.parametrize("bit_rate", [32000, 96000])
@pytest.mark.parametrize("level", [-10, -25, -40])
def test_digit_strings_survive_opus(bit_rate, level):
    x = dtmf_tones(DTMF_KEYS * 2, rate=48000, tone_ms=40, pause_ms=40, level_dbfs=level)
    got = detect(opus_round_trip(x, bit_rate), 48000)
    assert keys(got) == DTMF_KEYS * 2
    # the decoder's output lags by its look-ahead (6.5 ms); the spacing is kept
    lag = got[0].start
    assert 0.0 <= lag <= 0.015
    assert_timed([DtmfDigit(d.digit, d.start - lag, d.end - lag) for d in got],
                 DTMF_KEYS * 2, 40, 40, tol=0.005)  # fmt: skip


# --- talk-off -------------------------------------------------------------------------------


@pytest.mark.parametrize("generate", [speech_like, music_like])
def test_three_minutes_of_speech_or_music_give_no_digit(generate):
    # six talkers or pieces of 30 s each, as six legs of one batch detector
    rate, seconds = 8000, 30.0
    legs = np.stack([generate(seconds, rate=rate, seed=seed) for seed in range(6)])
    detector = DtmfBatchDetector(len(legs), rate)
    assert detector.feed(legs) + detector.flush() == []


def test_talk_off_at_48_khz_and_other_levels():
    rate = 48000
    x = concat(
        speech_like(20.0, rate=rate, level_dbfs=-8.0, seed=11),
        music_like(20.0, rate=rate, level_dbfs=-30.0, seed=12),
    )
    assert detect(x, rate) == []


def test_speech_does_not_hide_a_digit_after_it():
    rate = 8000
    x = concat(speech_like(2.0, rate=rate, seed=3), dtmf_tones("0#", rate=rate))
    got = detect(x, rate)
    assert keys(got) == "0#"
    assert got[0].start == pytest.approx(2.0, abs=0.003)


# --- properties -----------------------------------------------------------------------------


@given(
    digits=st.text(alphabet=DTMF_KEYS, min_size=1, max_size=5),
    level=st.floats(-40.0, -10.0),
    twist=st.floats(-8.0, 4.0),
    offset=st.floats(-0.015, 0.015),
    tone_ms=st.integers(40, 90),
    pause_ms=st.integers(40, 90),
    snr=st.one_of(st.none(), st.floats(15.0, 40.0)),
    seed=st.integers(0, 2**16),
    rate=st.sampled_from(RATES),
)
@settings(max_examples=100, deadline=None)
def test_any_digits_in_the_acceptance_range_are_decoded(
    digits, level, twist, offset, tone_ms, pause_ms, snr, seed, rate
):
    options = dict(level_dbfs=level, twist_db=twist, freq_offset=offset)
    x = dtmf_tones(digits, rate=rate, tone_ms=tone_ms, pause_ms=pause_ms, **options)
    if snr is not None:
        x = with_noise(x, rate, snr, level, twist, seed)
    assert_timed(detect(x, rate), digits, tone_ms, pause_ms, tol=0.01)


@given(
    digits=st.text(alphabet=DTMF_KEYS, min_size=1, max_size=5),
    level=st.floats(-40.0, -10.0),
    offset=st.floats(0.035, 0.06),  # neighbouring DTMF tones are >= 10.4 % apart
    sign=st.sampled_from([-1, 1]),
    tone_ms=st.integers(40, 90),
)
@settings(max_examples=25, deadline=None)
def test_off_frequency_digits_are_never_decoded(digits, level, offset, sign, tone_ms):
    x = dtmf_tones(digits, rate=8000, tone_ms=tone_ms, level_dbfs=level, freq_offset=sign * offset)
    assert detect(x, 8000) == []


@given(
    digits=st.text(alphabet=DTMF_KEYS, min_size=1, max_size=5),
    tone_ms=st.integers(5, 22),
    level=st.floats(-40.0, -10.0),
    twist=st.floats(-8.0, 4.0),
)
@settings(max_examples=25, deadline=None)
def test_short_tones_are_never_decoded(digits, tone_ms, level, twist):
    x = dtmf_tones(digits, rate=8000, tone_ms=tone_ms, pause_ms=60, level_dbfs=level,
                   twist_db=twist)  # fmt: skip
    assert detect(x, 8000) == []


STREAM = concat(
    white_noise(0.13, level_dbfs=-40, seed=1),
    dtmf_tones("94#", tone_ms=45, pause_ms=50),
    speech_like(0.3, seed=2),
    dtmf_tones("D", level_dbfs=-30),
)


@given(st.lists(st.integers(1, 3000), min_size=1, max_size=30))
@settings(max_examples=25, deadline=None)
def test_any_chunking_gives_the_same_digits(sizes):
    whole = detect(STREAM, 48000)
    assert keys(whole) == "94#D"
    detector = DtmfDetector(48000)
    chunked: list[DtmfDigit] = []
    pos = 0
    for size in itertools.cycle(sizes):
        if pos >= STREAM.size:
            break
        chunked += detector.feed(STREAM[pos : pos + size])
        pos += size
    chunked += detector.flush()
    assert keys(chunked) == keys(whole)
    for a, b in zip(chunked, whole, strict=True):
        assert a.start == pytest.approx(b.start, abs=1e-6)
        assert a.end == pytest.approx(b.end, abs=1e-6)


# --- batch ----------------------------------------------------------------------------------


@pytest.mark.parametrize("rate", RATES)
def test_batch_legs_match_single_leg_detectors(rate):
    seconds = 1.2
    n = round(seconds * rate)

    def fit(x: np.ndarray) -> np.ndarray:
        return np.pad(x, (0, n - x.size))[:n]

    legs = [
        fit(dtmf_tones("123", rate=rate)),
        np.zeros(n, dtype=np.float32),
        fit(concat(silence(0.3, rate), dtmf_tones("A0", rate=rate, tone_ms=40, pause_ms=40))),
        fit(speech_like(seconds, rate=rate, seed=5)),
        fit(with_noise(dtmf_tones("*9", rate=rate, twist_db=-8), rate, 15.0, -10.0, -8.0, 3)),
    ]
    batch = DtmfBatchDetector(len(legs), rate)
    block = np.stack(legs)
    got: list[tuple[int, DtmfDigit]] = []
    for i in range(0, n, rate // 50):  # 20 ms per feed, as a media receiver does
        got += batch.feed(block[:, i : i + rate // 50])
    got += batch.flush()
    for leg, x in enumerate(legs):
        mine = [d for i, d in got if i == leg]
        alone = detect(x, rate)
        assert keys(mine) == keys(alone)
        for a, b in zip(mine, alone, strict=True):
            assert a.start == pytest.approx(b.start, abs=1e-6)
    assert {leg for leg, _ in got} == {0, 2, 4}
    assert keys([d for i, d in got if i == 0]) == "123"


def test_batch_rejects_wrong_shapes_and_rates():
    with pytest.raises(ValueError, match=r"\(3, n\)"):
        DtmfBatchDetector(3, 8000).feed(np.zeros((2, 80)))
    with pytest.raises(ValueError, match=r"\(3, n\)"):
        DtmfBatchDetector(3, 8000).feed(np.zeros(80))
    with pytest.raises(ValueError, match="rate"):
        DtmfBatchDetector(1, 44100)
    with pytest.raises(ValueError, match="leg"):
        DtmfBatchDetector(0, 8000)


# --- streaming housekeeping -----------------------------------------------------------------


@pytest.mark.parametrize("rate", DTMF_RATES)
def test_every_supported_rate_decodes(rate):
    got = detect(dtmf_tones("159D", rate=rate, tone_ms=40, pause_ms=40), rate)
    assert_timed(got, "159D", 40, 40, tol=0.003)


def test_flush_reports_a_digit_still_sounding_and_resets():
    detector = DtmfDetector(8000)
    assert detector.feed(dtmf_tones("8", rate=8000, tone_ms=100, pause_ms=0)) == []
    assert detector.time == pytest.approx(0.1)
    (digit,) = detector.flush()
    assert digit.digit == "8"
    assert digit.start == pytest.approx(0.0, abs=0.003)
    assert digit.end == pytest.approx(0.1, abs=0.003)
    assert digit.duration == pytest.approx(0.1, abs=0.005)
    assert detector.time == 0.0
    assert detector.flush() == []


def test_reset_forgets_a_half_heard_digit():
    detector = DtmfDetector(8000)
    detector.feed(dtmf_tones("3", rate=8000, tone_ms=60, pause_ms=0))
    detector.reset()
    assert detector.feed(silence(0.2, 8000)) == []
    assert detector.flush() == []


def test_digits_are_reported_once_the_tone_has_ended():
    rate = 8000
    detector = DtmfDetector(rate)
    x = dtmf_tones("6", rate=rate, tone_ms=60, pause_ms=100)
    assert detector.feed(x[: round(0.06 * rate)]) == []  # still sounding
    (digit,) = detector.feed(x[round(0.06 * rate) :])
    assert digit.digit == "6"


def test_repr():
    assert repr(DtmfDetector(8000)) == "<DtmfDetector 8000 Hz t=0.000 s>"
    assert repr(DtmfBatchDetector(4)) == "<DtmfBatchDetector legs=4 48000 Hz t=0.000 s>"
