"""Clock protocol: the one place asyncio shells read time.  Leaf module.

Cores never read a clock; they take ``now`` as an argument.  Shells get their time from a
``Clock`` so that tests and benchmarks can drive or observe it.
"""

from __future__ import annotations

import asyncio
from typing import Protocol


class Clock(Protocol):
    """Monotonic seconds plus an awaitable sleep on the same time base."""

    def now(self) -> float: ...

    async def sleep(self, seconds: float) -> None: ...


class LoopClock:
    """The running event loop's monotonic clock."""

    def now(self) -> float:
        return asyncio.get_running_loop().time()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)

    def __repr__(self) -> str:
        return "<LoopClock>"
