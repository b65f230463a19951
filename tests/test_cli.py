"""The ``xctest`` command line, run as a real subprocess."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import yaml

from xctest.sim import default_lab


def run(*args: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "xctest.cli", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def test_print_lab_is_a_loadable_lab(tmp_path):
    out = run("sim", "--print-lab")
    assert out.returncode == 0, out.stderr
    data = yaml.safe_load(out.stdout)
    assert [u["login"] for u in data["users"]] == ["alice", "bob", "carol", "dave", "eve"]
    path = tmp_path / "lab.yaml"
    path.write_text(out.stdout)
    again = run("sim", "--lab", str(path), "--print-lab")
    assert again.stdout == out.stdout
    assert default_lab().to_yaml() == out.stdout


def test_bad_lab_file_names_file_line_and_field(tmp_path):
    path = tmp_path / "lab.yaml"
    path.write_text(
        "users:\n  - login: zed\n    password: x\n    number: 12a\n"
        "    line_name: wrz\n    line_password: y\n"
    )
    out = run("sim", "--lab", str(path))
    assert out.returncode == 2
    assert f"{path}:4:5: users.0.number: String should match pattern" in out.stderr
    assert "4 |     number: 12a" in out.stderr


def test_sim_prints_what_it_serves_and_runs_until_interrupted():
    import signal

    proc = subprocess.Popen(
        [sys.executable, "-m", "xctest.cli", "sim", "--sip-port", "0", "--http-port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        lines = []
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line)
            if line.startswith("Ctrl-C"):
                break
        text = "".join(lines)
        assert "SIP over WebSocket : ws://127.0.0.1:" in text
        assert "alice      alice-pass      1001    wr1001        alice-sip" in text
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=15) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()
        proc.stderr.close()


DATA = Path(__file__).parent / "data"


def test_validate_accepts_the_good_scenarios():
    out = run("validate", str(DATA / "scenarios_good"))
    assert out.returncode == 0, out.stderr
    good = sorted((DATA / "scenarios_good").rglob("*.scenario.yaml"))
    assert out.stdout.count("ok  ") == len(good) > 0
    assert out.stdout.strip().endswith(f"{len(good)} valid, 0 invalid")


def test_validate_reports_every_bad_file_with_its_exact_error():
    bad = sorted((DATA / "scenarios_bad").glob("*.scenario.yaml"))
    out = run("validate", *map(str, bad))
    assert out.returncode == 1
    for path in bad:
        expected = path.with_name(path.name.replace(".scenario.yaml", ".expected")).read_text()
        first = expected.splitlines()[0].split(":", 1)[1]  # after the file name
        assert str(path) + ":" + first in out.stderr
    assert out.stdout.strip().endswith(f"0 valid, {len(bad)} invalid")


def test_validate_without_scenarios_is_a_usage_error(tmp_path):
    out = run("validate", str(tmp_path))
    assert out.returncode == 2
    assert "no *.scenario.yaml file" in out.stderr


def test_schema_is_json_schema_of_the_language():
    out = run("schema")
    assert out.returncode == 0, out.stderr
    schema = json.loads(out.stdout)
    assert schema["$schema"].startswith("https://json-schema.org/")
    assert "steps" in json.dumps(schema)
