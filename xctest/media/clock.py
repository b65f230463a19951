"""The media clock: one per event loop, ticking every packetisation interval (20 ms).

Every source track of the process waits on the same tick, so N legs cost one timer callback
per tick, not N.  No threads.
"""

from __future__ import annotations

import asyncio
import math
import weakref

PTIME = 0.020


class MediaClock:
    """Shared tick grid: ``epoch + k * ptime`` in the loop's monotonic time."""

    _per_loop: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, MediaClock] = (
        weakref.WeakKeyDictionary()
    )

    def __init__(self, loop: asyncio.AbstractEventLoop, ptime: float = PTIME) -> None:
        self._loop = loop
        self.ptime = ptime
        self.epoch = loop.time()
        self._waiters: dict[int, asyncio.Future[None]] = {}

    @classmethod
    def current(cls) -> MediaClock:
        """The clock of the running loop (created on first use)."""
        loop = asyncio.get_running_loop()
        clock = cls._per_loop.get(loop)
        if clock is None:
            clock = cls._per_loop[loop] = cls(loop)
        return clock

    def now(self) -> float:
        return self._loop.time()

    def next_tick_time(self) -> float:
        """Time of the first tick strictly after now."""
        k = math.floor((self.now() - self.epoch) / self.ptime) + 1
        return self.epoch + k * self.ptime

    async def wait_until(self, when: float) -> None:
        """Return at the first tick at or after ``when`` (at once if that is past)."""
        if self.now() >= when:
            return
        k = math.ceil((when - self.epoch) / self.ptime - 1e-9)
        fut = self._waiters.get(k)
        if fut is None:
            fut = self._waiters[k] = self._loop.create_future()
            self._loop.call_at(self.epoch + k * self.ptime, self._fire, k)
        await asyncio.shield(fut)

    def _fire(self, k: int) -> None:
        fut = self._waiters.pop(k, None)
        if fut is not None and not fut.done():
            fut.set_result(None)

    def __repr__(self) -> str:
        return f"<MediaClock ptime={self.ptime * 1000:g}ms waiting_ticks={len(self._waiters)}>"
