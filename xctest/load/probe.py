"""How late the event loop runs: the earliest sign that a process carries more than it can."""

from __future__ import annotations

import asyncio
import contextlib

__all__ = ["LagProbe"]

PERIOD = 0.010


class LagProbe:
    """A 10 ms sleep, over and over, recording how late the loop wakes it."""

    def __init__(self) -> None:
        self.lags: list[float] = []
        self._task: asyncio.Task[None] | None = None

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            t = loop.time()
            await asyncio.sleep(PERIOD)  # the probe itself: how late this wakes is the lag
            self.lags.append(loop.time() - t - PERIOD)

    def start(self) -> None:
        self.lags.clear()
        self._task = asyncio.get_running_loop().create_task(self._run())

    def take_p99(self) -> float:
        """The p99 lag (s) since the last take (or the start), then forgotten."""
        lags, self.lags = self.lags, []
        return p99(lags)

    async def stop(self) -> float:
        """Stop; the p99 lag (s) since the last take."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        return self.take_p99()


def p99(values: list[float]) -> float:
    ordered = sorted(values) or [0.0]
    return ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]
