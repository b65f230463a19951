"""An ordered, timestamped log of what one party saw, with awaitable matching.

Tests and scenarios wait on it ("until an entry like this appears, at most T seconds") instead
of sleeping.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from typing import Any

from xctest.errors import StepTimeout
from xctest.results import TimelineEvent

Predicate = Callable[[TimelineEvent], bool]


class Timeline:
    """Append-only list of ``TimelineEvent`` with ``wait_for``."""

    def __init__(self, party: str, clock: Callable[[], float] | None = None) -> None:
        self.party = party
        self.entries: list[TimelineEvent] = []
        self._clock = clock
        self._waiters: list[tuple[Predicate, int, asyncio.Future[TimelineEvent]]] = []

    def now(self) -> float:
        return self._clock() if self._clock else asyncio.get_running_loop().time()

    def add(self, kind: str, name: str, /, **fields: Any) -> TimelineEvent:
        entry = TimelineEvent(self.now(), self.party, kind, name, fields)
        self.entries.append(entry)
        index = len(self.entries) - 1
        still = []
        for pred, since, fut in self._waiters:
            if fut.done():
                continue
            if index >= since and pred(entry):
                fut.set_result(entry)
            else:
                still.append((pred, since, fut))
        self._waiters = still
        return entry

    def find(self, pred: Predicate, since: int = 0) -> TimelineEvent | None:
        return next((e for e in self.entries[since:] if pred(e)), None)

    async def wait_for(
        self, pred: Predicate, timeout: float, *, since: int = 0, what: str = "an event"
    ) -> TimelineEvent:
        """The first entry at index >= ``since`` matching ``pred``; ``StepTimeout`` otherwise."""
        found = self.find(pred, since)
        if found is not None:
            return found
        fut: asyncio.Future[TimelineEvent] = asyncio.get_running_loop().create_future()
        self._waiters.append((pred, since, fut))
        try:
            return await asyncio.wait_for(fut, timeout)
        except TimeoutError:
            seen = [str(e) for e in self.entries[since:]]
            raise StepTimeout(f"{self.party}: {what}", seen, timeout) from None

    def index_of(self, entry: TimelineEvent) -> int:
        """Where ``entry`` (this very object) is in the timeline; ``ValueError`` if absent."""
        for i in range(len(self.entries) - 1, -1, -1):
            if self.entries[i] is entry:
                return i
        raise ValueError(f"{entry} is not in the timeline of {self.party}")

    def of_kind(self, *kinds: str) -> list[TimelineEvent]:
        return [e for e in self.entries if e.kind in kinds]

    def __iter__(self) -> Iterator[TimelineEvent]:
        return iter(self.entries)

    def __len__(self) -> int:
        return len(self.entries)

    def __repr__(self) -> str:
        return f"<Timeline {self.party} entries={len(self.entries)}>"
