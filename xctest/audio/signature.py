"""Party signatures: the frequency grid, the index -> tone-pair table and the tone generators.

A signature is two simultaneous tones unique to one party, so "A hears B" can be proven by
finding B's pair in A's audio (see detector.py). Imports only numpy and the stdlib.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from xctest.audio.signals import db_to_amplitude, sample_count

DTMF_FREQS: tuple[float, ...] = (697.0, 770.0, 852.0, 941.0, 1209.0, 1336.0, 1477.0, 1633.0)
"""DTMF row (697-941 Hz) and column (1209-1633 Hz) frequencies, ITU-T Q.23."""

# The grid, built by hand from these rules (tests check every one):
# - inside 400-3000 Hz, so G.711 (300-3400 Hz) and Opus keep it;
# - >= 45 Hz from every DTMF frequency and every in-band 2nd/3rd DTMF harmonic (the tightest
#   are 1586 and 3000, 46 Hz away); the detector's peak test rejects anything > 12.5 Hz off;
# - >= 120 Hz between neighbours: with a 20 ms Hann window a neighbour 120 Hz away leaks
#   < -31 dB into a tone's bin and its +-25 Hz probes, so a party up to ~15 dB louder in a
#   conference mix can neither mask nor fake a tone (100 Hz spacing would allow only ~1 dB).
# 16 frequencies are the most this allows, exactly enough for 8 disjoint pairs.
SIGNATURE_FREQS: tuple[float, ...] = (
    400.0, 520.0, 640.0, 990.0, 1110.0, 1270.0, 1586.0, 1793.0,
    1986.0, 2140.0, 2260.0, 2487.0, 2614.0, 2747.0, 2875.0, 3000.0,
)  # fmt: skip

_LOW = SIGNATURE_FREQS[:8]
_HIGH = SIGNATURE_FREQS[8:]
# Pairs always take one tone from each half: the high tone (>= 1986 Hz) sits where speech and
# music carry little energy. Round r (indices 8r..8r+7) pairs _LOW[i] with
# _HIGH[(_ROUND0[i] + r) % 8], so each round uses every frequency once (disjoint pairs).
# _ROUND0 was chosen so that rounds 0 and 1 keep every high tone >= 140 Hz from a harmonic of
# its low tone; pairs of later rounds within _HARMONIC_GUARD_HZ of one are skipped.
_ROUND0 = (1, 5, 6, 2, 3, 0, 4, 7)
_HARMONIC_GUARD_HZ = 40.0


def _is_harmonic(low: float, high: float) -> bool:
    return any(abs(high - n * low) < _HARMONIC_GUARD_HZ for n in range(2, 9))


def _build_pairs() -> tuple[tuple[float, float], ...]:
    pairs = []
    for r in range(len(_HIGH)):
        for i, low in enumerate(_LOW):
            high = _HIGH[(_ROUND0[i] + r) % len(_HIGH)]
            if not _is_harmonic(low, high):
                pairs.append((low, high))
    return tuple(pairs)


_PAIRS = _build_pairs()
SIGNATURE_COUNT = len(_PAIRS)
"""Number of distinct signatures signature_for() can give (indices 0..SIGNATURE_COUNT-1)."""


@dataclass(frozen=True)
class Signature:
    """One party's tone pair."""

    name: str
    freqs: tuple[float, float]


def signature_for(index: int, name: str | None = None) -> Signature:
    """Deterministic signature number `index`; indices 0..7 are pairwise frequency-disjoint,
    as are 8..15; all indices below SIGNATURE_COUNT are distinct."""
    if not 0 <= index < SIGNATURE_COUNT:
        raise ValueError(f"signature index must be in 0..{SIGNATURE_COUNT - 1}, got {index}")
    return Signature(f"sig{index}" if name is None else name, _PAIRS[index])


_INDEX_OF_PAIR = {pair: i for i, pair in enumerate(_PAIRS)}


def index_of(signature: Signature) -> int | None:
    """The ``signature_for`` index of a signature's tone pair (None for a pair of its own):
    signatures with one index share their tones, whatever their names."""
    return _INDEX_OF_PAIR.get(signature.freqs)


class SignatureSource:
    """Continuous-phase generator: successive read() calls produce one seamless signal."""

    def __init__(self, signature: Signature, rate: int = 48000, level_dbfs: float = -16.0) -> None:
        self.signature = signature
        self.rate = rate
        self.level_dbfs = level_dbfs
        self._position = 0
        # each tone carries half the power: total RMS = level_dbfs
        self._amplitude = db_to_amplitude(level_dbfs)
        self._cycles_per_sample = np.array(signature.freqs, dtype=np.float64)[:, None] / rate

    def __repr__(self) -> str:
        return (
            f"<SignatureSource {self.signature.name} {self.signature.freqs} "
            f"{self.level_dbfs} dBFS at sample {self._position}>"
        )

    @property
    def position(self) -> int:
        """Samples produced so far."""
        return self._position

    def skip(self, n: int) -> None:
        """Move on ``n`` samples without computing them (their values stay what ``read`` would
        have given: the phase follows the sample index)."""
        self._position += n

    def steady(self) -> SignatureSource:
        """This generator: a pure tone pair (the media engine plays it from a table)."""
        return self

    def read(self, n: int) -> npt.NDArray[np.float32]:
        """The next `n` samples (clipped to [-1, 1] above -6 dBFS, the two-tone crest limit)."""
        if n < 0:
            raise ValueError(f"cannot read {n} samples")
        k = np.arange(self._position, self._position + n, dtype=np.float64)
        self._position += n
        # phase from the absolute sample index, reduced to one cycle: chunking cannot change it
        cycles = np.mod(self._cycles_per_sample * k, 1.0)
        total: npt.NDArray[np.float64] = np.sin(2.0 * math.pi * cycles).sum(axis=0)
        return np.clip(self._amplitude * total, -1.0, 1.0).astype(np.float32)


def render(
    signature: Signature, seconds: float, rate: int = 48000, level_dbfs: float = -16.0
) -> npt.NDArray[np.float32]:
    """`seconds` of `signature` at total RMS `level_dbfs`, same samples as a SignatureSource."""
    return SignatureSource(signature, rate, level_dbfs).read(sample_count(seconds, rate))
