"""Verified legs per core: the largest number of concurrent WebRTC legs one core carries while
every call's audio is verified both ways, every leg receives its frames and the loop keeps time.

Each trial runs in a fresh process pinned to one core (``--core``).  Set-ups:

- ``sim``: phones calling each other through the built-in simulator, all in the pinned
  process; every leg counts (4 per call: caller, two simulator legs, callee).
- ``echo``: the generator alone: phones in the pinned process call the simulator's echo test
  number; the simulator runs in its own process pinned to another core and is not counted.

A trial passes when, over a ``--seconds`` window after ``--warmup`` seconds:
every call hears what it should over its last 3 s (the other party; with ``echo``, itself),
in at least 80 % of the frames that should have arrived; on every leg, >= 99.9 % of the
frames expected in the window (by RTP sequence number) arrived before their play-out deadline
(on aiortc's own path, which counts nothing: frames decoded per 20 ms of window); the event
loop's lag p99 (a 10 ms sleep probe) is < 10 ms; RSS grew by < 1 MB per leg from before the
calls to the end of the window.

    .venv/bin/python benchmarks/capacity.py --setup sim --codec PCMU --search
    .venv/bin/python benchmarks/capacity.py --setup echo --codec opus --legs 20 40 60

Prints the command line, the machine, one row per count (the median of ``--repeat`` trials:
the machine may be shared and noisy) and, with ``--search``, the largest passing count
(doubling from ``--start``, then bisecting).  Never asserts: a measurement.
"""

from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")  # BLAS worker threads spin on a media tick

import argparse  # noqa: E402
import asyncio  # noqa: E402
import contextlib  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import re  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from importlib import metadata  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

from simprocess import lab_for, start_sim_process  # noqa: E402

from xctest.audio.signature import SIGNATURE_COUNT, signature_for  # noqa: E402
from xctest.heap import settled  # noqa: E402
from xctest.media import PeerConfig  # noqa: E402
from xctest.phone import Call, CallState, Phone, SipIdentity  # noqa: E402
from xctest.sim import SimConfig, Simulator, User  # noqa: E402

FRAME = 0.020
VERIFY_SECONDS = 3.0
HEARD = 0.8
FRAMES_NEEDED = 0.999
LAG_P99 = 0.010
RSS_PER_LEG = 1.0  # MB
BATCH = 10  # calls set up at once while building the load


def rss_mb() -> float:
    text = Path("/proc/self/status").read_text()
    return int(re.search(r"VmRSS:\s+(\d+)", text).group(1)) / 1024  # type: ignore[union-attr]


def machine() -> str:
    model = "unknown CPU"
    with contextlib.suppress(OSError):
        found = re.search(r"model name\s*:\s*(.*)", Path("/proc/cpuinfo").read_text())
        model = found.group(1) if found else model
    return (
        f"{os.cpu_count()} cores, {model}; Python {platform.python_version()}; "
        f"aiortc {metadata.version('aiortc')}; numpy {metadata.version('numpy')}"
    )


Counts = tuple[float, float, bool]  # frames expected, frames lost or late, counted exactly


def leg_counts(peer: Any) -> Counts:
    """What a leg has been sent and missed so far: the engine's RTP counts (expected by
    sequence number; lost, or late past the play-out deadline) when the media path keeps
    them, else (aiortc's path) the frames its sink decoded, at 48 kHz."""
    stats = getattr(peer, "stats", None)
    snapshot = stats() if callable(stats) else None
    if snapshot is not None:
        return float(snapshot.expected), float(snapshot.lost + snapshot.late), True
    sink = peer.sink
    return (sink.samples_received / 960 if sink is not None else 0.0), 0.0, False


def delivered(start: Counts, end: Counts, window: float) -> float:
    """Share of the window's frames that arrived in time."""
    expected, missed = end[0] - start[0], end[1] - start[1]
    if end[2]:
        return 1.0 - missed / expected if expected > 0 else 0.0
    return min(1.0, expected / (window / FRAME))  # decoded frames per 20 ms of window


def sim_peers(sim: Simulator) -> list[Any]:
    assert sim.pbx is not None
    return [leg.peer for leg in sim.pbx.legs.values()]


class LagProbe:
    """A 10 ms sleep, over and over: how late the loop wakes it."""

    def __init__(self) -> None:
        self.lags: list[float] = []
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            t = loop.time()
            await asyncio.sleep(0.01)
            self.lags.append(loop.time() - t - 0.01)

    def start(self) -> None:
        self.lags.clear()
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> float:
        assert self._task is not None
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        ordered = sorted(self.lags) or [0.0]
        return ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]


def make_phone(url: str, user: User, index: int, codec: str) -> Phone:
    """A phone of ``user`` playing signature ``index`` and listening for its neighbours' (its
    callee or caller) and its own (the echo)."""
    ident = SipIdentity(
        impi=user.line_name,
        password=user.line_password,
        domain="default",
        realm="default",
        display_name=user.display_name,
        ws_url=url,
    )
    usable = SIGNATURE_COUNT - 1  # the last one is music on hold
    near = [signature_for(j % usable, f"u{j}") for j in (index - 1, index, index + 1) if j >= 0]
    return Phone(
        ident,
        name=user.login,
        signature=near[1] if index else near[0],
        listen_for=near,
        peer_config=PeerConfig(codecs=(codec,)),
    )


