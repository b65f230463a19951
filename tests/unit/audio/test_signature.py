from __future__ import annotations

import dataclasses
import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xctest.audio.signals import rms_dbfs
from xctest.audio.signature import (
    DTMF_FREQS,
    SIGNATURE_COUNT,
    SIGNATURE_FREQS,
    Signature,
    SignatureSource,
    render,
    signature_for,
)

RATE = 48000


def dtmf_and_harmonics_in_band() -> list[float]:
    out = list(DTMF_FREQS)
    out += [n * f for f in DTMF_FREQS for n in (2, 3) if 400 <= n * f <= 3000]
    return out


def test_dtmf_frequencies_are_q23():
    assert DTMF_FREQS == (697, 770, 852, 941, 1209, 1336, 1477, 1633)


def test_grid_is_in_band_sorted_and_unique():
    assert list(SIGNATURE_FREQS) == sorted(set(SIGNATURE_FREQS))
    assert all(400 <= f <= 3000 for f in SIGNATURE_FREQS)


def test_grid_keeps_45_hz_from_dtmf_and_its_harmonics():
    avoid = dtmf_and_harmonics_in_band()
    assert 2 * 1633 > 3000 and 1882 in avoid and 2823 in avoid  # sanity of the list itself
    for f in SIGNATURE_FREQS:
        assert min(abs(f - a) for a in avoid) >= 45, f


def test_grid_spacing_separates_20ms_bins():
    # 50 Hz bins at 20 ms; the detector's claims need >= 120 Hz (see detector.py)
    gaps = np.diff(SIGNATURE_FREQS)
    assert gaps.min() >= 120


def test_grid_has_enough_frequencies_for_eight_disjoint_pairs():
    assert len(SIGNATURE_FREQS) >= 16


def test_signature_for_is_deterministic_with_default_and_custom_names():
    assert signature_for(3) == signature_for(3)
    assert signature_for(3).name == "sig3"
    assert signature_for(3, name="alice") == Signature("alice", signature_for(3).freqs)


def test_signatures_use_grid_frequencies_and_are_distinct():
    assert SIGNATURE_COUNT >= 16
    sigs = [signature_for(i) for i in range(SIGNATURE_COUNT)]
    pairs = [frozenset(s.freqs) for s in sigs]
    assert len(set(pairs)) == len(pairs)
    for s in sigs:
        assert len(set(s.freqs)) == 2
        assert all(f in SIGNATURE_FREQS for f in s.freqs)


@pytest.mark.parametrize("start", [0, 8])
def test_each_block_of_eight_is_pairwise_disjoint(start):
    sigs = [signature_for(i) for i in range(start, start + 8)]
    for a, b in itertools.combinations(sigs, 2):
        assert not set(a.freqs) & set(b.freqs), (a, b)


def test_no_pair_is_a_tone_and_its_harmonic():
    # a single distorted tone must not be able to fake a signature
    for i in range(SIGNATURE_COUNT):
        low, high = sorted(signature_for(i).freqs)
        assert all(abs(high - n * low) >= 40 for n in range(2, 9)), (low, high)


@pytest.mark.parametrize("index", [-1, SIGNATURE_COUNT])
def test_signature_for_rejects_out_of_range(index):
    with pytest.raises(ValueError):
        signature_for(index)


def test_signature_is_frozen_and_hashable():
    s = signature_for(0)
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.name = "x"  # type: ignore[misc]
    assert len({s, signature_for(0)}) == 1


def test_render_level_and_equal_tones():
    sig = signature_for(5)
    x = render(sig, 1.0, level_dbfs=-16.0)
    assert x.dtype == np.float32 and x.size == RATE
    assert rms_dbfs(x) == pytest.approx(-16.0, abs=0.01)
    spec = 2 * np.abs(np.fft.rfft(x.astype(np.float64))) / x.size  # 1 Hz bins
    each = math.sqrt(2) * 10 ** (-19.0103 / 20)  # half the power per tone
    for f in sig.freqs:
        assert spec[int(f)] == pytest.approx(each, rel=1e-3)


def test_render_clips_hot_levels():
    x = render(signature_for(0), 0.2, level_dbfs=-3.0)
    assert np.max(np.abs(x)) == 1.0


@given(chunks=st.lists(st.integers(0, 3000), min_size=1, max_size=20), index=st.integers(0, 15))
@settings(max_examples=30, deadline=None)
def test_source_chunks_equal_render_in_one_go(chunks, index):
    sig = signature_for(index)
    source = SignatureSource(sig, level_dbfs=-10.0)
    pieces = [source.read(n) for n in chunks]
    assert source.position == sum(chunks)
    joined = np.concatenate(pieces)
    whole = render(sig, sum(chunks) / RATE, level_dbfs=-10.0)
    assert joined.dtype == np.float32
    np.testing.assert_allclose(joined, whole, rtol=0, atol=1e-6)


def test_source_matches_the_formula_far_into_the_stream():
    sig = signature_for(1)
    source = SignatureSource(sig, level_dbfs=-16.0)
    skip = 60 * RATE
    for _ in range(60):
        source.read(RATE)
    k = np.arange(skip, skip + 960)
    amplitude = 10 ** (-16 / 20)
    expected = sum(amplitude * np.sin(2 * np.pi * f * k / RATE) for f in sig.freqs)
    np.testing.assert_allclose(source.read(960), expected, atol=1e-6)


def test_source_rejects_negative_reads_and_reports_itself():
    source = SignatureSource(signature_for(2))
    assert source.read(0).size == 0
    with pytest.raises(ValueError):
        source.read(-1)
    assert "sig2" in repr(source) and "sample 0" in repr(source)
