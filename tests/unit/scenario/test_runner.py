"""The runner on hand-made parties.  Where it looks for events: a party's ``wait_for`` never
returns an event an earlier step of that party already matched, and the events window of an
``expect`` starts where the previous one judged its events, so what arrives while audio or
timings are measured is not lost.  And how a step that cannot be measured, or crashes, is
reported."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from types import SimpleNamespace
from typing import Any

import pytest

from xctest.scenario import load_scenario_text
from xctest.scenario.checks import AudioRules
from xctest.scenario.report import Status, StepResult
from xctest.scenario.runner import _Run
from xctest.scenario.xivo import Party
from xctest.timeline import Timeline


class WatchedTimeline(Timeline):
    """A timeline that says when someone starts waiting for ``what``."""

    def __init__(self, party: str) -> None:
        super().__init__(party)
        self.waiting: dict[str, asyncio.Event] = {}

    async def wait_for(
        self, pred: Any, timeout: float, *, since: int = 0, what: str = "an event"
    ) -> Any:
        self.waiting.setdefault(what, asyncio.Event()).set()
        return await super().wait_for(pred, timeout, since=since, what=what)

    def waiter(self, what: str) -> asyncio.Event:
        return self.waiting.setdefault(what, asyncio.Event())


def fake_party(timeline: Timeline) -> Party:
    phone: Any = SimpleNamespace(name=timeline.party, timeline=timeline, calls={})
    return Party(
        name=timeline.party,
        phone=phone,
        cti=None,  # type: ignore[arg-type]
        login=timeline.party,
        number="1001",
        line_name="",
        display_name=timeline.party,
        firstname=timeline.party,
        lastname="",
    )


def runner(steps: str, timeline: Timeline) -> tuple[_Run, list[StepResult]]:
    (scenario,) = load_scenario_text(f"name: windows\nparties: [alice]\nsteps:\n{steps}")
    run = _Run(scenario, None, AudioRules())  # type: ignore[arg-type]
    run.parties = {"alice": fake_party(timeline)}
    run._new_window({"alice": 0}, 0.0)  # the window opens before the hand-made entries
    results = [StepResult(i, "", "") for i in range(1, len(scenario.steps) + 1)]
    return run, results


async def all_pass_beside(
    run: _Run, results: list[StepResult], meanwhile: Callable[[], Awaitable[None]]
) -> None:
    """Run the steps while ``meanwhile`` adds entries to the timelines; every step passes."""
    helper = asyncio.ensure_future(asyncio.wait_for(meanwhile(), 10.0))
    await run.steps(results)
    await helper
    assert [r.status for r in results] == [Status.PASSED] * len(results), [
        r.message for r in results
    ]


def invite(timeline: Timeline, call_id: str) -> None:
    timeline.add("sip", "INVITE", direction=">>>", call_id=call_id, to_tag="")


async def test_a_second_wait_for_does_not_return_the_event_the_first_matched():
    timeline = Timeline("alice")
    invite(timeline, "c1")
    run, results = runner(
        "  - alice: {wait_for: {sip: INVITE}}\n"
        "  - alice: {wait_for: {sip: INVITE}, timeout: 200ms}\n",
        timeline,
    )
    await run.steps(results)
    assert results[0].status is Status.PASSED and "call_id='c1'" in results[0].evidence["event"]
    assert results[1].status is Status.ERROR
    assert results[1].message.startswith("timed out after 0.2s waiting for alice: sip INVITE")


async def test_each_wait_for_takes_the_next_match():
    timeline = Timeline("alice")
    invite(timeline, "c1")
    invite(timeline, "c2")
    run, results = runner(
        "  - alice: {wait_for: {sip: INVITE}}\n  - alice: {wait_for: {sip: INVITE}}\n",
        timeline,
    )
    await run.steps(results)
    assert [r.status for r in results] == [Status.PASSED, Status.PASSED]
    assert "call_id='c2'" in results[1].evidence["event"]


async def test_the_next_window_starts_where_the_events_were_judged():
    timeline = WatchedTimeline("alice")
    invite(timeline, "c1")
    run, results = runner(
        """\
  - expect:
      events: {in_order: [{alice: {sip: INVITE}}, {alice: {sip: "180"}}]}
      timings: {alice: {setup_time: {below: 5s}}}
  - expect:
      events:
        in_order: [{alice: {sip: BYE}}]
        never: [{alice: {sip: "180"}}]
        within: 300ms
