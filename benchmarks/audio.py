"""Cost of each audio instrument: microseconds per 20 ms frame per leg, single leg and batched.

For every detector (party signatures, DTMF at 48 kHz and 8 kHz, call-progress tones, level
meter) and every leg count in --legs, builds `legs x samples` of realistic input (a tone or
signature on every leg plus noise, a different phase per leg), feeds it in 20 ms blocks as a
media tick would (one feed call per block for all legs) and prints the best of --repeat runs
as µs per frame per leg and as a share of real time for that many legs on one core.
The single-leg signature row uses SignatureDetector (1-D input), the others the batch form.
Run: python benchmarks/audio.py --legs 1 100 1000 --seconds 1
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt

from xctest.audio import SignatureDetector, render, signature_for, white_noise
from xctest.audio.dtmf import DtmfBatchDetector, dtmf_tones
from xctest.audio.levels import LevelMeter
from xctest.audio.signature_batch import SignatureBatchDetector
from xctest.audio.tones import EU_BUSY, EU_TONES, ProgressToneDetector, render_tone

Block = npt.NDArray[np.float32]


def legs_of(signal: Block, legs: int, rate: int) -> Block:
    """``legs`` copies of ``signal`` each shifted by a different offset, plus noise."""
    out = np.empty((legs, signal.size), dtype=np.float32)
    seconds = signal.size / rate
    noise = white_noise(seconds, rate, level_dbfs=-45.0)[: signal.size]
    for i in range(legs):
        out[i] = np.roll(signal, (i * 97) % signal.size) + noise
    return out


def timed(feed: Callable[[Block], Any], data: Block, frame: int, repeat: int) -> float:
    """Best wall time over ``repeat`` runs of feeding ``data`` (legs x samples) frame by frame."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        for i in range(0, data.shape[1] - frame + 1, frame):
            feed(data[:, i : i + frame])
        best = min(best, time.perf_counter() - start)
    return best


def cases(seconds: float) -> list[tuple[str, int, Block, Callable[[int], Callable[[Block], Any]]]]:
    parties = [signature_for(i) for i in range(8)]

    def signatures(legs: int) -> Callable[[Block], Any]:
        if legs == 1:
            return SignatureDetector(parties).feed
        return SignatureBatchDetector(parties, legs=legs).feed

    def dtmf(rate: int) -> Callable[[int], Callable[[Block], Any]]:
        return lambda legs: DtmfBatchDetector(legs=legs, rate=rate).feed

    def tones(legs: int) -> Callable[[Block], Any]:
        return ProgressToneDetector(EU_TONES, rate=48000, legs=legs).feed

    def levels(legs: int) -> Callable[[Block], Any]:
        return LevelMeter(rate=48000, legs=legs).feed

    digits = "0123456789*#" * max(1, int(seconds / 1.68) + 1)
    return [
        ("signatures (8)", 48000, render(parties[2], seconds), signatures),
        ("DTMF 48 kHz", 48000, dtmf_tones(digits, 48000)[: int(seconds * 48000)], dtmf(48000)),
        ("DTMF 8 kHz", 8000, dtmf_tones(digits, 8000)[: int(seconds * 8000)], dtmf(8000)),
        ("progress tones (EU)", 48000, render_tone(EU_BUSY, seconds, 48000), tones),
        ("level meter", 48000, render(parties[5], seconds), levels),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--legs", type=int, nargs="+", default=[1, 100, 1000])
    parser.add_argument("--seconds", type=float, default=1.0, help="audio per leg")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print(f"{'instrument':<22}{'legs':>6}{'us/frame/leg':>14}{'real-time share':>17}")
    for name, rate, signal, make in cases(args.seconds):
        frame = rate // 50
        for legs in args.legs:
            data = legs_of(signal.astype(np.float32), legs, rate)
            best = timed(make(legs), data, frame, args.repeat)
            frames = data.shape[1] // frame
            per_leg = best / frames / legs * 1e6
            share = best / (frames * 0.02)
            print(f"{name:<22}{legs:>6}{per_leg:>14.2f}{share:>16.1%}")


if __name__ == "__main__":
    main()
