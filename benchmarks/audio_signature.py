"""Cost of signature detection for one leg: microseconds per 20 ms frame.

Feeds a three-party conference mix (with noise) to one SignatureDetector watching the eight
disjoint party signatures, one 20 ms chunk per feed() call, as a media receiver would.
Run: python benchmarks/audio_signature.py [seconds-of-audio]
"""

from __future__ import annotations

import sys
import time

from xctest.audio import SignatureDetector, mix, render, signature_for, white_noise

RATE = 48000
FRAME = RATE // 50


def main() -> None:
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 20.0
    parties = [signature_for(i) for i in range(8)]
    audio = mix(
        render(parties[0], seconds, level_dbfs=-20.0),
        render(parties[3], seconds, level_dbfs=-24.0),
        render(parties[6], seconds, level_dbfs=-26.0),
        white_noise(seconds, level_dbfs=-40.0),
    )
    chunks = [audio[i : i + FRAME] for i in range(0, audio.size - FRAME + 1, FRAME)]
    best = float("inf")
    for _ in range(5):
        detector = SignatureDetector(parties)
        start = time.perf_counter()
        for chunk in chunks:
            detector.feed(chunk)
        best = min(best, time.perf_counter() - start)
    per_frame_us = best / len(chunks) * 1e6
    print(
        f"{per_frame_us:.1f} us per 20 ms frame, single leg, {len(parties)} signatures "
        f"({len(chunks)} frames, best of 5; {per_frame_us / 20000 * 100:.2f} % of real time)"
    )


if __name__ == "__main__":
    main()