async def answered(phone: Phone, since: int) -> Call:
    await phone.timeline.wait_for(lambda e: e.name == "incoming/Setup", 30, since=since)
    return await phone.answer()


async def place(caller: Phone, callee: Phone | None, number: str) -> tuple[Call, Call | None]:
    since = len(callee.timeline) if callee is not None else 0
    out = await caller.dial(number)
    inc = await answered(callee, since) if callee is not None else None
    await out.wait_state(CallState.CONNECTED, 30)
    await out.peer.wait_connected()
    if inc is not None:
        await inc.peer.wait_connected()
    return out, inc


def profile_window(path: str | None, seconds: float) -> subprocess.Popen[bytes] | None:
    """py-spy sampling this process (every thread, not pausing it) for the measured window."""
    if not path:
        return None
    argv = ["py-spy", "record", "--pid", str(os.getpid()), "--duration", str(int(seconds))]
    argv += ["--nonblocking", "--threads", "--format", "raw", "-o", path]
    return subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


async def trial(
    setup: str, codec: str, legs: int, warmup: float, seconds: float, profile: str | None = None
) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    rss0 = rss_mb()
    calls_n = max(1, legs // 4) if setup == "sim" else legs
    lab = lab_for(2 * calls_n if setup == "sim" else calls_n)
    sim: Simulator | None = None
    proc: subprocess.Popen[str] | None = None
    tmp = tempfile.TemporaryDirectory()
    frozen = contextlib.ExitStack()
    try:
        if setup == "sim":
            sim = Simulator(lab, SimConfig(sip_port=0, http_port=0, codecs=(codec,)))
            await sim.start()
            url = sim.sip_url
        else:
            proc, url = start_sim_process(lab, Path(tmp.name), codec)
        phones = [make_phone(url, u, i, codec) for i, u in enumerate(lab.users)]
        await asyncio.gather(*(p.start() for p in phones))
        pairs: list[tuple[Call, Call | None, str, str]] = []
        began = time.perf_counter()
        for k in range(0, calls_n, BATCH):
            batch = []
            for i in range(k, min(k + BATCH, calls_n)):
                if setup == "sim":
                    caller, callee = phones[2 * i], phones[2 * i + 1]
                    number = lab.users[2 * i + 1].number
                    batch.append((place(caller, callee, number), caller.name, callee.name))
                else:
                    batch.append((place(phones[i], None, "*43"), phones[i].name, phones[i].name))
            done = await asyncio.gather(*(c for c, _, _ in batch))
            pairs += [(o, r, a, b) for (o, r), (_, a, b) in zip(done, batch, strict=True)]
        setup_s = time.perf_counter() - began
        frozen.enter_context(settled())  # as a load run: full collections skip the set-up
        await asyncio.sleep(warmup)  # the load is held on purpose: this is what is measured
        probe = LagProbe()
        spy = profile_window(profile, seconds)
        calls = [c for out, inc, _, _ in pairs for c in (out, inc) if c is not None]
        peers = [c.peer for c in calls] + (sim_peers(sim) if sim is not None else [])
        start = [leg_counts(p) for p in peers]
        cpu0, t0 = time.process_time(), loop.time()
        probe.start()
        await asyncio.sleep(seconds)
        lag = await probe.stop()
        cpu, t1 = time.process_time() - cpu0, loop.time()
        rss = rss_mb()
        if spy is not None:
            await asyncio.to_thread(spy.wait, 60)
        shares = [delivered(a, leg_counts(p), t1 - t0) for p, a in zip(peers, start, strict=True)]
        verified = 0
        for out, inc, a, b in pairs:
            ok = out.presence(b, t1 - VERIFY_SECONDS, t1) >= HEARD
            if inc is not None:
                ok = ok and inc.presence(a, t1 - VERIFY_SECONDS, t1) >= HEARD
            verified += ok
        counted = 4 * len(pairs) if setup == "sim" else len(pairs)
        result: dict[str, Any] = {
            "setup": setup,
            "codec": codec,
            "legs": counted,
            "cores": round(cpu / (t1 - t0), 3),
            "lag_p99_ms": round(lag * 1000, 1),
            "frames_min": round(min(shares), 5) if shares else 0.0,
            "verified": f"{verified}/{len(pairs)}",
            "rss_mb_per_leg": round((rss - rss0) / counted, 3),
            "setup_s": round(setup_s, 2),
        }
        result["passed"] = (
            verified == len(pairs)
            and min(shares, default=0.0) >= FRAMES_NEEDED
            and lag < LAG_P99
            and (rss - rss0) / counted < RSS_PER_LEG
        )
        await asyncio.gather(*(p.stop() for p in phones), return_exceptions=True)
        return result
    finally:
        frozen.close()
        if sim is not None:
            await sim.aclose()
        if proc is not None:
            proc.terminate()
            proc.wait(20)
        tmp.cleanup()


def run_trial(args: argparse.Namespace, legs: int) -> dict[str, Any]:
    """``--repeat`` trials of ``legs``; the median of each figure (the machine is shared)."""
    results = [one_trial(args, legs) for _ in range(args.repeat)]
    good = [r for r in results if "error" not in r]
    if not good:
        return results[0]
    median: dict[str, Any] = dict(good[0])
    for key in ("cores", "lag_p99_ms", "frames_min", "rss_mb_per_leg", "setup_s"):
        median[key] = statistics.median(r[key] for r in good)
    verified = sorted(good, key=lambda r: int(r["verified"].split("/")[0]))
    median["verified"] = verified[len(verified) // 2]["verified"]
    median["passed"] = (
        median["verified"].split("/")[0] == median["verified"].split("/")[1]
        and median["frames_min"] >= FRAMES_NEEDED
        and median["lag_p99_ms"] < 1000 * LAG_P99
        and median["rss_mb_per_leg"] < RSS_PER_LEG
    )
    return median


def one_trial(args: argparse.Namespace, legs: int) -> dict[str, Any]:
    """One trial in a fresh process pinned to ``--core``."""
    argv = [sys.executable, __file__, "--trial", str(legs), "--setup", args.setup]
    argv += ["--codec", args.codec, "--warmup", str(args.warmup), "--seconds", str(args.seconds)]
    out = subprocess.run(
        argv,
        capture_output=True,
        text=True,
        timeout=600,
        preexec_fn=lambda: os.sched_setaffinity(0, {args.core}),
    )
    lines = [ln for ln in out.stdout.splitlines() if ln.startswith("{")]
    if out.returncode != 0 or not lines:
        return {"legs": legs, "passed": False, "error": out.stderr.strip()[-300:]}
    result: dict[str, Any] = json.loads(lines[-1])
    return result


def show(result: dict[str, Any]) -> None:
    if "error" in result:
        print(f"{result['legs']:>6}  ERROR {result['error']}", flush=True)
        return
    per_core = result["legs"] / max(result["cores"], 1e-3)
    print(
        f"{result['legs']:>6}  {result['cores']:>6.2f}  {per_core:>8.0f}"
        f"  {result['lag_p99_ms']:>8.1f}  {result['frames_min'] * 100:>9.3f}  "
        f"{result['verified']:>9}  {result['rss_mb_per_leg']:>8.3f}  {result['setup_s']:>7.1f}  "
        f"{'pass' if result['passed'] else 'FAIL'}",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--setup", choices=("sim", "echo"), default="sim")
    parser.add_argument("--codec", default="PCMU", help="PCMU, PCMA or opus")
    parser.add_argument("--legs", type=int, nargs="*", default=[], help="leg counts to try")
    parser.add_argument("--search", action="store_true", help="find the largest passing count")
    parser.add_argument("--start", type=int, default=8, help="first count of --search")
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--seconds", type=float, default=5.0, help="measured window")
    parser.add_argument("--core", type=int, default=0, help="the core trials are pinned to")
    parser.add_argument("--repeat", type=int, default=1, help="trials per count (median kept)")
    parser.add_argument("--trial", type=int, help="run one trial of this many legs, here")
    parser.add_argument("--profile", metavar="FILE", help="with --trial: py-spy raw samples")
    args = parser.parse_args()
    if args.trial is not None:
        result = asyncio.run(
            trial(args.setup, args.codec, args.trial, args.warmup, args.seconds, args.profile)
        )
        print(json.dumps(result))
        return
    print("command:", " ".join([Path(sys.executable).name, *sys.argv]))
    print("machine:", machine())
    print(
        f"setup {args.setup}, codec {args.codec}, pinned to core {args.core}, "
        f"median of {args.repeat} trial(s) of {args.seconds:g} s"
    )
    print(
        f"{'legs':>6}  {'cores':>6}  {'legs/core':>8}  {'lag p99':>8}  {'frames %':>9}  "
        f"{'verified':>9}  {'MB/leg':>8}  {'setup s':>7}  verdict"
    )
    for legs in args.legs:
        show(run_trial(args, legs))
    if args.search:
        best = search(args)
        print(f"largest passing: {best} legs on one core ({args.setup}, {args.codec})")


def search(args: argparse.Namespace) -> int:
    step = 4 if args.setup == "sim" else 1
    good, bad = 0, None
    legs = args.start
    while bad is None:
        result = run_trial(args, legs)
        show(result)
        if result.get("passed"):
            good, legs = legs, legs * 2
        else:
            bad = legs
    while bad - good > max(step, good // 10):
        legs = (good + bad) // 2 // step * step
        result = run_trial(args, legs)
        show(result)
        if result.get("passed"):
            good = legs
        else:
            bad = legs
    return good


if __name__ == "__main__":
    main()
