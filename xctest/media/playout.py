"""Play-out of one received stream: frames put in order by RTP timestamp, each due at a fixed
delay after the time it should have arrived, and every frame that should have arrived
accounted for: played, lost (never came) or late (came after its deadline).

Theory of operation.  The first packet anchors the schedule: frame ``k`` (its timestamp minus
the anchor's, in frames) is due at ``anchor_time + k * ptime + delay``.  ``due(now)`` hands
out, in order, every frame whose deadline has passed: its payload, or ``None`` for a frame
that did not come in time (concealed).  A packet for a frame already handed out is late.
A packet more than a second off its slot (a sender that paused and resumed, or restarted its
timestamps) anchors the schedule again, as does the first packet after the stream was not
``expected`` (a hold ended) and the last of a second of packets that were all late (the
path's delay grew for good: each of them still counts as late).  The arrival of on-time
frames is watched: when, over a few seconds, even the earliest of them came well before or
after its slot, the anchor moves to it (the two clocks drift apart, or the path's delay
changed).  While the stream is not ``expected`` (the
far end was told not to send), missing frames are not counted.

Pure: times are arguments; no asyncio, no codecs.
"""

from __future__ import annotations

import math

__all__ = ["Playout"]

TS_MOD = 1 << 32
REANCHOR_SECONDS = 1.0  # a packet farther than this from its slot starts a new schedule
DRIFT_WINDOW = 150  # frames over which the earliest arrival is watched (3 s)
DRIFT_TOLERANCE = 0.010  # seconds the earliest arrival may sit off its slot before re-centring
LATE_RUN = 50  # this many late packets in a row (1 s): the path's delay grew, start again


class Playout:
    """``push`` packets as they arrive, take ``due`` frames on each media tick."""

    def __init__(self, samples_per_frame: int, ptime: float = 0.020, delay: float = 0.060):
        self.samples_per_frame = samples_per_frame
        self.ptime = ptime
        self.delay = delay
        self._expected = True
        self.late = 0
        self.concealed = 0
        self.played = 0
        self._anchor_ts: int | None = None
        self._anchor_time = 0.0
        self._next = 0  # index of the next frame to hand out
        self._pending: dict[int, bytes] = {}
        self._earliest = float("inf")  # smallest arrival offset in the current drift window
        self._watched = 0
        self._late_run = 0  # late packets in a row

    @property
    def expected(self) -> bool:
        """Whether the far end is supposed to send: missing frames count only then."""
        return self._expected

    @expected.setter
    def expected(self, value: bool) -> None:
        if value and not self._expected:
            self._anchor_ts = None  # the next packet starts a new schedule
        self._expected = value

    def _index(self, timestamp: int) -> int:
        assert self._anchor_ts is not None
        offset = (timestamp - self._anchor_ts) % TS_MOD
        if offset >= TS_MOD // 2:
            offset -= TS_MOD
        return offset // self.samples_per_frame

    def _anchor(self, timestamp: int, arrival: float) -> None:
        self._anchor_ts = timestamp
        self._anchor_time = arrival
        self._next = 0
        self._pending.clear()
        self._earliest, self._watched = float("inf"), 0
        self._late_run = 0

    def push(self, timestamp: int, payload: bytes, arrival: float) -> None:
        """One received frame (its RTP timestamp, payload, arrival time in seconds)."""
        if self._anchor_ts is None:
            self._anchor(timestamp, arrival)
        k = self._index(timestamp)
        slot = self._anchor_time + k * self.ptime
        if abs(arrival - slot) > REANCHOR_SECONDS:
            self._anchor(timestamp, arrival)
            k, slot = 0, arrival
        if k < self._next:
            self.late += 1
            self._late_run += 1
            if self._late_run >= LATE_RUN:  # not jitter: the path got slower for good
                self._anchor(timestamp, arrival)
                self._pending[0] = payload
            return
        self._late_run = 0
        if k in self._pending:
            return  # a duplicate
        self._pending[k] = payload
        self._watch(arrival - slot)

    def _watch(self, offset: float) -> None:
        """Track the earliest arrival relative to its slot; re-centre on drift."""
        self._earliest = min(self._earliest, offset)
        self._watched += 1
        if self._watched < DRIFT_WINDOW:
            return
        if abs(self._earliest) > DRIFT_TOLERANCE:
            self._anchor_time += self._earliest
        self._earliest, self._watched = float("inf"), 0

    def due(self, now: float) -> list[tuple[int, bytes | None]]:
        """Frames whose deadline is at or before ``now``, in order: (index, payload), or
        (index, None) for one that did not come in time while ``expected``; while not, the
        slots with nothing in them come as empty payloads (silence, not a loss)."""
        if self._anchor_ts is None:
            if self._expected:
                return []
            self._anchor(0, now - self.delay)  # nothing came yet, nothing will: silent slots
        # a deadline at exactly ``now`` is due, whatever the float rounding
        last = math.floor((now - self._anchor_time - self.delay) / self.ptime + 1e-6)
        if not self._expected and not self._pending:  # silence, as nothing is sent to us
            quiet: list[tuple[int, bytes | None]] = [(k, b"") for k in range(self._next, last + 1)]
            self._next = max(self._next, last + 1)
            return quiet
        out: list[tuple[int, bytes | None]] = []
        for k in range(self._next, last + 1):
            payload = self._pending.pop(k, None)
            if payload is not None:
                self.played += 1
                out.append((k, payload))
            elif self._expected:
                self.concealed += 1
                out.append((k, None))
        self._next = max(self._next, last + 1)
        return out

    def slot_time(self, index: int) -> float:
        """When frame ``index`` should have arrived (loop time)."""
        return self._anchor_time + index * self.ptime

    def __repr__(self) -> str:
        return (
            f"<Playout next={self._next} pending={len(self._pending)} played={self.played} "
            f"late={self.late} concealed={self.concealed}>"
        )
