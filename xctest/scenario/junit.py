"""JUnit XML from JSON-lines report records, for CI servers that read it (Jenkins, GitLab,
GitHub actions): one ``testcase`` per scenario, named like pytest names scenario items.

``failed`` scenarios are ``<failure>``, ``error`` ones ``<error>``, "not run" ones
``<skipped>``; the text is the failure as ``xctest run`` prints it, and a scenario that did
not pass carries its parties' timelines in ``<system-out>``.  Pure: records in, text out.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

__all__ = ["render_junit"]

Record = Mapping[str, Any]


def render_junit(records: Sequence[Record], suite: str = "xctest") -> str:
    """The ``<testsuites>`` document of ``records``."""
    statuses = Counter(str(r.get("status", "not run")) for r in records)
    seconds = sum(float(r.get("seconds", 0.0)) for r in records)
    root = ET.Element("testsuites")
    tests = ET.SubElement(
        root,
        "testsuite",
        name=suite,
        tests=str(len(records)),
        failures=str(statuses["failed"]),
        errors=str(statuses["error"]),
        skipped=str(statuses["not run"]),
        time=f"{seconds:.3f}",
    )
    for record in records:
        tests.append(_case(record))
    ET.indent(root)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, "unicode") + "\n"


def _case(r: Record) -> ET.Element:
    file = str(r.get("file", ""))
    case = ET.Element(
        "testcase",
        classname=Path(file).name.removesuffix(".yaml").replace(".", "_") if file else "xctest",
        name=str(r.get("name", "")),
        file=file,
        time=f"{float(r.get('seconds', 0.0)):.3f}",
    )
    status = str(r.get("status", "not run"))
    if status == "passed":
        return case
    step = next((s for s in r.get("steps", []) if s.get("status") in ("failed", "error")), None)
    message = str(step.get("message", "") if step else r.get("message", "")) or status
    kind = {"failed": "failure", "error": "error"}.get(status, "skipped")
    verdict = ET.SubElement(case, kind, message=message.splitlines()[0])
    if step is not None:
        verdict.text = f"step {step.get('index')} at {step.get('where')}:\n{step.get('text')}\n"
        verdict.text += message
    else:
        verdict.text = message
    logs = r.get("logs") or {}
    if logs:
        out = ET.SubElement(case, "system-out")
        out.text = "\n".join(
            f"--- {party}\n" + "\n".join(map(str, lines)) for party, lines in logs.items()
        )
    return case
