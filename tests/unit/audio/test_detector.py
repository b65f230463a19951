from __future__ import annotations

import itertools
import math

import av
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.signal import chirp, resample_poly

from xctest.audio.detector import FrameAnalysis, SignatureDetector, presence
from xctest.audio.signals import (
    concat,
    from_int16,
    mix,
    rms_dbfs,
    silence,
    sine,
    to_int16,
    tones,
    white_noise,
)
from xctest.audio.signature import (
    DTMF_FREQS,
    SIGNATURE_COUNT,
    Signature,
    render,
    signature_for,
)
from xctest.audio.speech import music_like, speech_like

RATE = 48000
FRAME = 960
PARTIES = [signature_for(i) for i in range(8)]  # pairwise disjoint
ALL = [signature_for(i) for i in range(SIGNATURE_COUNT)]
DTMF_DIGITS = {
    d: (DTMF_FREQS[r], DTMF_FREQS[4 + c])
    for r, row in enumerate(["123A", "456B", "789C", "*0#D"])
    for c, d in enumerate(row)
}


# --- helpers: codecs and test signals -------------------------------------------------------


def mulaw_encode(pcm: np.ndarray) -> np.ndarray:
    """ITU-T G.711 mu-law, segment form (bias 0x84, clip 32635, bits inverted)."""
    x = pcm.astype(np.int32)
    sign = (x < 0).astype(np.int32)
    mag = np.minimum(np.abs(x), 32635) + 0x84
    exponent = np.floor(np.log2(mag)).astype(np.int32) - 7
    mantissa = (mag >> (exponent + 3)) & 0x0F
    return (~((sign << 7) | (exponent << 4) | mantissa) & 0xFF).astype(np.uint8)


def mulaw_decode(code: np.ndarray) -> np.ndarray:
    c = ~code.astype(np.int32) & 0xFF
    exponent = (c >> 4) & 0x07
    mag = ((((c & 0x0F) << 3) + 0x84) << exponent) - 0x84
    return np.where(c & 0x80, -mag, mag).astype(np.int16)


def mulaw_round_trip(x: np.ndarray) -> np.ndarray:
    """48 kHz -> 8 kHz -> G.711 mu-law -> 8 kHz -> 48 kHz."""
    narrow = resample_poly(x.astype(np.float64), 1, 6)
    decoded = from_int16(mulaw_decode(mulaw_encode(to_int16(narrow))))
    return resample_poly(decoded.astype(np.float64), 6, 1).astype(np.float32)


def opus_round_trip(x: np.ndarray, bit_rate: int = 32000) -> np.ndarray:
    """libopus at 48 kHz mono, 20 ms frames."""
    enc = av.CodecContext.create("libopus", "w")
    enc.sample_rate = RATE
    enc.layout = "mono"
    enc.format = "s16"
    enc.bit_rate = bit_rate
    dec = av.CodecContext.create("libopus", "r")
    dec.sample_rate = RATE
    dec.layout = "mono"
    dec.format = "s16"
    pcm = to_int16(x)
    out = []
    packets = []
    for i in range(0, pcm.size - FRAME + 1, FRAME):
        frame = av.AudioFrame.from_ndarray(pcm[None, i : i + FRAME], format="s16", layout="mono")
        frame.sample_rate = RATE
        frame.pts = i
        packets += enc.encode(frame)
    packets += enc.encode(None)
    for packet in packets:
        out += [f.to_ndarray().reshape(-1) for f in dec.decode(packet)]
    return from_int16(np.concatenate(out))


def analyse(x: np.ndarray, signatures=PARTIES, **kwargs) -> list[FrameAnalysis]:
    return SignatureDetector(signatures, **kwargs).feed(x)


def fraction(analyses: list[FrameAnalysis], name: str, skip: int = 0) -> float:
    return presence(analyses[skip:], name)


def false_frames(analyses: list[FrameAnalysis], allowed=frozenset()) -> int:
    return sum(bool(a.present - allowed) for a in analyses)


# --- the codec helpers themselves -----------------------------------------------------------


def test_mulaw_codec_matches_g711_code_points():
    # G.711 table: 0 -> 0xFF, largest magnitudes -> 0x80 / 0x00 decoding to +-32124
    assert mulaw_encode(np.array([0, 32767, -32768])).tolist() == [0xFF, 0x80, 0x00]
    assert mulaw_decode(np.array([0xFF, 0x7F, 0x80, 0x00])).tolist() == [0, 0, 32124, -32124]
    codes = np.arange(256)
    values = mulaw_decode(codes)
    assert np.array_equal(mulaw_encode(values), np.where(codes == 0x7F, 0xFF, codes))


