"""The batch signature detector decides exactly as one SignatureDetector per leg."""

from __future__ import annotations

import numpy as np
import pytest

from xctest.audio import SignatureDetector, mix, render, signature_for, white_noise
from xctest.audio.signature_batch import SignatureBatchDetector

SIGS = [signature_for(i, f"p{i}") for i in range(8)]


def legs_audio(seconds: float = 0.5) -> np.ndarray:
    rows = [
        render(SIGS[0], seconds, level_dbfs=-20),
        mix(render(SIGS[1], seconds, level_dbfs=-22), render(SIGS[2], seconds, level_dbfs=-26)),
        white_noise(seconds, level_dbfs=-30),
        np.zeros(int(seconds * 48000), dtype=np.float32),
        mix(render(SIGS[7], seconds, level_dbfs=-40), white_noise(seconds, level_dbfs=-50)),
    ]
    return np.stack(rows)


@pytest.mark.parametrize("chunk", [960, 333, 2000])
def test_batch_equals_one_detector_per_leg(chunk):
    audio = legs_audio()
    batch = SignatureBatchDetector(SIGS, legs=audio.shape[0])
    frames = []
    for i in range(0, audio.shape[1], chunk):
        frames += batch.feed(audio[:, i : i + chunk])
    for leg, row in enumerate(audio):
        single = SignatureDetector(SIGS).feed(row)
        assert len(single) == len(frames)
        for one, many in zip(single, frames, strict=True):
            got = {SIGS[i].name for i in np.flatnonzero(many.present[leg])}
            assert got == set(one.present)
            assert many.rms_dbfs[leg] == pytest.approx(one.rms_dbfs, abs=1e-3)


def test_who_is_present_on_each_leg():
    frames = SignatureBatchDetector(SIGS, legs=5).feed(legs_audio())
    share = np.mean([f.present for f in frames], axis=0)  # (legs, signatures)
    assert share[0, 0] > 0.95 and share[0, 1:].max() == 0
    assert share[1, 1] > 0.95 and share[1, 2] > 0.95
    assert share[2].max() == 0 and share[3].max() == 0  # noise, silence
    assert share[4, 7] > 0.95


def test_wrong_block_shape_is_refused():
    with pytest.raises(ValueError, match=r"expected a \(3, n\) block"):
        SignatureBatchDetector(SIGS, legs=3).feed(np.zeros((2, 960), np.float32))
