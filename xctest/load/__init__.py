"""Load: workers that host many phones on one loop, one per core (a process each)."""

from __future__ import annotations

from xctest.load.probe import LagProbe
from xctest.load.process import WorkerError, WorkerProcess
from xctest.load.worker import CallJob, CallOutcome, PhoneSpec, Worker, WorkerStatus

__all__ = [
    "CallJob",
    "CallOutcome",
    "LagProbe",
    "PhoneSpec",
    "Worker",
    "WorkerError",
    "WorkerProcess",
    "WorkerStatus",
]
