"""Runs one scenario against an opened XiVO: logs its parties in, performs its steps in
order, checks every ``expect`` and returns a ``ScenarioResult`` with the evidence.

A step that fails stops the scenario (the rest are "not run"); the phones are always released.
Events of an ``expect`` step are looked for in a window per party that starts where the
previous ``expect`` step ended (the scenario's start for the first one).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Sequence
from pathlib import Path

from xctest.audio.signature import Signature, signature_for
from xctest.errors import ExpectationFailed, XctestError
from xctest.scenario import model as m
from xctest.scenario.actions import perform
from xctest.scenario.checks import (
    AudioRules,
    CheckFailed,
    check_audio,
    check_mos,
    check_timing,
    current_call,
    pcm16,
)
from xctest.scenario.events import check_events
from xctest.scenario.report import ScenarioResult, Status, StepResult, now_iso
from xctest.scenario.values import PartyField, Template
from xctest.scenario.xivo import Party, Xivo

__all__ = ["run_scenario", "step_text"]

log = logging.getLogger(__name__)
_STEP_LINES = 40  # of a step's YAML, shown in a failure
_LOG_LINES = 200  # per party, kept in the report of a scenario that did not pass
RECORDING_SECONDS = 10.0  # of received audio kept with a failed audio or MOS check


async def run_scenario(
    scenario: m.Scenario, xivo: Xivo, *, rules: AudioRules | None = None
) -> ScenarioResult:
    """Run ``scenario`` on ``xivo``; never raises for what happens on the wire."""
    rules = rules or AudioRules(moh_mode=xivo.target.moh_mode)
    where = scenario.location
    files: dict[str, list[str]] = {}
    result = ScenarioResult(
        name=scenario.name,
        file=where.file if where else "",
        target=xivo.name,
        params=dict(scenario.params),
        started=now_iso(),
        steps=[
            StepResult(i, step_text(step, files), str(step.location or ""))
            for i, step in enumerate(scenario.steps, 1)
        ],
    )
    began = time.monotonic()
    run = _Run(scenario, xivo, rules)
    try:
        await run.log_in()
        await run.steps(result.steps)
    except XctestError as exc:
        result.message = str(exc)
    except Exception as exc:  # a bug of xctest: the run goes on with the next scenario
        log.exception("scenario %r crashed", scenario.name)
        result.message = f"internal error: {type(exc).__name__}: {exc}"
    finally:
        await run.release()
        result.seconds = round(time.monotonic() - began, 3)
        result.recordings = run.recordings
    result.status = _verdict(result)
    if result.status is not Status.PASSED:
        result.logs = run.logs()
    return result


def _verdict(result: ScenarioResult) -> Status:
    statuses = [s.status for s in result.steps]
    if Status.FAILED in statuses:
        return Status.FAILED
    if result.message or Status.ERROR in statuses:
        return Status.ERROR
    return Status.PASSED


class _Run:
    def __init__(self, scenario: m.Scenario, xivo: Xivo, rules: AudioRules) -> None:
        self.scenario = scenario
        self.xivo = xivo
        self.rules = rules
        self.parties: dict[str, Party] = {}
        self.signatures: dict[str, Signature] = {
            name: signature_for(i, name) for i, name in enumerate(scenario.parties)
        }
        self.marks: dict[str, int] = {}
        self.mark_t = 0.0
        self.recordings: dict[str, bytes] = {}  # what parties heard in failed audio/MOS checks

    async def log_in(self) -> None:
        everyone = tuple(self.signatures.values())
        made = await asyncio.gather(
            *(
                self.xivo.phone(name, signature=self.signatures[name], listen_for=everyone)
                for name in self.scenario.parties
            ),
            return_exceptions=True,
        )
        problems = []
        for name, party in zip(self.scenario.parties, made, strict=True):
            if isinstance(party, Party):
                self.parties[name] = party
            elif isinstance(party, XctestError):
                problems.append(str(party))
            elif isinstance(party, BaseException):
                raise party
        if problems:
            raise XctestError("log-in failed: " + "; ".join(problems))
        self._new_window()

    def _new_window(self) -> None:
        self.marks = {name: len(p.phone.timeline) for name, p in self.parties.items()}
        self.mark_t = asyncio.get_running_loop().time()

    def resolve(self, template: Template) -> str:
        return template.render(self._field)

    def _field(self, ref: PartyField) -> str:
        party = self.parties[ref.party]
        first, _, last = party.display_name.partition(" ")
        values = {
            "number": party.number,
            "login": party.login,
            "line_name": party.line_name,
            "firstname": first,
            "lastname": last,
            "display_name": party.display_name,
        }
        return values[ref.field]

    async def steps(self, results: Sequence[StepResult]) -> None:
        for step, result in zip(self.scenario.steps, results, strict=True):
            began = time.monotonic()
            try:
                result.evidence = await self._step(step)
                result.status = Status.PASSED
            except CheckFailed as exc:
                result.status, result.message = Status.FAILED, str(exc)
                result.evidence = exc.evidence
                for party, pcm in exc.recordings.items():
                    self.recordings[f"step{result.index}-{party}"] = pcm
            except ExpectationFailed as exc:
                result.status, result.message = Status.FAILED, str(exc)
            except TimeoutError:
                result.status = Status.ERROR
                result.message = f"did not finish within {self._timeout(step):g} s"
            except XctestError as exc:
                result.status, result.message = Status.ERROR, str(exc)
            finally:
                result.seconds = round(time.monotonic() - began, 3)
            if result.status is not Status.PASSED:
                return

    def _timeout(self, step: m.Step) -> float:
        if isinstance(step, m.PartyStep):
            return step.action.timeout or self.scenario.timeouts.action
        return self.scenario.timeouts.events

    async def _step(self, step: m.Step) -> dict[str, object]:
        if isinstance(step, m.KeepCallUp):
            await asyncio.sleep(step.keep_call_up)  # the one plain pause of the language
            return {"seconds": step.keep_call_up}
        if isinstance(step, m.ExpectStep):
            evidence = await self._expect(step.expect)
            self._new_window()
            return evidence
        party = self.parties[step.party]
        timeout = self._timeout(step)
        return await asyncio.wait_for(
            perform(step.action, party.phone, self.resolve, self.marks[step.party], timeout),
            timeout,
        )

    async def _expect(self, expect: m.Expectations) -> dict[str, object]:
        """Every part is checked even after one fails, so a failure report shows all that did
        not hold: events first, then audio, timings and MOS at the same time."""
        evidence: dict[str, object] = {}
        failures: list[str] = []
        recordings: dict[str, bytes] = {}
        began = asyncio.get_running_loop().time()
        if expect.events is not None:
            try:
                evidence["events"] = await self._events(expect.events)
            except CheckFailed as exc:
                failures.append(str(exc))
                evidence["events"] = exc.evidence
        parts: list[tuple[str, Awaitable[object]]] = []
        if expect.audio:
            parts.append(("audio", self._all_audio(expect.audio, began)))
        for timing in expect.timings:
            parts.append((f"timings {timing.party}", self._timing(timing)))
        for mos in expect.mos:
            phone = self.parties[mos.party].phone
            signatures = list(self.signatures.values())
            mos_check = check_mos(mos, phone, signatures, self.rules)
            parts.append((f"mos {mos.party}", self._recorded(mos.party, mos_check)))
        outcomes = await asyncio.gather(*(p for _, p in parts), return_exceptions=True)
        for (label, _), outcome in zip(parts, outcomes, strict=True):
            if isinstance(outcome, CheckFailed):
                failures.append(str(outcome))
                evidence[label] = outcome.evidence
                recordings.update(outcome.recordings)
            elif isinstance(outcome, BaseException):
                raise outcome
            else:
                evidence[label] = outcome
        if failures:
            refused = self._xuc_errors()
            if refused:
                failures.append("XUC refused commands in this window:\n  " + "\n  ".join(refused))
            raise CheckFailed("\n".join(failures), evidence, recordings)
        return evidence

    async def _recorded(self, party: str, check: Awaitable[dict[str, object]]) -> dict[str, object]:
        """``check``'s evidence; when it fails, what ``party`` received comes with it."""
        try:
            return await check
        except CheckFailed as exc:
            try:
                call = current_call(self.parties[party].phone)
            except XctestError:
                raise exc from None
            exc.recordings[party] = pcm16(call, RECORDING_SECONDS)
            raise

    def _xuc_errors(self) -> list[str]:
        """CTI ``Error`` replies since the window began, with the command before each: a
        refused transfer or hang-up often explains a failed expectation."""
        out = []
        for name, entries in self._window().items():
            last_command = ""
            for e in entries:
                if e.kind == "cti" and e.fields.get("direction") == "out":
                    last_command = e.name
                elif e.kind == "cti" and e.name == "Error":
                    detail = e.fields.get("error", "")
                    after = f" (after {last_command})" if last_command else ""
                    out.append(f"{name}: Error {detail}{after}")
        return out

    async def _timing(self, timing: m.TimingCheck) -> dict[str, object]:
        phone = self.parties[timing.party].phone
        return check_timing(timing, phone.timeline, self.marks[timing.party])

    async def _all_audio(self, checks: Sequence[m.AudioCheck], began: float) -> list[object]:
        outcomes = await asyncio.gather(
            *(self._audio(check, began) for check in checks), return_exceptions=True
        )
        return _first_failure_or(list(outcomes), [c.party for c in checks])

    async def _audio(self, check: m.AudioCheck, began: float) -> dict[str, object]:
        phone = self.parties[check.party].phone
        names = {name: sig.name for name, sig in self.signatures.items()}
        onset = self.scenario.timeouts.audio
        since = self.mark_t if isinstance(check.hears, m.HearsDtmf) else began
        evidence = await self._recorded(
            check.party, check_audio(check, phone, names, onset, self.rules, since)
        )
        return {"party": check.party, "hears": str(check.hears), **evidence}

    async def _events(self, events: m.Events) -> str:
        """Wait until the events are all seen (or the window closes), then judge."""
        loop = asyncio.get_running_loop()
        within = events.within or self.scenario.timeouts.events
        deadline = loop.time() + within
        only_never = not (events.in_order or events.in_any_order)
        while True:
            final = loop.time() >= deadline
            outcome = check_events(events, self._window(), self.resolve, final=final)
            if outcome.ok and (final or not only_never):
                return outcome.message
            if not outcome.ok and not outcome.pending:
                message = f"within {within:g} s, {outcome.message}" if final else outcome.message
                raise CheckFailed(message, {"seen": [str(e) for e in outcome.seen]})
            await self._anything_new(deadline - loop.time())

    def _window(self) -> dict[str, list]:  # type: ignore[type-arg]
        return {
            name: p.phone.timeline.entries[self.marks[name] :] for name, p in self.parties.items()
        }

    async def _anything_new(self, timeout: float) -> None:
        """Until any party's timeline grows, or ``timeout``."""
        if timeout <= 0:
            return
        waits = [
            asyncio.ensure_future(
                p.phone.timeline.wait_for(lambda _: True, timeout, since=len(p.phone.timeline))
            )
            for p in self.parties.values()
        ]
        done, pending = await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        for task in pending:
            task.cancel()
        await asyncio.gather(*waits, return_exceptions=True)

    async def release(self) -> None:
        await self.xivo.release(list(self.parties.values()))

    def logs(self) -> dict[str, list[str]]:
        """Each party's timeline (the last entries), for a report that needs explaining."""
        return {
            name: [f"{e.t - self.mark_t:+.3f} {e}" for e in p.phone.timeline.entries[-_LOG_LINES:]]
            for name, p in self.parties.items()
        }


