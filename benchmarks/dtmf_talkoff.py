"""DTMF talk-off: false digits per hour of speech-like and of music-like signal.

Generates --minutes of speech_like() and --minutes of music_like() (xctest.audio.speech) in
pieces of --piece seconds with seeds --seed, --seed + 1, ... (one talker or piece of music
per seed) at --level dBFS, feeds each signal's pieces as the legs of one DtmfBatchDetector
(default settings) in 20 ms blocks at --rate, and prints every digit reported (all are
false: the signals contain no DTMF), the false digits per hour of signal and the one-sided
95 % Poisson upper bound of that rate.
Run: python benchmarks/dtmf_talkoff.py --minutes 30 --seed 0
"""

from __future__ import annotations

import argparse
import math
import time
from collections.abc import Callable

import numpy as np
import numpy.typing as npt
from scipy.stats import chi2

from xctest.audio.dtmf import DtmfBatchDetector
from xctest.audio.speech import music_like, speech_like

Generator = Callable[..., npt.NDArray[np.float32]]


def false_digits(
    generate: Generator, minutes: float, piece: float, seed: int, rate: int, level: float
) -> int:
    pieces = max(1, math.ceil(minutes * 60.0 / piece))
    legs = np.stack(
        [generate(piece, rate=rate, level_dbfs=level, seed=seed + i) for i in range(pieces)]
    )
    detector = DtmfBatchDetector(pieces, rate)
    block = rate // 50
    found = []
    for start in range(0, legs.shape[1], block):
        found += detector.feed(legs[:, start : start + block])
    found += detector.flush()
    for leg, digit in found:
        print(
            f"  {generate.__name__} seed {seed + leg}: {digit.digit!r} at "
            f"{digit.start:.3f}-{digit.end:.3f} s"
        )
    return len(found)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=30.0, help="per signal")
    parser.add_argument("--seed", type=int, default=0, help="seed of the first piece")
    parser.add_argument("--piece", type=float, default=60.0, help="seconds per seed")
    parser.add_argument("--rate", type=int, default=8000, choices=(8000, 16000, 48000))
    parser.add_argument("--level", type=float, default=-16.0, help="RMS dBFS")
    args = parser.parse_args()
    hours = math.ceil(args.minutes * 60.0 / args.piece) * args.piece / 3600.0
    for generate in (speech_like, music_like):
        started = time.perf_counter()
        count = false_digits(generate, args.minutes, args.piece, args.seed, args.rate, args.level)
        bound = chi2.ppf(0.95, 2 * count + 2) / 2.0 / hours
        print(
            f"{generate.__name__}: {count} false digits in {hours * 60:.0f} min "
            f"= {count / hours:.1f} per hour (95 % upper bound {bound:.1f} per hour; "
            f"{args.rate} Hz, {args.level} dBFS, seeds {args.seed}+; "
            f"{time.perf_counter() - started:.0f} s)"
        )


if __name__ == "__main__":
    main()
