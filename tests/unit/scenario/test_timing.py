"""``expect: {timings: ...}`` on hand-made timelines: which call is timed (initial INVITEs
only), and an event not seen yet is waited for up to its bound."""

from __future__ import annotations

import asyncio

import pytest

from xctest.scenario.checks import CheckFailed, check_timing
from xctest.scenario.expect import TimingCheck
from xctest.timeline import Timeline


class Clock:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


def setup_time(below: str) -> TimingCheck:
    return TimingCheck.model_validate({"party": "alice", "setup_time": {"below": below}})


def test_a_re_invite_in_the_window_does_not_stand_for_a_new_call():
    clock = Clock()
    timeline = Timeline("alice", clock)
    timeline.add("sip", "INVITE", direction=">>>", call_id="old", to_tag="")
    clock.t = 101.0
    timeline.add("xc", "outgoing/Connected", sipCallId="old")
    since = len(timeline)
    clock.t = 110.0
    timeline.add("sip", "INVITE", direction=">>>", call_id="new", to_tag="")
    clock.t = 110.25
    timeline.add("xc", "outgoing/Connected", sipCallId="new")
    clock.t = 111.0
    timeline.add("sip", "INVITE", direction=">>>", call_id="old", to_tag="b7")  # hold
    evidence = asyncio.run(check_timing(setup_time("1s"), timeline, since))
    assert evidence == {"call": "new", "setup_time_s": 0.25}


async def test_the_event_is_waited_for_until_the_bound_has_passed():
    timeline = Timeline("alice")
    timeline.add("sip", "INVITE", direction=">>>", call_id="c1", to_tag="")
    check = asyncio.ensure_future(check_timing(setup_time("5s"), timeline, 0))
    # runs after the check's first step (callbacks run in order): it found no Connected yet
    asyncio.get_running_loop().call_soon(
        lambda: timeline.add("xc", "outgoing/Connected", sipCallId="c1")
    )
    evidence = await asyncio.wait_for(check, 5.0)
    assert evidence["call"] == "c1" and 0 <= evidence["setup_time_s"] < 5.0


async def test_an_event_that_never_comes_is_named_with_its_call_and_bound():
    timeline = Timeline("alice")
    timeline.add("sip", "INVITE", direction=">>>", call_id="c1", to_tag="")
    with pytest.raises(CheckFailed) as failed:
        await check_timing(setup_time("100ms"), timeline, 0)
    assert str(failed.value) == (
        "alice: setup_time: no Connected of call c1 within 100 ms of its INVITE"
    )
