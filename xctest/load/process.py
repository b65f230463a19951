"""``WorkerProcess``: a ``Worker`` in a child process of its own, driven from this loop.

One per core is how a machine carries a load run: the media of each process is one loop and
one GIL.  Requests and answers are pickled over a pipe that both loops watch with
``add_reader`` (no thread per request); the child may be pinned to a core.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import multiprocessing
import os
import signal
from collections.abc import Sequence
from multiprocessing.connection import Connection
from typing import Any

from xctest.errors import XctestError
from xctest.heap import settled
from xctest.load.worker import CallJob, CallOutcome, PhoneSpec, Worker, WorkerStatus

__all__ = ["WorkerError", "WorkerProcess"]

log = logging.getLogger(__name__)

METHODS = ("add_phones", "place", "outcomes", "status")


class WorkerError(XctestError):
    """A request to a worker process failed there, or the process is gone."""


class WorkerProcess:
    """A ``Worker`` named ``name`` in a spawned process (pinned to ``core`` when given).
    ``start`` waits until it serves; each method sends one request and awaits its answer;
    ``close`` stops its phones and the process."""

    def __init__(self, name: str = "worker", core: int | None = None) -> None:
        self.name = name
        self.core = core
        self._conn: Connection | None = None
        self._proc: multiprocessing.process.BaseProcess | None = None
        self._pending: dict[int, asyncio.Future[Any]] = {}
        self._ids = itertools.count()

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    async def start(self, timeout: float = 60.0) -> None:
        ctx = multiprocessing.get_context("spawn")  # a fresh interpreter: no forked loop
        ours, theirs = ctx.Pipe()
        self._proc = ctx.Process(
            target=_serve, args=(theirs, self.name, self.core), name=self.name, daemon=True
        )
        self._proc.start()
        theirs.close()
        self._conn = ours
        asyncio.get_running_loop().add_reader(ours.fileno(), self._on_answer)
        await asyncio.wait_for(self._request("status"), timeout)

    def _on_answer(self) -> None:
        assert self._conn is not None
        try:
            while self._conn.poll():
                ident, ok, value = self._conn.recv()
                future = self._pending.pop(ident, None)
                if future is None or future.done():
                    continue
                if ok:
                    future.set_result(value)
                else:
                    future.set_exception(WorkerError(f"worker {self.name}: {value}"))
        except (EOFError, OSError):
            self._gone()

    def _gone(self) -> None:
        assert self._conn is not None
        asyncio.get_running_loop().remove_reader(self._conn.fileno())
        code = self._proc.exitcode if self._proc is not None else None
        if self._proc is not None and code is None:
            self._proc.join(1)
            code = self._proc.exitcode
        for future in self._pending.values():
            if not future.done():
                future.set_exception(WorkerError(f"worker {self.name} exited (code {code})"))
        self._pending.clear()

    async def _request(self, method: str, *args: Any) -> Any:
        if self._conn is None or self._conn.closed:
            raise WorkerError(f"worker {self.name} is not running")
        if self._proc is not None and not self._proc.is_alive():
            raise WorkerError(f"worker {self.name} exited (code {self._proc.exitcode})")
        ident = next(self._ids)
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending[ident] = future
        self._conn.send((ident, method, args))
        return await future

    async def add_phones(self, specs: Sequence[PhoneSpec], timeout: float = 20.0) -> int:
        """``Worker.add_phones`` there."""
        result: int = await self._request("add_phones", list(specs), timeout)
        return result

    async def place(self, jobs: Sequence[CallJob]) -> list[CallOutcome]:
        """``Worker.place`` there."""
        result: list[CallOutcome] = await self._request("place", list(jobs))
        return result

    async def outcomes(self, at_least: int = 0, timeout: float = 30.0) -> list[CallOutcome]:
        """``Worker.outcomes`` there."""
        result: list[CallOutcome] = await self._request("outcomes", at_least, timeout)
        return result

    async def status(self) -> WorkerStatus:
        """``Worker.status`` there."""
        result: WorkerStatus = await self._request("status")
        return result

    async def close(self, timeout: float = 20.0) -> None:
        """Stop the worker's phones, then the process (killed if it does not stop)."""
        if self._proc is None or self._conn is None:
            return
        if self._proc.is_alive() and not self._conn.closed:
            try:
                await asyncio.wait_for(self._request("stop"), timeout)
            except (WorkerError, TimeoutError) as exc:
                log.warning("worker %s did not stop cleanly: %s", self.name, exc)
        if not self._conn.closed:
            asyncio.get_running_loop().remove_reader(self._conn.fileno())
            self._conn.close()
        await asyncio.to_thread(self._proc.join, timeout)
        if self._proc.is_alive():
            self._proc.kill()
            await asyncio.to_thread(self._proc.join, 5)


def _serve(conn: Connection, name: str, core: int | None) -> None:
    """The child: one loop, one ``Worker``, requests from ``conn`` until ``stop`` or EOF."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    if core is not None:
        os.sched_setaffinity(0, {core})
    logging.basicConfig(level=logging.WARNING, format=f"%(asctime)s {name} %(name)s: %(message)s")
    asyncio.run(_loop(conn, name))


async def _loop(conn: Connection, name: str) -> None:
    worker = Worker(name)
    loop = asyncio.get_running_loop()
    done = asyncio.Event()
    tasks: set[asyncio.Task[None]] = set()

    async def answer(ident: int, method: str, args: tuple[Any, ...]) -> None:
        try:
            if method == "stop":
                await worker.stop()
                value: Any = None
                done.set()
            elif method in METHODS:
                value = getattr(worker, method)(*args)
                if asyncio.iscoroutine(value):
                    value = await value
            else:
                raise WorkerError(f"no method {method!r}")
            conn.send((ident, True, value))
        except Exception as exc:  # the request's failure, told to the parent; serving goes on
            conn.send((ident, False, f"{method}: {type(exc).__name__}: {exc}"))

    def on_request() -> None:
        try:
            while conn.poll():
                ident, method, args = conn.recv()
                task = loop.create_task(answer(ident, method, args))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
        except (EOFError, OSError):  # the parent is gone
            done.set()

    loop.add_reader(conn.fileno(), on_request)
    with settled():
        await done.wait()
    loop.remove_reader(conn.fileno())
    await worker.stop()
