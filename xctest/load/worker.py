"""``Worker``: many phones on one asyncio loop, the unit of a load run.

A load run places one worker per core, each in a process of its own (``WorkerProcess``) or in
a Ray actor; the worker itself is a plain class whose methods are coroutines of the loop it
lives on, and whose arguments and results are plain data (they cross process boundaries).
Its phones answer their incoming calls by themselves, so a caller and its callee may live in
different workers: each side reports what it heard, and the caller's side its set-up time.
"""

from __future__ import annotations

import asyncio
import logging
import os
import resource
import time
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from typing import Any

from xctest.audio.signature import Signature
from xctest.errors import XctestError
from xctest.heap import resettle
from xctest.load.probe import LagProbe
from xctest.media import PeerConfig
from xctest.phone import Call, CallState, Phone, SipIdentity, Topic, XcEvent, XcType

__all__ = ["CallJob", "CallOutcome", "PhoneSpec", "Worker", "WorkerStatus"]

log = logging.getLogger(__name__)

HEARD = 0.8  # share of a window's frames in which the expected party must be heard
END_MARGIN = 0.3  # s: an incoming call is judged up to this long before its end was seen


@dataclass(frozen=True)
class PhoneSpec:
    """One phone of a worker: its SIP account, what its microphone plays, what its calls
    listen for, the codecs it offers (first preferred; empty: the phone's default), whether
    it answers incoming calls (after ``answer_after`` seconds of ringing), and its name."""

    identity: SipIdentity
    signature: Signature
    listen_for: tuple[Signature, ...] = ()
    codecs: tuple[str, ...] = ()
    answers: bool = True
    answer_after: float = 0.0
    name: str = ""  # what jobs and outcomes call the phone; default: its SIP user

    def __post_init__(self) -> None:
        if not self.name:
            object.__setattr__(self, "name", self.identity.impi)


@dataclass(frozen=True)
class CallJob:
    """One call to place: ``caller`` (a phone of this worker) dials ``number`` and keeps the
    call ``hold`` seconds once both sides' media is connected, then hangs up.  ``expect``: the
    signature name the caller must hear over the last ``verify`` seconds (None: not judged)."""

    caller: str
    number: str
    hold: float = 3.0
    expect: str | None = None
    verify: float = 3.0


@dataclass
class CallOutcome:
    """What one side of one call measured.  ``direction``: "out" (placed by a job) or "in"
    (answered).  ``setup_s``: dial → call connected and this side's media path up (placed
    calls); ``dialled_at``/``media_at`` are the wall-clock times of dialling and of this side's
    media being up, so a caller's and a callee's outcomes from two processes can be joined.
    ``heard``: share of the judged window's frames in which each listened-for signature was
    heard (frames that should have arrived and did not count as not heard).  ``verified``:
    ``expect`` heard in at least 80 % of them (None when nothing was expected).  The stream
    counts are the received leg's (RTP sequence numbers; None on aiortc's own path).
    ``error``: why the call could not be placed, connected or judged."""

    phone: str
    direction: str
    remote: str
    setup_s: float | None = None
    dialled_at: float | None = None  # wall clock (time.time()), placed calls
    media_at: float | None = None  # wall clock when this side's media path was up
    seconds: float = 0.0
    heard: dict[str, float] = field(default_factory=dict)
    expect: str | None = None
    verified: bool | None = None
    stream: dict[str, float] | None = None
    error: str | None = None


@dataclass(frozen=True)
class WorkerStatus:
    """A worker's state: phones (registered), live calls, loop lag p99 over the last probe
    window, CPU seconds used and peak RSS of its process."""

    name: str
    pid: int
    phones: int
    registered: int
    live_calls: int
    outcomes: int
    lag_p99_ms: float
    cpu_s: float
    max_rss_mb: float


