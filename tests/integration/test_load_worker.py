"""Workers: many phones on one loop, in this process or in worker processes of their own,
calling each other through the simulator; each side reports what it heard."""

from __future__ import annotations

import asyncio
import os

import pytest
from conftest import identity_for

from xctest.audio.signature import signature_for
from xctest.load import CallJob, PhoneSpec, Worker, WorkerError, WorkerProcess
from xctest.sim import Simulator

pytestmark = pytest.mark.integration

PAIRS = [("alice", "bob"), ("carol", "dave")]


def specs(sim: Simulator, side: int, codecs: tuple[str, ...] = ()) -> list[PhoneSpec]:
    """Callers (side 0) or callees (side 1) of PAIRS, each listening for its partner."""
    out = []
    for k, pair in enumerate(PAIRS):
        me, partner = pair[side], pair[1 - side]
        mine = signature_for(2 * k + side, me)
        theirs = signature_for(2 * k + 1 - side, partner)
        out.append(PhoneSpec(identity_for(sim, me), mine, (mine, theirs), codecs=codecs, name=me))
    return out


def jobs(sim: Simulator, hold: float = 1.5, expect_other: bool = False) -> list[CallJob]:
    out = []
    for k, (caller, callee) in enumerate(PAIRS):
        user = sim.lab.user_by_login(callee)
        assert user is not None
        expect = signature_for(2 * k + 1, callee).name
        if expect_other:  # the callee of the other pair: a wrong expectation
            other = PAIRS[1 - k][1]
            expect = signature_for(2 * (1 - k) + 1, other).name
        out.append(CallJob(caller, user.number, hold=hold, expect=expect, verify=1.0))
    return out


async def test_a_worker_places_and_answers_calls_and_each_side_is_verified(sim):
    callers, callees = Worker("callers"), Worker("callees")
    try:
        assert await callers.add_phones(specs(sim, 0, ("PCMU",))) == 2
        assert await callees.add_phones(specs(sim, 1)) == 2
        placed = await callers.place(jobs(sim))
        assert [o.error for o in placed] == [None, None]
        assert all(o.verified for o in placed), [o.heard for o in placed]
        assert all(0 < (o.setup_s or 0) < 10 for o in placed)
        assert all(o.stream and o.stream["expected"] >= 50 for o in placed)
        incoming = await callees.outcomes(at_least=2, timeout=10)
        assert {o.phone for o in incoming} == {"bob", "dave"}
        assert all(o.verified for o in incoming), [o.heard for o in incoming]
        assert {o.expect for o in incoming} == {
            signature_for(0, "alice").name,
            signature_for(2, "carol").name,
        }
        status = callers.status()
        assert (status.phones, status.registered, status.live_calls) == (2, 2, 0)
    finally:
        await callers.stop()
        await callees.stop()


async def test_a_wrong_expectation_is_not_verified(sim):
    callers, callees = Worker("callers"), Worker("callees")
    try:
        await callers.add_phones(specs(sim, 0))
        await callees.add_phones(specs(sim, 1))
        placed = await callers.place(jobs(sim, hold=1.2, expect_other=True))
        assert [o.error for o in placed] == [None, None]
        assert [o.verified for o in placed] == [False, False]
    finally:
        await callers.stop()
        await callees.stop()


async def test_phones_spread_over_worker_processes_call_each_other(sim):
    callers, callees = WorkerProcess("callers"), WorkerProcess("callees")
    try:
        await asyncio.gather(callers.start(), callees.start())
        assert len({callers.pid, callees.pid, os.getpid()}) == 3
        await asyncio.gather(callers.add_phones(specs(sim, 0)), callees.add_phones(specs(sim, 1)))
        placed = await callers.place(jobs(sim))
        assert [o.error for o in placed] == [None, None]
        assert all(o.verified for o in placed), [o.heard for o in placed]
        incoming = await callees.outcomes(at_least=2, timeout=10)
        assert all(o.verified for o in incoming), [o.heard for o in incoming]
        status = await callees.status()
        assert status.pid == callees.pid and status.registered == 2
        assert status.lag_p99_ms >= 0 and status.cpu_s > 0
    finally:
        await asyncio.gather(callers.close(), callees.close())


async def test_a_worker_process_reports_bad_requests_and_its_own_death(sim):
    worker = WorkerProcess("w")
    try:
        await worker.start()
        [outcome] = await worker.place([CallJob("nobody", "1002")])
        assert outcome.error == "no phone 'nobody' in worker w"
        with pytest.raises(
            WorkerError, match=r"worker w: add_phones: XctestError: w: phones not started: alice"
        ):
            bad = identity_for(sim, "alice", password="wrong")
            await worker.add_phones([PhoneSpec(bad, signature_for(0), name="alice")], timeout=5)
        assert (await worker.status()).phones == 0  # it still serves
        os.kill(worker.pid, 9)
        with pytest.raises(WorkerError, match=r"worker w exited \(code -9\)"):
            await asyncio.wait_for(worker.status(), 10)
    finally:
        await worker.close()
