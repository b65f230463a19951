"""The heartbeat rule of the recent cti.js, stepped by hand (PROTOCOL.md §1.4)."""

from __future__ import annotations

import pytest

from xctest.cti.heartbeat import Heartbeat, HeartbeatAction

PING, CLOSE = HeartbeatAction.PING, HeartbeatAction.CLOSE


def run(hb: Heartbeat, ticks: int) -> list[HeartbeatAction]:
    """Call ``on_tick`` exactly at each deadline."""
    actions = []
    for _ in range(ticks):
        deadline = hb.next_deadline()
        assert deadline is not None
        actions.append(hb.on_tick(deadline))
    return actions


def test_silence_closes_on_the_fourth_tick() -> None:
    hb = Heartbeat()
    hb.start(100.0)
    assert hb.next_deadline() == 105.0
    assert run(hb, 3) == [PING, PING, PING]
    assert (hb.missed, hb.next_deadline()) == (3, 120.0)
    assert hb.on_tick(120.0) is CLOSE  # 20 s after the socket opened, 3 pings unanswered
    assert hb.next_deadline() is None and not hb.running


@pytest.mark.parametrize("last_frame", [100.0, 100.1, 104.9])
def test_close_comes_15_to_20_s_after_the_last_frame(last_frame: float) -> None:
    hb = Heartbeat()
    hb.start(100.0)
    hb.on_frame()  # received at last_frame, before the first tick at 105
    now = 105.0
    while hb.on_tick(now) is PING:
        now += 5.0
    assert 15.0 <= now - last_frame <= 20.0


def test_older_rule_is_not_implemented() -> None:
    """The older cti.js closed on the 3rd tick; here the 3rd tick still pings."""
    hb = Heartbeat()
    hb.start(0.0)
    assert run(hb, 3)[2] is PING


def test_a_frame_between_ticks_keeps_it_alive_forever() -> None:
    hb = Heartbeat()
    hb.start(0.0)
    for _ in range(1000):
        assert run(hb, 1) == [PING]
        hb.on_frame()
    assert hb.missed == 0 and hb.running


def test_a_frame_resets_the_count() -> None:
    hb = Heartbeat()
    hb.start(0.0)
    assert run(hb, 3) == [PING, PING, PING]
    hb.on_frame()
    assert run(hb, 4) == [PING, PING, PING, CLOSE]


def test_deadline_advances_by_interval_and_skips_missed_periods() -> None:
    hb = Heartbeat(interval=2.0, max_missed=1)
    hb.start(10.0)
    assert hb.on_tick(12.0) is PING and hb.next_deadline() == 14.0
    hb.on_frame()
    assert hb.on_tick(19.5) is PING  # the caller was late: one ping, no burst
    assert hb.next_deadline() == 20.0
    assert hb.on_tick(20.0) is CLOSE


def test_max_missed_zero_closes_at_the_first_silent_tick() -> None:
    hb = Heartbeat(interval=1.0, max_missed=0)
    hb.start(0.0)
    assert hb.on_tick(1.0) is CLOSE


def test_stop_and_restart() -> None:
    hb = Heartbeat()
    hb.start(0.0)
    run(hb, 2)
    hb.stop()
    assert hb.next_deadline() is None
    with pytest.raises(RuntimeError):
        hb.on_tick(10.0)
    hb.start(50.0)
    assert (hb.missed, hb.next_deadline()) == (0, 55.0)


@pytest.mark.parametrize(("interval", "max_missed"), [(0.0, 3), (-1.0, 3), (5.0, -1)])
def test_bad_parameters(interval: float, max_missed: int) -> None:
    with pytest.raises(ValueError):
        Heartbeat(interval, max_missed)
