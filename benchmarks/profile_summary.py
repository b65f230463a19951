"""Where the time goes: a py-spy raw profile (``py-spy record --format raw``) summed by leaf
function and by function on the stack, as shares of all samples of the threads kept.

    .venv/bin/python benchmarks/profile_summary.py /tmp/prof.txt [--top 30] [--thread MainThread]
"""

from __future__ import annotations

import argparse
import collections


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("profile")
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--thread", help="keep only threads whose name contains this")
    args = parser.parse_args()
    leaf: collections.Counter[str] = collections.Counter()
    inclusive: collections.Counter[str] = collections.Counter()
    threads: collections.Counter[str] = collections.Counter()
    total = 0
    with open(args.profile) as f:
        for line in f:
            stack, _, count = line.rstrip().rpartition(" ")
            if not stack:
                continue
            frames = stack.split(";")
            if args.thread and args.thread not in frames[0]:
                continue
            n = int(count)
            total += n
            threads[frames[0]] += n
            leaf[frames[-1]] += n
            for name in {f.split(" (")[0] for f in frames[1:]}:
                inclusive[name] += n
    print(f"{total} samples")
    for name, n in threads.most_common(5):
        print(f"{100 * n / total:5.1f}%  {name}")
    print("\nself (leaf frames):")
    for name, n in leaf.most_common(args.top):
        print(f"{100 * n / total:5.1f}%  {name[:140]}")
    print("\ninclusive (on the stack):")
    for name, n in inclusive.most_common(args.top):
        print(f"{100 * n / total:5.1f}%  {name[:140]}")


if __name__ == "__main__":
    main()