def _first_failure_or(outcomes: list[object], parties: list[str]) -> list[object]:
    """The evidence of every audio check, or raise the first failure (others' evidence kept)."""
    failures = [o for o in outcomes if isinstance(o, BaseException)]
    if not failures:
        return outcomes
    first = failures[0]
    if isinstance(first, CheckFailed):
        messages = [str(f) for f in failures]
        recordings = {
            k: v for f in failures if isinstance(f, CheckFailed) for k, v in f.recordings.items()
        }
        evidence = {
            party: (o.evidence if isinstance(o, CheckFailed) else o)
            for party, o in zip(parties, outcomes, strict=True)
            if not isinstance(o, BaseException) or isinstance(o, CheckFailed)
        }
        raise CheckFailed("\n".join(messages), evidence, recordings)
    raise first


def step_text(step: m.Step, files: dict[str, list[str]] | None = None) -> str:
    """The YAML lines of a step as written (the step's line and the lines indented under
    it), or the step's kind when the file cannot be read.  ``files`` caches file lines."""
    where = step.location
    if where is None:
        return type(step).__name__
    files = {} if files is None else files
    if where.file not in files:
        try:
            files[where.file] = Path(where.file).read_text(encoding="utf-8").splitlines()
        except OSError:
            files[where.file] = []
    lines = files[where.file]
    if not 0 < where.line <= len(lines):
        return type(step).__name__
    first = lines[where.line - 1]
    base = len(first) - len(first.lstrip())
    body: list[str] = []
    for line in lines[where.line :]:
        if line.strip() and len(line) - len(line.lstrip()) <= base:
            break  # the next step, or the end of the steps
        body.append(line)
    while body and not body[-1].strip():
        body.pop()
    if len(body) > _STEP_LINES:
        body = [
            *body[:_STEP_LINES],
            f"{' ' * (base + 4)}... ({len(body) - _STEP_LINES} more lines)",
        ]
    return "\n".join([first, *body])