class Worker:
    """Many phones on the running loop.  ``add_phones`` starts and registers them;
    ``place`` runs call jobs; ``outcomes`` hands over (and forgets) what calls measured."""

    def __init__(self, name: str = "worker") -> None:
        self.name = name
        self.phones: dict[str, Phone] = {}
        self._specs: dict[str, PhoneSpec] = {}
        self._outcomes: list[CallOutcome] = []
        self._added = asyncio.Event()
        self._media_at: dict[str, float] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._probe = LagProbe()

    async def add_phones(self, specs: Sequence[PhoneSpec], timeout: float = 20.0) -> int:
        """Start and register ``specs`` (all at once); returns how many phones the worker
        has.  Raises ``XctestError`` naming each phone that did not register."""
        if not self._probe.running:
            self._probe.start()
        new = [spec for spec in specs if spec.name not in self.phones]
        phones = [self._make(spec) for spec in new]
        results = await asyncio.gather(
            *(asyncio.wait_for(p.start(), timeout) for p in phones), return_exceptions=True
        )
        failed = []
        for spec, phone, result in zip(new, phones, results, strict=True):
            if isinstance(result, BaseException):
                failed.append(f"{spec.name}: {type(result).__name__}: {result}")
                await phone.stop()
                continue
            self.phones[spec.name], self._specs[spec.name] = phone, spec
            handler = self._incoming(phone, spec)
            phone.set_handler(Topic.INCOMING, handler)
            phone.set_handler(Topic.OUTGOING, handler)  # a call from its own display name
        resettle()  # long-lived from now on: full collections need not walk them again
        if failed:
            raise XctestError(f"{self.name}: phones not started: " + "; ".join(failed))
        return len(self.phones)

    def _make(self, spec: PhoneSpec) -> Phone:
        config = PeerConfig(codecs=spec.codecs) if spec.codecs else None
        return Phone(
            spec.identity,
            name=spec.name,
            signature=spec.signature,
            listen_for=spec.listen_for or (spec.signature,),
            peer_config=config,
        )

    def _incoming(self, phone: Phone, spec: PhoneSpec) -> Callable[[XcEvent], None]:
        answered: dict[str, float] = {}

        answering: set[str] = set()

        def on_event(event: XcEvent) -> None:
            # xc_webrtc's incoming Setup carries no sipCallId: the ringing calls are the phone's
            if event.type is XcType.SETUP and spec.answers:
                for call in list(phone.calls.values()):
                    if call.state is CallState.SETUP and call.sip_call_id not in answering:
                        answering.add(call.sip_call_id)
                        self._spawn(
                            self._answer(phone, call.sip_call_id, spec.answer_after, answered)
                        )
            elif event.type is XcType.TERMINATED and event.sip_call_id:
                answering.discard(event.sip_call_id)
                if event.sip_call_id not in answered:
                    return  # not answered here (a placed call, or one that never connected)
                began = answered.pop(event.sip_call_id)
                self._record(self._judge_incoming(phone, event.sip_call_id, began))

        return on_event

    async def _answer(
        self, phone: Phone, call_id: str, after: float, answered: dict[str, float]
    ) -> None:
        if after > 0:
            await asyncio.sleep(after)  # the ringing time asked for
        try:
            call = await phone.answer(call_id)
            answered[call_id] = asyncio.get_running_loop().time()
            await call.peer.wait_connected()
            self._media_at[call_id] = time.time()
        except (XctestError, OSError) as exc:
            answered.pop(call_id, None)
            self._record(
                CallOutcome(phone.name, "in", "", error=f"answer: {type(exc).__name__}: {exc}")
            )

    def _judge_incoming(self, phone: Phone, call_id: str, began: float) -> CallOutcome:
        call = phone.calls[call_id]
        end = asyncio.get_running_loop().time() - END_MARGIN
        spec = self._specs[phone.name]
        t0 = max(began, end - 3.0)
        outcome = CallOutcome(phone.name, "in", call.remote_number, seconds=end - began)
        outcome.media_at = self._media_at.pop(call_id, None)
        _measure(outcome, call, spec, t0, end)
        return outcome

    async def place(self, jobs: Sequence[CallJob]) -> list[CallOutcome]:
        """Run ``jobs`` at once; each placed call's outcome, in order (also kept for
        ``outcomes``).  A job's own trouble is its outcome's ``error``; others go on."""
        results = await asyncio.gather(*(self._place(job) for job in jobs))
        return list(results)

    async def _place(self, job: CallJob) -> CallOutcome:
        outcome = CallOutcome(job.caller, "out", job.number, expect=job.expect)
        phone = self.phones.get(job.caller)
        if phone is None:
            outcome.error = f"no phone {job.caller!r} in worker {self.name}"
            self._record(outcome)
            return outcome
        loop = asyncio.get_running_loop()
        began, outcome.dialled_at = time.perf_counter(), time.time()
        call: Call | None = None
        try:
            call = await phone.dial(job.number)
            await call.wait_state(CallState.CONNECTED, 30)
            await asyncio.wait_for(call.peer.wait_connected(), 30)
            outcome.setup_s, outcome.media_at = time.perf_counter() - began, time.time()
            up = loop.time()
            await asyncio.sleep(job.hold)  # the call is held up: this is the load
            if call.is_terminated:
                raise XctestError(f"the call ended after {loop.time() - up:.1f} s of {job.hold}")
            end = loop.time()
            outcome.seconds = end - up
            _measure(outcome, call, self._specs[phone.name], max(up, end - job.verify), end)
        except (XctestError, OSError, TimeoutError) as exc:
            outcome.error = f"{type(exc).__name__}: {exc}"
        finally:
            if call is not None and not call.is_terminated:
                try:
                    await phone.hangup(call.sip_call_id)
                except (XctestError, OSError) as exc:
                    log.warning("%s: hang-up failed: %s", job.caller, exc)
        self._record(outcome)
        return outcome

    async def outcomes(self, at_least: int = 0, timeout: float = 30.0) -> list[CallOutcome]:
        """Every outcome since the last take (placed and answered), then forgotten here;
        first waits until there are ``at_least`` (``TimeoutError`` after ``timeout`` s)."""
        async with asyncio.timeout(timeout):
            while len(self._outcomes) < at_least:
                self._added.clear()
                await self._added.wait()
        taken, self._outcomes = self._outcomes, []
        return taken

    def _record(self, outcome: CallOutcome) -> None:
        self._outcomes.append(outcome)
        self._added.set()

    def status(self) -> WorkerStatus:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        live = sum(1 for p in self.phones.values() for c in p.calls.values() if not c.is_terminated)
        return WorkerStatus(
            name=self.name,
            pid=os.getpid(),
            phones=len(self.phones),
            registered=sum(1 for p in self.phones.values() if p.registered),
            live_calls=live,
            outcomes=len(self._outcomes),
            lag_p99_ms=round(self._probe.take_p99() * 1000, 2),
            cpu_s=round(usage.ru_utime + usage.ru_stime, 3),
            max_rss_mb=round(usage.ru_maxrss / 1024, 1),
        )

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def stop(self) -> None:
        """Hang up nothing further, stop every phone (unregistering) and the lag probe."""
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await asyncio.gather(*(p.stop() for p in self.phones.values()), return_exceptions=True)
        self.phones.clear()
        await self._probe.stop()


def _measure(outcome: CallOutcome, call: Call, spec: PhoneSpec, t0: float, t1: float) -> None:
    names = [s.name for s in (spec.listen_for or (spec.signature,))]
    outcome.heard = {name: round(call.presence(name, t0, t1), 4) for name in names}
    if outcome.expect is None and outcome.direction == "in":
        others = [n for n in names if n != spec.signature.name]
        outcome.expect = others[0] if len(others) == 1 else None
    if outcome.expect is not None:
        outcome.verified = outcome.heard.get(outcome.expect, 0.0) >= HEARD
    stats = call.peer.stats()
    outcome.stream = stats.to_json() if stats is not None else None
