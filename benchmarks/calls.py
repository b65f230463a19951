"""Call setup time and CPU cost through the built-in simulator, on loopback.

Places N sequential calls, then N concurrent calls (caller i -> callee i, in pairs of phones),
each held for ``--hold`` seconds with both signatures flowing.  Prints, for each mode, setup
time (dial -> call connected and both sides' media connected) median and p95.

Where things run:

- default: one process hosts the simulator and every phone, so a call costs this process four
  legs (caller, the simulator's two, callee); CPU seconds per call-second are printed too.
- ``--sim process``: the simulator in a process of its own (pinned to the other cores), as a
  XiVO is another machine.
- ``--workers N``: the phones spread over N worker processes (``xctest.load.WorkerProcess``),
  a pair's caller and callee in different workers; set-up ends when both sides' media is up
  (wall-clock times reported by each side).

    .venv/bin/python benchmarks/calls.py -n 20 --hold 2
    .venv/bin/python benchmarks/calls.py -n 20 --hold 2 --sim process --workers 1
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

from simprocess import lab_for, start_sim_process

from xctest.audio.signature import signature_for
from xctest.heap import settled
from xctest.load import CallJob, CallOutcome, PhoneSpec, WorkerProcess
from xctest.phone import CallState, Phone, SipIdentity
from xctest.sim import Lab, SimConfig, Simulator, User


def identity(url: str, user: User) -> SipIdentity:
    return SipIdentity(
        impi=user.line_name,
        password=user.line_password,
        domain="default",
        realm="default",
        display_name=user.display_name,
        ws_url=url,
    )


def make_phone(url: str, user: User, index: int) -> Phone:
    sig = signature_for(index % 16, user.login)
    return Phone(identity(url, user), name=user.login, signature=sig, listen_for=(sig,))


async def one_call(caller: Phone, callee: Phone, number: str, hold: float) -> float:
    start = time.perf_counter()
    since = len(callee.timeline)
    out = await caller.dial(number)
    await callee.timeline.wait_for(lambda e: e.name == "incoming/Setup", 20, since=since)
    inc = await callee.answer()
    await out.wait_state(CallState.CONNECTED, 20)
    await asyncio.gather(out.peer.wait_connected(), inc.peer.wait_connected())
    setup = time.perf_counter() - start
    await asyncio.sleep(hold)  # the call is held up on purpose: this is the load being measured
    await caller.hangup(out.sip_call_id)
    await callee.timeline.wait_for(lambda e: e.name.endswith("/Terminated"), 20, since=since)
    return setup


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]


def summary(label: str, setups: list[float], cpu: float | None, call_seconds: float) -> str:
    line = (
        f"{label:<11} calls={len(setups):<3} "
        f"setup median={statistics.median(setups) * 1000:6.1f} ms  p95={p95(setups) * 1000:6.1f} ms"
    )
    if cpu is not None:
        line += f"  cpu/call-second={cpu / call_seconds:.3f}"
    return line


async def in_process(url: str, lab: Lab, n: int, hold: float) -> None:
    phones = [make_phone(url, u, i) for i, u in enumerate(lab.users)]
    await asyncio.gather(*(p.start() for p in phones))
    with settled():  # as a run does once its phones are up
        callers, callees = phones[0::2], phones[1::2]
        numbers = [u.number for u in lab.users[1::2]]
        cpu0, setups = time.process_time(), []
        for _ in range(n):
            setups.append(await one_call(callers[0], callees[0], numbers[0], hold))
        print(summary("sequential", setups, time.process_time() - cpu0, n * hold))
        cpu0 = time.process_time()
        calls = (one_call(callers[i], callees[i], numbers[i], hold) for i in range(n))
        setups = list(await asyncio.gather(*calls))
        print(summary("concurrent", setups, time.process_time() - cpu0, n * hold))
    await asyncio.gather(*(p.stop() for p in phones))


async def in_workers(url: str, lab: Lab, n: int, hold: float, count: int) -> None:
    workers = [WorkerProcess(f"w{k}") for k in range(count)]
    try:
        await asyncio.gather(*(w.start() for w in workers))
        placing: list[list[CallJob]] = [[] for _ in workers]
        hosts: list[list[PhoneSpec]] = [[] for _ in workers]
        for i in range(n):
            caller, callee = lab.users[2 * i], lab.users[2 * i + 1]
            a, b = signature_for((2 * i) % 16, caller.login), signature_for((2 * i + 1) % 16)
            hosts[i % count].append(PhoneSpec(identity(url, caller), a, (a, b), name=caller.login))
            hosts[(i + 1) % count].append(
                PhoneSpec(identity(url, callee), b, (b, a), name=callee.login)
            )
            placing[i % count].append(CallJob(caller.login, callee.number, hold, b.name, 1.0))
        await asyncio.gather(*(w.add_phones(h) for w, h in zip(workers, hosts, strict=True)))
        first = [[placing[0][0]]] + [[] for _ in workers[1:]]
        answers_first = [1 if k == 1 % count else 0 for k in range(count)]
        setups = []
        for _ in range(n):
            setups += await round_of(workers, first, answers_first)
        print(summary("sequential", setups, None, n * hold))
        answers = [len(h) - len(p) for h, p in zip(hosts, placing, strict=True)]
        print(summary("concurrent", await round_of(workers, placing, answers), None, n * hold))
        for worker in workers:
            status = await worker.status()
            print(f"  {status.name}: cpu {status.cpu_s:.1f} s, loop lag p99 {status.lag_p99_ms} ms")
    finally:
        await asyncio.gather(*(w.close() for w in workers))


async def round_of(
    workers: list[WorkerProcess], jobs: list[list[CallJob]], incoming: list[int]
) -> list[float]:
    """Place ``jobs`` (per worker) at once; each call's set-up: dial -> both sides' media up.
    ``incoming``: how many of the calls each worker answers."""
    placed: list[CallOutcome] = []
    for done in await asyncio.gather(*(w.place(j) for w, j in zip(workers, jobs, strict=True))):
        placed += done
    errors = [o.error for o in placed if o.error]
    if errors or not all(o.verified for o in placed):
        raise SystemExit(f"calls failed: {errors or [o.heard for o in placed]}")
    # every worker reports its placed calls, and its answered ones once their caller hung up
    wanted = [len(j) + k for j, k in zip(jobs, incoming, strict=True)]
    reports = await asyncio.gather(
        *(w.outcomes(at_least=k, timeout=30) for w, k in zip(workers, wanted, strict=True))
    )
    media = {o.remote: o.media_at or 0.0 for done in reports for o in done if o.direction == "in"}
    return [
        max(o.media_at or 0.0, media.get(number_of(o.phone), 0.0)) - (o.dialled_at or 0.0)
        for o in placed
    ]


def number_of(login: str) -> str:
    return str(20000 + int(login[1:]))


async def main(n: int, hold: float, sim_where: str, workers: int) -> None:
    lab = lab_for(2 * n)
    proc = None
    tmp = tempfile.TemporaryDirectory()
    sim: Simulator | None = None
    try:
        if sim_where == "process":
            proc, url = start_sim_process(lab, Path(tmp.name))
        else:
            sim = Simulator(lab, SimConfig(sip_port=0, http_port=0))
            await sim.start()
            url = sim.sip_url
        if workers:
            await in_workers(url, lab, n, hold, workers)
        else:
            await in_process(url, lab, n, hold)
    finally:
        if sim is not None:
            await sim.aclose()
        if proc is not None:
            proc.terminate()
            proc.wait(20)
        tmp.cleanup()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-n", type=int, default=20, help="calls per mode")
    parser.add_argument("--hold", type=float, default=2.0, help="seconds each call stays up")
    parser.add_argument("--sim", choices=("here", "process"), default="here")
    parser.add_argument("--workers", type=int, default=0, help="worker processes for phones")
    args = parser.parse_args()
    asyncio.run(main(args.n, args.hold, args.sim, args.workers))
