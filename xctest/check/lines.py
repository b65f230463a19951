"""What ``xctest check`` says: one line per step with its outcome, what it saw and, when it
failed, what to change; sections per account and for the test call; the values met on the
points the documented protocol leaves open.  Pure data and text.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

__all__ = ["CheckLine", "CheckReport", "Outcome", "Section"]


class Outcome(enum.StrEnum):
    OK = "ok"
    WARN = "warn"  # works, but something is worth changing
    FAIL = "FAIL"
    SKIP = "skip"  # not reached: an earlier step failed


@dataclass(frozen=True)
class CheckLine:
    """One step: ``detail`` is what was seen, ``fix`` what to change when it is not ok."""

    step: str
    outcome: Outcome
    detail: str
    fix: str = ""


@dataclass
class Section:
    """The steps of one account, or of the test call."""

    title: str
    lines: list[CheckLine] = field(default_factory=list)

    def add(self, step: str, outcome: Outcome, detail: str, fix: str = "") -> bool:
        """Add a line; True when it did not fail (the next step may go on)."""
        self.lines.append(CheckLine(step, outcome, detail, fix))
        return outcome is not Outcome.FAIL

    def skip(self, *steps: str) -> None:
        for step in steps:
            self.add(step, Outcome.SKIP, "not reached")

    @property
    def passed(self) -> bool:
        return all(line.outcome not in (Outcome.FAIL, Outcome.SKIP) for line in self.lines)


@dataclass
class CheckReport:
    """Everything ``xctest check`` found; it passed when no line failed or was skipped."""

    target: str
    sections: list[Section] = field(default_factory=list)
    open_points: dict[str, list[str]] = field(default_factory=dict)

    def note(self, point: str, value: str) -> None:
        """A value met for an open protocol point (the same value is kept once)."""
        values = self.open_points.setdefault(point, [])
        if value not in values:
            values.append(value)

    @property
    def passed(self) -> bool:
        return bool(self.sections) and all(s.passed for s in self.sections)

    def counts(self) -> dict[Outcome, int]:
        found = {outcome: 0 for outcome in Outcome}
        for section in self.sections:
            for line in section.lines:
                found[line.outcome] += 1
        return found

    def render(self) -> str:
        """The text ``xctest check`` prints."""
        out = [f"xctest check: {self.target}"]
        width = max((len(ln.step) for s in self.sections for ln in s.lines), default=8)
        for section in self.sections:
            out += ["", section.title]
            for line in section.lines:
                out.append(f"  {line.outcome.value:<4}  {line.step:<{width}}  {line.detail}")
                if line.fix and line.outcome in (Outcome.FAIL, Outcome.WARN):
                    out.append(f"  {'':<4}  {'':<{width}}  -> {line.fix}")
        if self.open_points:
            out += [
                "",
                "values met where the protocol is not documented (include them in a report):",
            ]
            for point, values in sorted(self.open_points.items(), key=_point_order):
                out.append(f"  {point}: {'; '.join(values)}")
        counts = self.counts()
        summary = ", ".join(f"{n} {o.value}" for o, n in counts.items() if n)
        out += ["", f"{'PASSED' if self.passed else 'FAILED'}: {summary}"]
        return "\n".join(out)


def _point_order(item: tuple[str, list[str]]) -> tuple[int, str]:
    """Q1 … Q23 in number order, then the rest."""
    point = item[0]
    digits = "".join(c for c in point[1:].split()[0].split("/")[0] if c.isdigit())
    return (int(digits) if point.startswith("Q") and digits else 1000, point)