def test_mulaw_round_trip_keeps_level():
    x = sine(1000, 1.0, level_dbfs=-20.0)
    assert rms_dbfs(mulaw_round_trip(x)) == pytest.approx(-20.0, abs=0.2)


# --- calibration and framing ----------------------------------------------------------------


def test_frames_have_start_times_rms_and_tone_levels():
    sig = signature_for(0)
    frames = analyse(render(sig, 0.1, level_dbfs=-16.0), [sig])
    assert [a.t for a in frames] == pytest.approx([0.0, 0.02, 0.04, 0.06, 0.08])
    for a in frames:
        assert a.rms_dbfs == pytest.approx(-16.0, abs=0.1)
        # each tone carries half the power: 3.01 dB below the total
        assert a.levels["sig0"] == pytest.approx(-16.0 - 10 * math.log10(2), abs=0.05)


def test_levels_floor_at_minus_120_for_silence():
    (a,) = analyse(silence(0.02))
    assert a.rms_dbfs == -120.0
    assert set(a.levels) == {s.name for s in PARTIES}
    assert all(v == -120.0 for v in a.levels.values())
    assert a.present == frozenset()


def test_remainder_is_buffered_until_the_frame_completes():
    det = SignatureDetector(PARTIES)
    x = render(PARTIES[0], 0.04)
    assert det.feed(x[:959]) == []
    assert det.frames == 0
    (a,) = det.feed(x[959:960])
    assert a.t == 0.0 and a.present == {"sig0"} and det.frames == 1
    assert [b.t for b in det.feed(x[960:])] == [0.02]


def test_reset_restarts_time_and_drops_buffered_samples():
    det = SignatureDetector(PARTIES)
    det.feed(white_noise(0.05))
    det.reset()
    assert det.frames == 0
    (a,) = det.feed(render(PARTIES[1], 0.02))
    assert a.t == 0.0 and a.present == {"sig1"}


def test_works_at_8_khz():
    frames = analyse(render(PARTIES[7], 0.5, rate=8000), rate=8000)
    assert len(frames) == 25
    assert all(a.present == {"sig7"} for a in frames)


def test_rejects_duplicate_names_and_fractional_frames():
    with pytest.raises(ValueError):
        SignatureDetector([signature_for(0), signature_for(1, name="sig0")])
    with pytest.raises(ValueError):
        SignatureDetector(PARTIES, rate=44100, frame_ms=15)  # 661.5 samples
    with pytest.raises(ValueError):
        SignatureDetector([Signature("x", (1000.0, 3990.0))], rate=8000)  # probe above Nyquist
    with pytest.raises(ValueError):
        SignatureDetector([Signature("x", (1000.0, 1000.0))])


def test_repr_names_the_watched_signatures():
    expected = "<SignatureDetector [sig0,sig1] 48000 Hz frames=0>"
    assert repr(SignatureDetector(PARTIES[:2])) == expected


# --- truth table ----------------------------------------------------------------------------


