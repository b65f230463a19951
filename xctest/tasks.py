"""Background tasks owned by one asyncio shell (a phone, the simulator's PBX).

Tasks are kept referenced until done; an ``XctestError`` they raise is logged as a warning
(a verdict about the peer), anything else as an error with its traceback (a bug).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any

from xctest.errors import XctestError


class Background:
    """A set of fire-and-forget tasks that ``aclose()`` cancels and awaits."""

    def __init__(self, owner: str, logger: logging.Logger) -> None:
        self.owner = owner
        self._log = logger
        self._tasks: set[asyncio.Task[Any]] = set()

    def spawn(self, coro: Coroutine[Any, Any, Any], what: str = "") -> asyncio.Task[Any]:
        task = asyncio.get_running_loop().create_task(coro, name=what or None)
        self._tasks.add(task)
        task.add_done_callback(self._done)
        return task

    def _done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if task.cancelled() or task.exception() is None:
            return
        exc = task.exception()
        if isinstance(exc, XctestError):
            self._log.warning("%s: %s: %s", self.owner, task.get_name(), exc)
        else:
            self._log.error("%s: %s failed", self.owner, task.get_name(), exc_info=exc)

    async def aclose(self) -> None:
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)

    def __len__(self) -> int:
        return len(self._tasks)

    def __repr__(self) -> str:
        return f"<Background {self.owner} tasks={len(self._tasks)}>"
