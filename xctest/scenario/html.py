"""One self-contained HTML page from JSON-lines reports: a summary table, then every scenario
with its steps (the YAML as written, the verdict, the message, the evidence), each party's
timeline when it did not pass, and the WAV evidence embedded as players.

Pure: records in, text out (the WAV files a record names are read to embed them).  No
script, no external resource: the page opens anywhere, from a CI artifact or a mail.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from collections import Counter
from collections.abc import Mapping, Sequence
from html import escape
from pathlib import Path
from typing import Any

__all__ = ["render_html"]

Record = Mapping[str, Any]

_STATUSES = ("passed", "failed", "error", "not run")

_CSS = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 1.5em auto; max-width: 72em;
       padding: 0 1em; color: #1d1d1f; }
h1 { font-size: 1.5em; margin-bottom: .2em; }
.meta, .where { color: #666; }
table { border-collapse: collapse; width: 100%; margin: 1em 0; }
th, td { text-align: left; padding: .3em .6em; border-bottom: 1px solid #ddd;
         vertical-align: top; }
.badge { display: inline-block; min-width: 4.5em; text-align: center; border-radius: .3em;
         padding: 0 .4em; font-weight: 600; color: #fff; }
.passed { background: #2e7d32; } .failed { background: #c62828; }
.error { background: #ef6c00; } .not-run { background: #9e9e9e; }
section.scenario { border: 1px solid #ddd; border-radius: .4em; margin: 1em 0;
                   padding: .2em 1em .8em; }
section.scenario > details > summary { font-size: 1.15em; cursor: pointer; padding: .4em 0; }
ol.steps { padding-left: 1.5em; }
ol.steps > li { margin: .6em 0; }
pre { background: #f6f8fa; padding: .5em .7em; overflow-x: auto; margin: .3em 0;
      white-space: pre-wrap; }
pre.message { background: #fff3f3; border-left: 3px solid #c62828; }
audio { display: block; margin: .3em 0; }
"""


def render_html(records: Sequence[Record], title: str = "xctest report") -> str:
    """The page for ``records`` (as ``read_report`` returns them), in their order."""
    counts = Counter(str(r.get("status", "not run")) for r in records)
    summary = ", ".join(f"{counts[s]} {s}" for s in _STATUSES if counts[s]) or "0 scenarios"
    targets = sorted({str(r.get("target", "")) for r in records if r.get("target")})
    generated = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{escape(title)}: {escape(summary)}</title>",
        f"<style>{_CSS}</style></head><body>",
        f"<h1>{escape(title)}</h1>",
        f'<p class="meta" id="summary">{escape(summary)} · against {escape(", ".join(targets))}'
        f" · generated {escape(generated)}</p>",
        _summary_table(records),
        *(_scenario(i, r) for i, r in enumerate(records, 1)),
        "</body></html>",
    ]
    return "\n".join(parts) + "\n"


def _badge(status: str) -> str:
    return f'<span class="badge {status.replace(" ", "-")}">{escape(status)}</span>'


def _failed_step(record: Record) -> Record | None:
    return next(
        (s for s in record.get("steps", []) if s.get("status") in ("failed", "error")), None
    )


def _params(record: Record) -> str:
    params = record.get("params") or {}
    return ", ".join(f"{k}={v}" for k, v in params.items())


def _summary_table(records: Sequence[Record]) -> str:
    rows = ["<table><tr><th>result</th><th>scenario</th><th>time</th><th>where</th></tr>"]
    for i, r in enumerate(records, 1):
        step = _failed_step(r)
        where = f"step {step.get('index')} at {step.get('where')}" if step else ""
        params = f" [{_params(r)}]" if r.get("params") else ""
        rows.append(
            f"<tr><td>{_badge(str(r.get('status', 'not run')))}</td>"
            f'<td><a href="#s{i}">{escape(str(r.get("name", "")))}</a>{escape(params)}</td>'
            f"<td>{float(r.get('seconds', 0.0)):.1f} s</td>"
            f'<td class="where">{escape(where)}</td></tr>'
        )
    rows.append("</table>")
    return "\n".join(rows)


def _scenario(i: int, r: Record) -> str:
    status = str(r.get("status", "not run"))
    opened = "" if status == "passed" else " open"
    meta = [
        f"file {r.get('file', '')}",
        f"target {r.get('target', '')}",
        f"started {r.get('started', '')}",
        f"{float(r.get('seconds', 0.0)):.1f} s",
    ]
    if r.get("params"):
        meta.append(f"params {_params(r)}")
    out = [
        f'<section class="scenario" id="s{i}"><details{opened}>',
        f"<summary>{_badge(status)} {escape(str(r.get('name', '')))}</summary>",
        f'<p class="meta">{escape(" · ".join(meta))}</p>',
    ]
    if r.get("message"):
        out.append(f'<pre class="message">{escape(str(r["message"]))}</pre>')
    out.append('<ol class="steps">')
    out += [_step(s) for s in r.get("steps", [])]
    out.append("</ol>")
    for path in r.get("audio_files", []):
        out.append(_audio(str(path)))
    for party, lines in (r.get("logs") or {}).items():
        out.append(
            f"<details><summary>timeline of {escape(str(party))} ({len(lines)} entries)"
            f"</summary><pre>{escape(chr(10).join(map(str, lines)))}</pre></details>"
        )
    out.append("</details></section>")
    return "\n".join(out)


def _step(s: Record) -> str:
    status = str(s.get("status", "not run"))
    out = [
        f'<li>{_badge(status)} <span class="where">{escape(str(s.get("where", "")))}'
        f" · {float(s.get('seconds', 0.0)):.2f} s</span>",
        f"<pre>{escape(str(s.get('text', '')))}</pre>",
    ]
    if s.get("message"):
        out.append(f'<pre class="message">{escape(str(s["message"]))}</pre>')
    if s.get("evidence"):
        evidence = json.dumps(s["evidence"], indent=2, sort_keys=True, default=str)
        out.append(f"<details><summary>evidence</summary><pre>{escape(evidence)}</pre></details>")
    out.append("</li>")
    return "\n".join(out)


def _audio(path: str) -> str:
    """A player with the WAV inside the page (a file that is gone is said so)."""
    name = escape(Path(path).name)
    try:
        data = base64.b64encode(Path(path).read_bytes()).decode("ascii")
    except OSError as exc:
        return f'<p class="where">audio {name}: not embedded ({escape(str(exc))})</p>'
    return (
        f"<figure><figcaption>what was heard: {name}</figcaption>"
        f'<audio controls preload="none" src="data:audio/wav;base64,{data}"></audio></figure>'
    )