@pytest.mark.parametrize("index", range(16))
def test_each_signature_alone_is_exactly_itself(index):
    sig = signature_for(index)
    block = [signature_for(i) for i in range(index // 8 * 8, index // 8 * 8 + 8)]
    frames = analyse(render(sig, 0.5), block)
    assert fraction(frames, sig.name) >= 0.95
    assert false_frames(frames, {sig.name}) == 0


@pytest.mark.parametrize("a,b", list(itertools.combinations(range(8), 2)))
def test_mix_of_two_in_noise_shows_both_and_nothing_else(a, b):
    x = mix(
        render(PARTIES[a], 0.3, level_dbfs=-22.0),
        render(PARTIES[b], 0.3, level_dbfs=-22.0),
        white_noise(0.3, level_dbfs=-40.0, seed=a * 8 + b),
    )
    frames = analyse(x)
    assert fraction(frames, PARTIES[a].name) >= 0.95
    assert fraction(frames, PARTIES[b].name) >= 0.95
    assert false_frames(frames, {PARTIES[a].name, PARTIES[b].name}) == 0


@pytest.mark.parametrize("trio", [(0, 1, 2), (3, 4, 7), (1, 5, 6), (0, 6, 7), (2, 3, 5)])
@pytest.mark.parametrize("levels", [(-22, -22, -22), (-20, -26, -30)])
def test_conference_mix_of_three_in_noise(trio, levels):
    x = mix(
        *(render(PARTIES[i], 0.5, level_dbfs=lv) for i, lv in zip(trio, levels, strict=True)),
        white_noise(0.5, level_dbfs=-40.0, seed=sum(trio)),
    )
    frames = analyse(x)
    names = {PARTIES[i].name for i in trio}
    for name in names:
        assert fraction(frames, name) >= 0.95
    assert false_frames(frames, names) == 0


@pytest.mark.parametrize("level", [-35.0, -3.0])
def test_quiet_and_hot_levels_are_still_detected(level):
    for sig in PARTIES:  # -3 dBFS is clipped (the two-tone crest limit is -6)
        frames = analyse(render(sig, 0.3, level_dbfs=level))
        assert fraction(frames, sig.name) >= 0.95
        assert false_frames(frames, {sig.name}) == 0


def test_below_min_level_is_absent():
    # default floor -45 dBFS per tone: a -47 dBFS signature has tones at -50
    for sig in PARTIES:
        assert false_frames(analyse(render(sig, 0.2, level_dbfs=-47.0))) == 0
    sig = PARTIES[0]
    x = render(sig, 0.2, level_dbfs=-30.0)  # tones at -33
    assert fraction(analyse(x, min_level_dbfs=-34.0), sig.name) == 1.0
    assert fraction(analyse(x, min_level_dbfs=-32.0), sig.name) == 0.0


@pytest.mark.parametrize(
    "name,signal",
    [
        ("silence", lambda: silence(1.0)),
        ("noise -20 dBFS", lambda: white_noise(3.0, level_dbfs=-20.0, seed=7)),
        ("noise -3 dBFS", lambda: white_noise(1.0, level_dbfs=-3.0, seed=8)),
        ("noise after G.711", lambda: mulaw_round_trip(white_noise(4.0, level_dbfs=-20.0))),
        ("chirp 300-3400 Hz", lambda: sine_sweep(2.0)),
        ("speech-like", lambda: speech_like(2.0)),
        ("speech-like after G.711", lambda: mulaw_round_trip(speech_like(2.0, level_dbfs=-10.0))),
        ("music-like", lambda: music_like(3.0)),
    ],
)
def test_no_signature_in_non_signature_audio(name, signal):
    assert false_frames(analyse(signal(), ALL)) == 0


def sine_sweep(seconds: float) -> np.ndarray:
    t = np.arange(round(seconds * RATE)) / RATE
    return (0.3 * chirp(t, 300, seconds, 3400)).astype(np.float32)


@pytest.mark.parametrize("digit", sorted(DTMF_DIGITS))
def test_dtmf_digits_are_not_signatures(digit):
    low, high = DTMF_DIGITS[digit]
    x = concat(
        tones([low, high], 0.2, level_dbfs=-10.0),
        sine(low, 0.1, level_dbfs=-8.0) + sine(high, 0.1, level_dbfs=-12.0),  # twist
        mulaw_round_trip(tones([low, high], 0.2, level_dbfs=-4.0)),  # hot, with harmonics
    )
    assert false_frames(analyse(x, ALL)) == 0


# --- each clause of the presence rule, in isolation -----------------------------------------


@pytest.mark.parametrize("offset,expected", [(0.0, 1.0), (5.0, 1.0), (15.0, 0.0), (-15.0, 0.0)])
def test_peak_rule_accepts_tones_within_12_5_hz_only(offset, expected):
    sig = PARTIES[3]
    x = tones([f + offset for f in sig.freqs], 0.2, level_dbfs=-16.0)
    assert fraction(analyse(x), sig.name) == expected


def test_share_rule_rejects_a_pair_buried_in_broadband_noise():
    sig = PARTIES[2]
    # tones at -33 dBFS are above the level floor, but noise at -15 dBFS dwarfs them
    x = mix(render(sig, 0.5, level_dbfs=-30.0), white_noise(0.5, level_dbfs=-15.0, seed=3))
    assert fraction(analyse(x), sig.name) == 0.0
    loud = mix(render(sig, 0.5, level_dbfs=-30.0), white_noise(0.5, level_dbfs=-40.0, seed=3))
    assert fraction(analyse(loud), sig.name) == 1.0


def test_dynamic_range_rule_bounds_how_quiet_a_party_may_be():
    loud, quiet = PARTIES[0], PARTIES[7]  # no grid neighbours: only rule 4 can reject
    near = mix(render(loud, 0.5, level_dbfs=-8.0), render(quiet, 0.5, level_dbfs=-22.0))
    assert fraction(analyse(near), quiet.name) == 1.0  # 14 dB quieter: heard
    far = mix(render(loud, 0.5, level_dbfs=-8.0), render(quiet, 0.5, level_dbfs=-32.0))
    assert fraction(analyse(far), quiet.name) == 0.0  # 24 dB quieter: below -20 dB of frame
    assert fraction(analyse(far, min_frame_share=0.001), quiet.name) == 1.0


# --- transcoding ----------------------------------------------------------------------------


@pytest.mark.parametrize("codec", [mulaw_round_trip, opus_round_trip])
@pytest.mark.parametrize("level", [-35.0, -16.0, -3.0])
def test_codecs_keep_each_signature(codec, level):
    for sig in PARTIES:
        frames = analyse(codec(render(sig, 0.5, level_dbfs=level)))
        assert fraction(frames, sig.name, skip=1) >= 0.9
        assert false_frames(frames, {sig.name}) == 0


@pytest.mark.parametrize("codec", [mulaw_round_trip, opus_round_trip])
@pytest.mark.parametrize("trio", [(0, 1, 2), (3, 4, 7), (1, 5, 6)])
def test_codecs_keep_a_conference_mix(codec, trio):
    x = mix(
        *(render(PARTIES[i], 1.0, level_dbfs=-22.0) for i in trio),
        white_noise(1.0, level_dbfs=-40.0, seed=1),
    )
    frames = analyse(codec(x))
    names = {PARTIES[i].name for i in trio}
    for name in names:
        assert fraction(frames, name, skip=1) >= 0.9
    assert false_frames(frames, names) == 0


@pytest.mark.parametrize("codec", [mulaw_round_trip, opus_round_trip])
def test_codecs_create_no_signature(codec):
    x = concat(
        white_noise(1.0, level_dbfs=-20.0, seed=4),
        speech_like(1.0),
        music_like(1.0),
        tones(DTMF_DIGITS["5"], 0.5, level_dbfs=-10.0),
    )
    assert false_frames(analyse(codec(x), ALL)) == 0


# --- streaming ------------------------------------------------------------------------------

STREAM = concat(
    render(PARTIES[0], 0.15),
    silence(0.03),
    mix(render(PARTIES[1], 0.2), render(PARTIES[2], 0.2), white_noise(0.2, level_dbfs=-40)),
    white_noise(0.07, level_dbfs=-25.0, seed=9),
)


@given(st.lists(st.integers(1, 2500), min_size=1, max_size=40))
@settings(max_examples=25, deadline=None)
def test_any_chunking_gives_the_same_frames(sizes):
    whole = SignatureDetector(PARTIES).feed(STREAM)
    det = SignatureDetector(PARTIES)
    chunked: list[FrameAnalysis] = []
    pos = 0
    for size in itertools.cycle(sizes):
        if pos >= STREAM.size:
            break
        chunked += det.feed(STREAM[pos : pos + size])
        pos += size
    assert chunked == whole
    assert det.frames == len(whole) == STREAM.size // FRAME


def test_float32_and_float64_input_agree():
    assert analyse(STREAM) == analyse(STREAM.astype(np.float64))


# --- presence() -----------------------------------------------------------------------------


def frame(t: float, *present: str) -> FrameAnalysis:
    return FrameAnalysis(t=t, rms_dbfs=-20.0, levels={}, present=frozenset(present))


def test_presence_windows_are_half_open():
    frames = [frame(0.0, "a"), frame(0.02, "a", "b"), frame(0.04, "b"), frame(0.06)]
    assert presence(frames, "a") == 0.5
    assert presence(frames, "b", 0.02, 0.06) == 1.0
    assert presence(frames, "a", 0.02, 0.06) == 0.5
    assert presence(frames, "a", 0.0, 0.02) == 1.0  # t1 excluded
    assert presence(frames, "b", 0.04) == 0.5
    assert presence(frames, "a", 1.0, 2.0) == 0.0  # no frames: 0.0
    assert presence([], "a") == 0.0


def test_presence_follows_a_party_that_stops():
    x = concat(render(PARTIES[4], 1.0), silence(1.0))
    frames = analyse(x)
    assert presence(frames, "sig4", 0.0, 1.0) == 1.0
    assert presence(frames, "sig4", 1.0, 2.0) == 0.0
    assert presence(frames, "sig4") == 0.5


# --- negative controls ----------------------------------------------------------------------


def test_wrong_signature_list_says_absent():
    x = render(PARTIES[0], 0.5)  # 400 + 2140 Hz
    others = PARTIES[1:]
    assert false_frames(analyse(x, others)) == 0
    # sig8 shares the 400 Hz tone with sig0 but needs 2260 Hz too
    assert signature_for(8).freqs[0] == PARTIES[0].freqs[0]
    assert presence(analyse(x, [signature_for(8)]), "sig8") == 0.0


def test_custom_signature_off_the_grid():
    custom = Signature("custom", (450.0, 2050.0))
    frames = analyse(tones(custom.freqs, 0.3, level_dbfs=-16.0), [custom, *PARTIES])
    assert fraction(frames, "custom") == 1.0
    assert false_frames(frames, {"custom"}) == 0
