from __future__ import annotations

import numpy as np
import pytest

from xctest.audio.g711 import resample, ulaw_roundtrip
from xctest.audio.mos import MosResult, pesq_mos
from xctest.audio.signals import concat, mix, silence, white_noise
from xctest.audio.speech import speech_like
from xctest.errors import MediaError

RATE = 48000
SECONDS = 8.0
LEVEL = -20.0


@pytest.fixture(scope="module")
def speech() -> np.ndarray:
    return speech_like(SECONDS, RATE, level_dbfs=LEVEL, seed=4)


def noisy(x: np.ndarray, snr_db: float, seed: int = 1) -> np.ndarray:
    return mix(x, white_noise(x.size / RATE, RATE, level_dbfs=LEVEL - snr_db, seed=seed))


@pytest.mark.parametrize("mode", ["wb", "nb"])
def test_identical_signal_scores_at_least_4(speech, mode):
    result = pesq_mos(speech, speech, RATE, mode)
    assert result == MosResult(mos=result.mos, mode=mode, aligned_offset_ms=0.0)
    assert result.mos >= 4.0


@pytest.mark.parametrize("mode", ["wb", "nb"])
def test_heavy_degradation_scores_below_2_5(speech, mode):
    # 0 dB SNR, then a mu-law channel, then hard clipping 12 dB below full scale
    degraded = np.clip(ulaw_roundtrip(noisy(speech, 0.0), RATE), -0.25, 0.25)
    assert pesq_mos(speech, degraded, RATE, mode).mos < 2.5


@pytest.mark.parametrize("mode", ["wb", "nb"])
def test_mos_falls_strictly_as_noise_rises(speech, mode):
    scores = [pesq_mos(speech, noisy(speech, snr), RATE, mode).mos for snr in (40, 30, 20, 10, 0)]
    assert all(a > b for a, b in zip(scores, scores[1:], strict=False)), scores


@pytest.mark.parametrize("mode", ["wb", "nb"])
def test_a_delayed_signal_is_aligned_before_scoring(speech, mode):
    late = concat(silence(0.12), speech)
    result = pesq_mos(speech, late, RATE, mode)
    assert result.aligned_offset_ms == pytest.approx(120.0, abs=1000 / 16000)
    assert result.mos >= 4.0


def test_a_long_capture_is_cut_to_the_reference(speech):
    capture = concat(silence(3.0), speech, silence(2.0))
    result = pesq_mos(speech, capture, RATE, max_offset_s=4.0)
    assert result.aligned_offset_ms == pytest.approx(3000.0)
    assert result.mos >= 4.0
    # outside the search window the offset is not found; PESQ's own alignment is all there is
    assert pesq_mos(speech, capture, RATE, max_offset_s=1.0).aligned_offset_ms is None


def test_an_early_signal_gets_a_negative_offset(speech):
    early = speech[round(0.1 * RATE) :]  # recording started 100 ms late
    assert pesq_mos(speech, early, RATE, "nb").aligned_offset_ms == pytest.approx(-100.0)


def test_g711_mu_law_scores_as_a_good_narrow_band_codec(speech):
    assert pesq_mos(speech, ulaw_roundtrip(speech, RATE), RATE, "nb").mos >= 4.0


@pytest.mark.parametrize("rate", [8000, 16000, 44100])
def test_other_input_rates(speech, rate):
    x = resample(speech, RATE, rate)
    assert pesq_mos(x, x, rate, "nb").mos >= 4.0


def test_unrelated_audio_is_not_aligned_and_scores_low(speech):
    result = pesq_mos(speech, white_noise(SECONDS, RATE, level_dbfs=LEVEL, seed=9), RATE)
    assert result.aligned_offset_ms is None
    assert result.mos < 1.5


@pytest.mark.parametrize(
    ("reference", "degraded", "words"),
    [
        (silence(4.0), speech_like(4.0), "reference is digital silence"),
        (speech_like(4.0), silence(4.0), "nothing was received"),
        (speech_like(0.1), speech_like(0.1), "at least 0.25 s"),
        (speech_like(0.3), speech_like(0.3), "NoUtterancesError"),
        (np.full(RATE, np.nan, dtype=np.float32), speech_like(1.0), "NaN"),
    ],
    ids=["silent reference", "silent degraded", "too short", "no utterance", "nan"],
)
def test_failures_become_media_errors(reference, degraded, words):
    with pytest.raises(MediaError, match=words):
        pesq_mos(reference, degraded, RATE)


def test_mode_is_checked(speech):
    with pytest.raises(ValueError):
        pesq_mos(speech, speech, RATE, "swb")  # type: ignore[arg-type]
