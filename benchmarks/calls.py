"""Call setup time and CPU cost through the built-in simulator, on loopback.

Places N sequential calls, then N concurrent calls (caller i -> callee i, in pairs of phones),
each held for ``--hold`` seconds with both signatures flowing.  Prints, for each mode, setup
time (dial -> both sides connected) median and p95, and CPU seconds per call-second (process
CPU time while calls were up, divided by the summed call durations).  One process hosts the
simulator and every phone, so a call-second costs three legs' media work (caller, and the two
simulator legs) plus the callee's.

    .venv/bin/python benchmarks/calls.py -n 20 --hold 2
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

from xctest.audio.signature import signature_for
from xctest.phone import CallState, Phone, SipIdentity
from xctest.sim import Lab, SimConfig, Simulator, User


def lab_for(pairs: int) -> Lab:
    users = []
    for i in range(2 * pairs):
        number = str(2000 + i)
        users.append(
            User(
                login=f"u{i}",
                password="p",
                number=number,
                firstname="U",
                lastname=str(i),
                line_name=f"wr{number}",
                line_password=f"s{i}",
            )
        )
    return Lab(users=tuple(users))


def make_phone(sim: Simulator, user: User, index: int) -> Phone:
    ident = SipIdentity(
        impi=user.line_name,
        password=user.line_password,
        domain="default",
        realm="default",
        display_name=user.display_name,
        ws_url=sim.sip_url,
    )
    sig = signature_for(index % 16, user.login)
    return Phone(ident, name=user.login, signature=sig, listen_for=(sig,))


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


def summary(label: str, setups: list[float], cpu: float, call_seconds: float) -> str:
    ordered = sorted(setups)
    p95 = ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]
    return (
        f"{label:<11} calls={len(setups):<3} "
        f"setup median={statistics.median(setups) * 1000:6.1f} ms"
        f"  p95={p95 * 1000:6.1f} ms  cpu/call-second={cpu / call_seconds:.3f}"
    )


async def main(n: int, hold: float) -> None:
    lab = lab_for(n)
    async with Simulator(lab, SimConfig(sip_port=0, http_port=0)) as sim:
        phones = [make_phone(sim, u, i) for i, u in enumerate(lab.users)]
        await asyncio.gather(*(p.start() for p in phones))
        callers, callees = phones[0::2], phones[1::2]
        numbers = [u.number for u in lab.users[1::2]]

        cpu0, setups = time.process_time(), []
        for _ in range(n):
            setups.append(await one_call(callers[0], callees[0], numbers[0], hold))
        print(summary("sequential", setups, time.process_time() - cpu0, n * hold))

        cpu0 = time.process_time()
        setups = list(
            await asyncio.gather(
                *(one_call(callers[i], callees[i], numbers[i], hold) for i in range(n))
            )
        )
        print(summary("concurrent", setups, time.process_time() - cpu0, n * hold))
        await asyncio.gather(*(p.stop() for p in phones))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-n", type=int, default=20, help="calls per mode")
    parser.add_argument("--hold", type=float, default=2.0, help="seconds each call stays up")
    args = parser.parse_args()
    asyncio.run(main(args.n, args.hold))