""",
        timeline,
    )

    async def meanwhile() -> None:
        await timeline.waiter("an event").wait()  # the events wait for the 180
        timeline.add("sip", "180 Ringing", direction="<<<", call_id="c1")
        await timeline.waiter("Connected").wait()  # the events were judged; timings wait
        timeline.add("sip", "BYE", direction="<<<", call_id="c0")
        timeline.add("xc", "outgoing/Connected", sipCallId="c1")

    await all_pass_beside(run, results, meanwhile)
    # (the BYE, after the judging, is in the second window; the 180, before it, is not)
    assert results[0].evidence["timings alice"]["setup_time_s"] > 0


async def test_without_events_the_next_window_starts_where_the_expect_began():
    timeline = WatchedTimeline("alice")
    invite(timeline, "c1")
    run, results = runner(
        """\
  - expect: {timings: {alice: {setup_time: {below: 5s}}}}
  - expect: {events: {in_order: [{alice: {sip: BYE}}], within: 300ms}}
""",
        timeline,
    )

    async def meanwhile() -> None:
        await timeline.waiter("Connected").wait()
        timeline.add("sip", "BYE", direction="<<<", call_id="c0")
        timeline.add("xc", "outgoing/Connected", sipCallId="c1")

    await all_pass_beside(run, results, meanwhile)


async def test_every_part_of_an_expect_is_reported_even_when_one_cannot_be_measured():
    run, results = runner(
        """\
  - expect:
      audio: {alice: {hears: music-on-hold}}
      timings: {alice: {setup_time: {below: 1s}}}
""",
        Timeline("alice"),
    )
    await run.steps(results)
    assert results[0].status is Status.FAILED
    assert results[0].message.splitlines() == [
        "alice hears music-on-hold: alice has no call in progress",
        "alice placed no call to time",
    ]


@pytest.mark.parametrize(
    ("raised", "message"),
    [
        # a bug of xctest, tied to the step it happened in
        (RuntimeError("boom"), "internal error: RuntimeError: boom"),
        # the network, not xctest: a plain error
        (
            ConnectionResetError(104, "Connection reset by peer"),
            "ConnectionResetError: [Errno 104] Connection reset by peer",
        ),
    ],
)
async def test_an_exception_inside_a_step_is_an_error_of_that_step(monkeypatch, raised, message):
    async def fail(*args: Any) -> dict[str, object]:
        raise raised

    monkeypatch.setattr("xctest.scenario.runner.perform", fail)
    run, results = runner('  - alice: {dial: "1002"}\n  - alice: hangup\n', Timeline("alice"))
    await run.steps(results)
    assert (results[0].status, results[0].message) == (Status.ERROR, message)
    assert results[1].status is Status.NOT_RUN


def test_a_played_tone_is_one_continuous_sine_whatever_the_chunks():
    import numpy as np

    from xctest.audio.signals import rms_dbfs, sine
    from xctest.scenario.actions import _tone

    read = _tone(1000.0, -20.0)
    chunked = np.concatenate([read(n) for n in (960, 7, 953, 4800, 1)])
    whole = sine(1000.0, chunked.size / 48000, 48000, -20.0)
    assert np.max(np.abs(chunked - whole)) < 1e-4
    assert abs(rms_dbfs(chunked) + 20.0) < 0.05


async def test_a_cancelled_run_marks_the_step_interrupted_and_stays_cancelled():
    timeline = WatchedTimeline("alice")
    run, results = runner(
        "  - alice: {wait_for: {sip: BYE}, timeout: 60s}\n  - alice: hangup\n", timeline
    )
    task = asyncio.ensure_future(run.steps(results))
    await asyncio.wait_for(timeline.waiter("sip BYE").wait(), 10.0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert (results[0].status, results[0].message) == (Status.ERROR, "interrupted")
    assert results[1].status is Status.NOT_RUN


async def test_a_stray_cancellation_inside_a_step_is_an_internal_error(monkeypatch):
    async def cancelled_elsewhere(*args: Any) -> dict[str, object]:
        raise asyncio.CancelledError  # as from a task someone else cancelled

    monkeypatch.setattr("xctest.scenario.runner.perform", cancelled_elsewhere)
    run, results = runner('  - alice: {dial: "1002"}\n', Timeline("alice"))
    await run.steps(results)  # not cancelled itself: it goes on
    assert (results[0].status, results[0].message) == (
        Status.ERROR,
        "internal error: a task was cancelled",
    )
