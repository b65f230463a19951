"""Runs one scenario against an opened XiVO: logs its parties in, performs its steps in
order, checks every ``expect`` and returns a ``ScenarioResult`` with the evidence.

A step that fails stops the scenario (the rest are "not run"); the phones are always released.
Events of an ``expect`` step are looked for in a window per party that starts where the
previous ``expect`` step judged its events (where it began, if it had no ``events``; the
scenario's start for the first one), so nothing that arrived meanwhile falls between two
windows.  A party's ``wait_for`` looks from the start of that party's previous step, or just
after its previous ``wait_for`` match, never before the window.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Sequence
from pathlib import Path
from typing import Any

from xctest.audio.signature import Signature, signature_for
from xctest.errors import ExpectationFailed, XctestError
from xctest.heap import settled
from xctest.results import TimelineEvent
from xctest.scenario import model as m
from xctest.scenario.actions import perform
from xctest.scenario.checks import (
    AudioRules,
    CannotMeasure,
    CheckFailed,
    check_audio,
    check_mos,
    check_quality,
    check_timing,
    current_call,
    pcm16,
)
from xctest.scenario.events import check_events, event_matches
from xctest.scenario.report import ScenarioResult, Status, StepResult, now_iso
from xctest.scenario.values import PartyField, Template
from xctest.scenario.xivo import Party, Xivo

__all__ = ["new_result", "run_scenario", "step_text"]

log = logging.getLogger(__name__)
_STEP_LINES = 40  # of a step's YAML, shown in a failure
_LOG_LINES = 200  # per party, kept in the report of a scenario that did not pass
RECORDING_SECONDS = 10.0  # of received audio kept with a failed audio or MOS check
STEP_GRACE = 2.0  # past a step's own deadline, so the wait inside it reports what it saw


class ExpectBroken(XctestError):
    """An ``expect`` part crashed (a bug of xctest): the step is an error, and keeps what
    the other parts found (their failures, evidence and recordings)."""

    def __init__(self, message: str, evidence: dict[str, Any], recordings: dict[str, bytes]):
        self.evidence = evidence
        self.recordings = recordings
        super().__init__(message)


def new_result(scenario: m.Scenario) -> ScenarioResult:
    """The result ``run_scenario`` fills in: every step "not run", nothing measured yet.
    Hold it before running, so a run that is cancelled still has it to write."""
    where = scenario.location
    files: dict[str, list[str]] = {}
    return ScenarioResult(
        name=scenario.name,
        file=where.file if where else "",
        target="",
        params=dict(scenario.params),
        steps=[
            StepResult(i, step_text(step, files), str(step.location or ""))
            for i, step in enumerate(scenario.steps, 1)
        ],
    )


def _cancelled_here() -> bool:
    """Whether this task is being cancelled (Ctrl-C, a timeout around the run), as opposed
    to a CancelledError escaping from some task it awaited."""
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0


async def run_scenario(
    scenario: m.Scenario,
    xivo: Xivo,
    *,
    rules: AudioRules | None = None,
    result: ScenarioResult | None = None,
) -> ScenarioResult:
    """Run ``scenario`` on ``xivo`` and return its result (``result`` when given, filled in);
    never raises for what happens on the wire.

    When the run is cancelled (Ctrl-C), the step in progress is an error "interrupted", the
    phones are hung up, the result gets its verdict, and the ``CancelledError`` goes on: the
    caller writes the ``result`` it passed in, then stops."""
    rules = rules or AudioRules(moh_mode=xivo.target.moh_mode)
    result = result if result is not None else new_result(scenario)
    result.target, result.started = xivo.name, now_iso()
    began = time.monotonic()
    run = _Run(scenario, xivo, rules)
    cancelled: asyncio.CancelledError | None = None
    try:
        await run.log_in()
        with settled():  # the phones are up: full collections skip them from now on
            await run.steps(result.steps)
    except asyncio.CancelledError as exc:
        if _cancelled_here():
            cancelled, result.message = exc, "interrupted"
        else:  # a task it awaited was cancelled by someone else: a bug of xctest
            log.exception("scenario %r: a task was cancelled", scenario.name)
            result.message = "internal error: a task was cancelled"
    except XctestError as exc:
        result.message = str(exc)
    except Exception as exc:  # a bug of xctest: the run goes on with the next scenario
        log.exception("scenario %r crashed", scenario.name)
        result.message = f"internal error: {type(exc).__name__}: {exc}"
    try:
        await run.release()
    except asyncio.CancelledError as exc:  # Ctrl-C while hanging up: the verdict stands
        cancelled = cancelled or exc
    finally:
        result.seconds = round(time.monotonic() - began, 3)
        result.recordings = run.recordings
        result.status = _verdict(result)
        if result.status is not Status.PASSED:
            result.logs = run.logs()
    if cancelled is not None:
        raise cancelled
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
        self.marks: dict[str, int] = {}  # the events window: where it starts, per party
        self.mark_t = 0.0  # and when
        self.judged: dict[str, int] = {}  # timeline lengths when events were last judged
        self.judged_t = 0.0  # and when
        self.cursors: dict[str, int] = {}  # where each party's next wait_for starts looking
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
        for name, party in zip(self.scenario.parties, made, strict=True):
            if isinstance(party, Party):
                self.parties[name] = party  # released at the end, whatever the others did
        crashed = [p for p in made if isinstance(p, BaseException)]
        problems = [str(p) for p in crashed if isinstance(p, XctestError)]
        for bug in crashed:
            if not isinstance(bug, XctestError):
                raise bug
        if problems:
            raise XctestError("log-in failed: " + "; ".join(problems))
        self._new_window(self._lengths(), asyncio.get_running_loop().time())

    def _lengths(self) -> dict[str, int]:
        return {name: len(p.phone.timeline) for name, p in self.parties.items()}

    def _new_window(self, marks: dict[str, int], t: float) -> None:
        self.marks, self.mark_t = marks, t

    def resolve(self, template: Template) -> str:
        return template.render(self._field)

    def _field(self, ref: PartyField) -> str:
        party = self.parties[ref.party]
        if ref.field == "number" and not party.number:
            raise XctestError(
                f"{ref.party}'s number is unknown: XUC's LineConfig for {party.login} carried "
                f"none; give it as users.{ref.party}.number in the target"
            )
        values = {
            "number": party.number,
            "login": party.login,
            "line_name": party.line_name,
            "firstname": party.firstname,
            "lastname": party.lastname,
            "display_name": party.display_name,
        }
        return values[ref.field]

    async def steps(self, results: Sequence[StepResult]) -> None:
        for step, result in zip(self.scenario.steps, results, strict=True):
            began = time.monotonic()
            what = result.text.strip().splitlines()[0] if result.text.strip() else ""
            log.info("%s: step %d %s", self.scenario.name, result.index, what.strip(" -"))
            try:
                result.evidence = await self._step(step)
                result.status = Status.PASSED
            except (CheckFailed, ExpectBroken) as exc:
                broken = isinstance(exc, ExpectBroken)
                result.status = Status.ERROR if broken else Status.FAILED
                result.message, result.evidence = str(exc), exc.evidence
                for party, pcm in exc.recordings.items():
                    self.recordings[f"step{result.index}-{party}"] = pcm
            except ExpectationFailed as exc:
                result.status, result.message = Status.FAILED, str(exc)
            except TimeoutError:
                result.status = Status.ERROR
                result.message = f"did not finish within {self._timeout(step) + STEP_GRACE:g} s"
            except XctestError as exc:
                result.status, result.message = Status.ERROR, str(exc)
            except OSError as exc:  # the network, not xctest: no traceback
                result.status, result.message = Status.ERROR, f"{type(exc).__name__}: {exc}"
            except asyncio.CancelledError:
                result.status, result.message = Status.ERROR, "interrupted"
                if _cancelled_here():
                    raise
                result.message = "internal error: a task was cancelled"
            except Exception as exc:  # a bug of xctest, tied to the step it happened in
                log.exception("step %d of %r crashed", result.index, self.scenario.name)
                result.status = Status.ERROR
                result.message = f"internal error: {type(exc).__name__}: {exc}"
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
            began, began_t = self._lengths(), asyncio.get_running_loop().time()
            self.judged = {}
            try:
                return await self._expect(step.expect)
            finally:
                if self.judged:
                    self._new_window(self.judged, self.judged_t)
                else:
                    self._new_window(began, began_t)
        party = self.parties[step.party]
        timeout = self._timeout(step)
        since = max(self.marks[step.party], self.cursors.get(step.party, 0))
        if isinstance(step.action, m.WaitFor):
            return await self._wait_for(step.party, step.action.wait_for, since, timeout)
        self.cursors[step.party] = len(party.phone.timeline)  # what the action causes counts
        # the action's own waits have ``timeout`` and say what they saw; this is a backstop
        return await asyncio.wait_for(
            perform(step.action, party.phone, self.resolve, timeout), timeout + STEP_GRACE
        )

    async def _wait_for(
        self, party: str, pattern: m.EventPattern, since: int, timeout: float
    ) -> dict[str, object]:
        timeline = self.parties[party].phone.timeline
        entry = await timeline.wait_for(
            lambda e: event_matches(pattern, e, self.resolve),
            timeout,
            since=since,
            what=f"{pattern.source} {pattern.name}",
        )
        self.cursors[party] = timeline.index_of(entry) + 1
        return {"event": str(entry)}

    async def _expect(self, expect: m.Expectations) -> dict[str, object]:
        """Every part is checked even after one fails, so a failure report shows all that did
        not hold: events first, then audio, timings and MOS at the same time."""
        evidence: dict[str, object] = {}
        failures: list[str] = []
        crashed: list[str] = []
        unmeasured: list[str] = []
        recordings: dict[str, bytes] = {}

        def judge(label: str, outcome: object) -> None:
            if isinstance(outcome, CannotMeasure):  # our own trouble: no verdict
                unmeasured.append(str(outcome))
                evidence[label] = outcome.evidence
            elif isinstance(outcome, CheckFailed):
                failures.append(str(outcome))
                evidence[label] = outcome.evidence
                recordings.update(outcome.recordings)
            elif isinstance(outcome, XctestError):  # e.g. the party has no call to listen on
                failures.append(f"{label}: {outcome}")
            elif isinstance(outcome, asyncio.CancelledError) and _cancelled_here():
                raise outcome
            elif isinstance(outcome, BaseException):
                log.error("%s crashed", label, exc_info=outcome)
                crashed.append(f"{label}: internal error: {type(outcome).__name__}: {outcome}")
            else:
                evidence[label] = outcome

        began = asyncio.get_running_loop().time()
        if expect.events is not None:
            events = await asyncio.gather(self._events(expect.events), return_exceptions=True)
            judge("events", events[0])
        parts: list[tuple[str, Awaitable[object]]] = []
        for audio in expect.audio:
            parts.append((f"{audio.party} hears {audio.hears}", self._audio(audio, began)))
        for timing in expect.timings:
            parts.append((f"timings {timing.party}", self._timing(timing)))
        for quality in expect.quality:
            phone = self.parties[quality.party].phone
            parts.append((f"quality {quality.party}", check_quality(quality, phone)))
        for mos in expect.mos:
            phone = self.parties[mos.party].phone
            signatures = list(self.signatures.values())
            mos_check = check_mos(mos, phone, signatures, self.rules)
            parts.append((f"mos {mos.party}", self._recorded(mos.party, mos_check)))
        outcomes = await asyncio.gather(*(p for _, p in parts), return_exceptions=True)
        for (label, _), outcome in zip(parts, outcomes, strict=True):
            judge(label, outcome)
        if crashed or unmeasured:  # not a verdict: the step is an error, and says what failed
            raise ExpectBroken("\n".join([*crashed, *unmeasured, *failures]), evidence, recordings)
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
            now = asyncio.get_running_loop().time()
            exc.recordings[party] = pcm16(call.audio(now - RECORDING_SECONDS, now))
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
        return await check_timing(timing, phone.timeline, self.marks[timing.party])

    async def _audio(self, check: m.AudioCheck, began: float) -> dict[str, object]:
        phone = self.parties[check.party].phone
        names = {name: sig.name for name, sig in self.signatures.items()}
        onset = self.scenario.timeouts.audio
        since = self.mark_t if isinstance(check.hears, m.HearsDtmf) else began
        return await self._recorded(
            check.party, check_audio(check, phone, names, onset, self.rules, since)
        )

    async def _events(self, events: m.Events) -> str:
        """Wait until the events are all seen (or the window closes), then judge."""
        loop = asyncio.get_running_loop()
        within = events.within or self.scenario.timeouts.events
        deadline = loop.time() + within
        only_never = not (events.in_order or events.in_any_order)
        while True:
            final = loop.time() >= deadline
            self.judged, self.judged_t = self._lengths(), loop.time()
            outcome = check_events(events, self._window(self.judged), self.resolve, final=final)
            if outcome.ok and (final or not only_never):
                return outcome.message
            if not outcome.ok and not outcome.pending:
                message = f"within {within:g} s, {outcome.message}" if final else outcome.message
                raise CheckFailed(message, {"seen": [str(e) for e in outcome.seen]})
            await self._anything_new(deadline - loop.time())

    def _window(self, ends: dict[str, int] | None = None) -> dict[str, list[TimelineEvent]]:
        """Each party's entries from the window's start (to ``ends``, else to now)."""
        return {
            name: p.phone.timeline.entries[self.marks[name] : (ends or {}).get(name)]
            for name, p in self.parties.items()
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
