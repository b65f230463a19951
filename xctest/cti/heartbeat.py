"""The CTI client heartbeat of the recent cti.js (PROTOCOL.md §1.4), sans-IO: time is passed in.

Every ``interval`` seconds: close if ``max_missed`` pings went unanswered, else ping and count
it.  Any received frame resets the count.  Must stay sans-IO: stdlib only.
"""

from __future__ import annotations

import enum


class HeartbeatAction(enum.Enum):
    PING = "ping"  # send {"claz":"ping"}
    CLOSE = "close"  # give up on the socket; the client then publishes LinkStatusUpdate closed


class Heartbeat:
    """Counts unanswered pings; the caller runs the timer and calls ``on_tick`` at each deadline.

    With the defaults and no traffic the socket closes on the 4th tick, 15–20 s after the last
    received frame and after 3 unanswered pings.  (The older cti.js counted first and closed on
    the 3rd tick; that rule is not the one implemented.)
    """

    def __init__(self, interval: float = 5.0, max_missed: int = 3) -> None:
        if interval <= 0 or max_missed < 0:
            raise ValueError(f"bad heartbeat: interval={interval}, max_missed={max_missed}")
        self.interval = interval
        self.max_missed = max_missed
        self.missed = 0
        self._deadline: float | None = None

    @property
    def running(self) -> bool:
        return self._deadline is not None

    def start(self, now: float) -> None:
        """Start the timer, as cti.js does when the socket opens."""
        self.missed = 0
        self._deadline = now + self.interval

    def next_deadline(self) -> float | None:
        """When ``on_tick`` is due next; ``None`` when stopped."""
        return self._deadline

    def on_frame(self) -> None:
        """Any frame was received."""
        self.missed = 0

    def on_tick(self, now: float) -> HeartbeatAction:
        """The timer fired: what to do.  After ``CLOSE`` the heartbeat is stopped."""
        if self._deadline is None:
            raise RuntimeError("Heartbeat.on_tick() called while stopped")
        if self.missed >= self.max_missed:
            self.stop()
            return HeartbeatAction.CLOSE
        self.missed += 1
        self._deadline += self.interval
        if self._deadline <= now:  # the caller was late by whole periods: skip them, no bursts
            self._deadline += (
                now - self._deadline
            ) // self.interval * self.interval + self.interval
        return HeartbeatAction.PING

    def stop(self) -> None:
        """Clear the timer (socket closed)."""
        self._deadline = None
