"""The README's Python example is run as written (docs are part of the feature)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).resolve().parent.parent / "README.md"


@pytest.mark.integration
def test_readme_python_example_runs_and_alice_hears_bob(tmp_path):
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.S)
    assert blocks, "README has no python example"
    script = tmp_path / "example.py"
    script.write_text(blocks[0])
    out = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=60, check=False
    )
    assert out.returncode == 0, out.stderr
    share = float(re.search(r"alice hears bob: ([0-9.]+)", out.stdout).group(1))
    assert share >= 0.9


def readme_scenarios() -> dict[str, str]:
    """The README's YAML blocks that start with ``# <name>.scenario.yaml``, by name."""
    text = README.read_text(encoding="utf-8")
    blocks = re.findall(r"```yaml\n(# (\S+\.scenario\.yaml)\n.*?)```", text, re.S)
    return {name: body for body, name in blocks}


@pytest.mark.integration
def test_readme_scenario_runs_and_passes_with_xctest_run(tmp_path):
    scenarios = readme_scenarios()
    assert list(scenarios) == ["first.scenario.yaml"]
    for name, body in scenarios.items():
        (tmp_path / name).write_text(body)
    out = subprocess.run(
        [sys.executable, "-m", "xctest.cli", "run", ".", "--reports", "out"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert out.returncode == 0, out.stdout + out.stderr
    assert "1 passed" in out.stdout
    assert len(list((tmp_path / "out").glob("xctest-*.jsonl"))) == 1


def test_readme_error_example_is_what_validate_prints(tmp_path):
    text = README.read_text(encoding="utf-8")
    shown = re.search(r"```\n(first\.scenario\.yaml:6:10: .*?)```", text, re.S).group(1)
    body = readme_scenarios()["first.scenario.yaml"]
    broken = body.replace("  - bob: answer ", "  - bob: anwser ")
    assert broken != body
    (tmp_path / "first.scenario.yaml").write_text(broken)
    out = subprocess.run(
        [sys.executable, "-m", "xctest.cli", "validate", "first.scenario.yaml"],
        cwd=tmp_path, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert out.returncode == 1
    assert out.stderr == shown


def reference_words(text: str, heading: str) -> set[str]:
    """Backquoted words of the first column of the tables under ``heading``."""
    part = text.split(heading, 1)[1].split("\n### ", 1)[0]
    firsts = [line.split("|")[1] for line in part.splitlines() if line.startswith("| ")]
    return {w for cell in firsts for w in re.findall(r"`(?:- )?([a-z_]+)", cell)}


def test_readme_reference_lists_every_word_of_the_language():
    from xctest.scenario.model import ACTIONS, PHONE_EVENTS, SIP_METHODS, WEBRTC_EVENTS
    from xctest.scenario.words import STEP_KEYWORDS, EventSource, Sound

    text = README.read_text(encoding="utf-8")
    steps = reference_words(text, "### Steps")
    assert steps == {*ACTIONS, *STEP_KEYWORDS}, steps  # no word missing, none made up
    expectations = text.split("### Expectations", 1)[1].split("\n### ", 1)[0]
    for key in ("events", "audio", "timings", "mos", "in_order", "in_any_order", "never"):
        assert f"`{key}`" in expectations or f"`{key}:" in expectations, key
    for word in (*tuple(Sound), "setup_time", "post_dial_delay", "at_least", "within"):
        assert word in expectations, word
    for source in EventSource:
        assert f"| `{source}` |" in expectations, source
    for name in (*WEBRTC_EVENTS, *PHONE_EVENTS, *SIP_METHODS):
        assert f"`{name}`" in expectations, name


@pytest.mark.integration
def test_readme_check_example_has_the_steps_and_layout_xctest_check_prints():
    text = README.read_text(encoding="utf-8")
    shown = re.search(r"```\n(alice \(login qa\.alice\)\n.*?)```", text, re.S).group(1)
    out = subprocess.run(
        [sys.executable, "-m", "xctest", "check"],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert out.returncode == 0, out.stdout + out.stderr
    line = re.compile(r"^  (ok|warn|FAIL|skip)  +(\S.*?)  +\S")
    steps = [m.group(2).strip() for m in map(line.match, shown.splitlines()) if m]
    printed = [m.group(2).strip() for m in map(line.match, out.stdout.splitlines()) if m]
    assert len(steps) >= 14 and steps == printed[: len(steps) - 6] + printed[-6:]
