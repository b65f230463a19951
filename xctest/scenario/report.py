"""Results of scenario runs: per-step verdicts with their evidence, JSON lines under
``reports/`` (one line per scenario, written as soon as it ends) with WAV files of what
parties heard when an audio check failed, the HTML page made from them when the run ends,
and the summary table.

Pure data and file writing; no asyncio, no phones.
"""

from __future__ import annotations

import datetime as dt
import enum
import io
import json
import wave
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import IO, Any

from xctest.errors import ReportError
from xctest.scenario.html import render_html
from xctest.scenario.junit import render_junit

__all__ = [
    "ReportWriter",
    "read_report",
    "write_html",
    "write_junit",
    "ScenarioResult",
    "Status",
    "StepResult",
    "summary_table",
    "wav_bytes",
]


class Status(enum.StrEnum):
    PASSED = "passed"
    FAILED = "failed"  # an expectation did not hold: a verdict about the system under test
    ERROR = "error"  # the scenario could not be carried out (login refused, a step timed out)
    NOT_RUN = "not run"  # after a failure


@dataclass
class StepResult:
    """One step: ``text`` is the YAML as written, ``where`` its file:line:column."""

    index: int
    text: str
    where: str
    status: Status = Status.NOT_RUN
    seconds: float = 0.0
    message: str = ""
    evidence: dict[str, Any] = field(default_factory=dict)


@dataclass
class ScenarioResult:
    """One scenario (one matrix row): its verdict, its steps and what failed."""

    name: str
    file: str
    target: str
    params: dict[str, Any] = field(default_factory=dict)
    status: Status = Status.NOT_RUN
    started: str = ""
    seconds: float = 0.0
    message: str = ""  # what went wrong outside any step (log-in, set-up)
    steps: list[StepResult] = field(default_factory=list)
    logs: dict[str, list[str]] = field(default_factory=dict)  # each party's timeline, if not passed
    # what parties received in failed audio/MOS checks ("step3-alice" -> 16-bit PCM, 48 kHz);
    # written as WAV files next to the report, whose names go in ``audio_files``
    recordings: dict[str, bytes] = field(default_factory=dict, repr=False)
    audio_files: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return self.status is Status.PASSED

    @property
    def failed_step(self) -> StepResult | None:
        return next((s for s in self.steps if s.status in (Status.FAILED, Status.ERROR)), None)

    def explain(self) -> str:
        """The failure for a person: the step's YAML, then what was expected and seen."""
        step = self.failed_step
        if step is None:
            return self.message or f"{self.name}: {self.status}"
        head = f"step {step.index} ({step.where}) {step.status}:"
        body = "\n".join("    " + line for line in step.text.splitlines())
        return f"{head}\n{body}\n{step.message}"

    def to_json(self) -> dict[str, Any]:
        out = asdict(replace(self, recordings={}))
        del out["recordings"]
        out["status"] = str(self.status)
        for step in out["steps"]:
            step["status"] = str(step["status"])
        return out


def wav_bytes(pcm: bytes, rate: int = 48000) -> bytes:
    """A WAV file of 16-bit mono PCM."""
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(pcm)
    return buffer.getvalue()


def now_iso() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")


class ReportWriter:
    """Appends one JSON line per scenario to ``<folder>/xctest-<UTC time>[-<tag>].jsonl``,
    flushed at once, so results gathered before a crash are kept; ``close`` makes the HTML
    page of them beside it (``html_path``)."""

    def __init__(self, folder: str | Path = "reports", tag: str = "") -> None:
        self.folder = Path(folder)
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S.%fZ")
        self.path = self.folder / f"xctest-{stamp}{'-' + tag if tag else ''}.jsonl"
        self._file: IO[str] | None = None
        self._count = 0

    def _wav(self, name: str, pcm: bytes) -> Path:
        """``pcm`` (16-bit mono 48 kHz) as ``<report name>/<name>.wav``."""
        folder = self.folder / self.path.stem
        folder.mkdir(exist_ok=True)
        path = folder / f"{name}.wav"
        path.write_bytes(wav_bytes(pcm))
        return path

    def write(self, result: ScenarioResult) -> None:
        if self._file is None:
            self.folder.mkdir(parents=True, exist_ok=True)
            self._file = self.path.open("a", encoding="utf-8")
        self._count += 1
        for key, pcm in result.recordings.items():
            result.audio_files.append(str(self._wav(f"{self._count:03d}-{key}", pcm)))
        self._file.write(json.dumps(result.to_json(), default=str, sort_keys=True) + "\n")
        self._file.flush()

    @property
    def html_path(self) -> Path:
        return self.path.with_suffix(".html")

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
            write_html([self.path], self.html_path)


def read_report(path: str | Path) -> list[dict[str, Any]]:
    """The scenario records of a JSON-lines report; ``ReportError`` names the file and line
    of anything else."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ReportError(f"cannot read report {path}: {exc}") from None
    records = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ReportError(f"{path}:{number}: not a JSON record ({exc.msg})") from None
        if not isinstance(record, dict) or "name" not in record or "status" not in record:
            raise ReportError(f"{path}:{number}: not a scenario record (no name and status)")
        records.append(record)
    return records


def write_html(reports: Sequence[str | Path], out: str | Path) -> Path:
    """One HTML page of every scenario of ``reports`` (JSON-lines files, e.g. one per
    pytest-xdist worker), in their order; returns where it was written."""
    out = Path(out)
    records = [record for path in reports for record in read_report(path)]
    return _write(out, render_html(records, title=f"xctest report {out.stem}"))


def write_junit(reports: Sequence[str | Path], out: str | Path) -> Path:
    """JUnit XML of every scenario of ``reports``, for CI servers; returns where."""
    records = [record for path in reports for record in read_report(path)]
    return _write(Path(out), render_junit(records))


def _write(out: Path, text: str) -> Path:
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise ReportError(f"cannot write {out}: {exc.strerror or exc}") from None
    return out


def summary_table(results: Sequence[ScenarioResult]) -> str:
    """A fixed-width table: status, seconds, scenario, and the failing step's place."""
    rows = [("result", "time", "scenario", "where")]
    for r in results:
        step = r.failed_step
        where = f"step {step.index} at {step.where}" if step else ""
        rows.append((str(r.status).upper(), f"{r.seconds:.1f}s", r.name, where))
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    lines = [
        f"{row[0]:<{widths[0]}}  {row[1]:>{widths[1]}}  {row[2]:<{widths[2]}}  {row[3]}".rstrip()
        for row in rows
    ]
    counts = _counts(results)
    lines.append(", ".join(f"{n} {status}" for status, n in counts.items() if n) or "0 scenarios")
    return "\n".join(lines)


def _counts(results: Iterable[ScenarioResult]) -> dict[str, int]:
    counts = {str(s): 0 for s in Status}
    for r in results:
        counts[str(r.status)] += 1
    return counts
