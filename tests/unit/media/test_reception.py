"""What a leg received, kept compactly: shares over the frames that should have arrived."""

from __future__ import annotations

import math

import numpy as np
import pytest

from xctest.media.reception import Reception

A, B = 1 << 3, 1 << 7  # two signatures' bits


def frames(rec, t0, n, mask=0, rms=-20.0, missing=False, value=0):
    times = t0 + 0.020 * np.arange(n)
    pcm = np.full((n, rec.samples_per_frame), value, dtype=np.int16)
    rec.add(
        times,
        np.full(n, mask, dtype=np.uint64),
        np.full(n, rms, dtype=np.float32),
        np.full(n, missing, dtype=np.bool_),
        pcm,
    )
    return t0 + 0.020 * n


def test_a_missing_frame_is_a_frame_where_nothing_was_heard():
    rec = Reception(8000)
    t = frames(rec, 0.0, 90, mask=A)
    frames(rec, t, 10, missing=True, rms=-120.0)  # lost or late: should have come
    assert rec.share(A) == pytest.approx(0.9)
    assert rec.count() == (100, 10)
    assert rec.share(A, 0.0, t) == 1.0
    assert rec.share(A | B) == 0.0 and rec.share(B) == 0.0


def test_windows_and_the_first_frame_with_a_signature():
    rec = Reception(8000)
    t = frames(rec, 10.0, 50)
    frames(rec, t, 50, mask=A | B)
    assert rec.first_with(A, 0.0) == pytest.approx(t)
    assert rec.first_with(A, t + 0.5) == pytest.approx(t + 0.5)
    assert rec.first_with(A, t + 5.0) is None
    assert rec.share(A | B, t, t + 1.0) == 1.0
    assert rec.bits_present({"a": A, "b": B, "c": 1}, 0.8, t, math.inf) == {"a", "b"}
    assert rec.last_t == pytest.approx(t + 0.98)


def test_loud_frames_besides_known_signatures():
    rec = Reception(8000)
    t = frames(rec, 0.0, 10, rms=-20.0, mask=A)  # a party: loud, but known
    t = frames(rec, t, 10, rms=-20.0)  # music: loud, no signature
    frames(rec, t, 20, rms=-60.0)  # quiet
    assert rec.loud_share(-45.0) == pytest.approx(0.5)
    assert rec.loud_share(-45.0, besides=A) == pytest.approx(0.25)


def test_the_rolling_buffers_keep_the_newest_and_memory_stays_fixed():
    rec = Reception(8000, keep_frames=1.0, keep_audio=0.5)
    t = 0.0
    for value in range(1, 8):  # 7 chunks of 30 frames, 0.6 s each
        t = frames(rec, t, 30, mask=A if value == 7 else 0, value=value)
    assert rec.frames == 210
    assert rec.count() == (50, 0)  # 1 s kept
    assert rec.share(A) == pytest.approx(30 / 50)
    kept = rec.samples()
    assert kept.size == 25 * 160  # 0.5 s of samples
    assert np.allclose(kept * 32768, 7.0)
    assert rec.samples(0.0, t - 0.6).size == 0  # older audio is gone


def test_samples_of_a_window_at_another_rate():
    rec = Reception(8000)
    frames(rec, 0.0, 50, value=1000)
    assert rec.samples(0.2, 0.4).size == 10 * 160
    assert rec.audio(0.2, 0.4, 48000).size == 10 * 960


def test_a_short_call_holds_memory_for_what_it_kept_not_for_a_long_one():
    rec = Reception(8000)  # room for 10 minutes of frames and 2 of samples
    t = frames(rec, 0.0, 100, mask=A)
    assert rec._pcm.data.nbytes <= 2 * 100 * 160 * 2  # grown to what came, doubling
    assert rec._t.data.nbytes <= 2 * 100 * 8
    frames(rec, t, 100, mask=B)
    assert rec.share(A) == rec.share(B) == 0.5  # nothing lost while growing
