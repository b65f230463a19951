"""The ``xctest`` command line, run as a real subprocess."""

from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import yaml
from interrupting import interrupt_at

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
    command = [sys.executable, "-m", "xctest.cli", "sim", "--sip-port", "0", "--http-port", "0"]
    out = interrupt_at(command, "Ctrl-C", timeout=15)
    assert "SIP over WebSocket : ws://127.0.0.1:" in out.before
    assert "alice      alice-pass      1001    wr1001        alice-sip" in out.before
    assert out.returncode == 0, out.stderr


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


# --- xctest run ----------------------------------------------------------------------------------

UNKNOWN = """name: unknown number
parties: [alice]
steps:
  - alice: {dial: "1099"}
  - expect: {events: {in_order: [{alice: {webrtc: Terminated, reason: Not Found}}]}}
"""
NOT_FOUND_IS_BUSY = UNKNOWN.replace("name: unknown number", "name: wrong reason").replace(
    "reason: Not Found", "reason: Busy Here"
)
LONG = """name: long call
parties: [alice, bob]
steps:
  - alice: {dial: bob}
  - bob: answer
  - keep_call_up: 60s
"""


def scenario_dir(tmp_path: Path, **files: str) -> Path:
    folder = tmp_path / "plans"
    folder.mkdir()
    for name, text in files.items():
        (folder / f"{name}.scenario.yaml").write_text(text)
    return folder


def test_run_exit_status_table_and_report(tmp_path):
    plans = scenario_dir(tmp_path, a=UNKNOWN, b=NOT_FOUND_IS_BUSY)
    junit = tmp_path / "ci" / "junit.xml"
    out = run(
        "run", str(plans), "--reports", str(tmp_path / "out"), "--junitxml", str(junit), timeout=60
    )
    assert out.returncode == 1, out.stdout + out.stderr
    assert "1 passed, 1 failed" in out.stdout
    assert "FAILED" in out.stdout and "step 2 at " in out.stdout
    assert 'alice: webrtc Terminated reason="Busy Here"' in out.stdout
    (report,) = (tmp_path / "out").glob("xctest-*.jsonl")
    records = [json.loads(line) for line in report.read_text().splitlines()]
    assert [(r["name"], r["status"]) for r in records] == [
        ("unknown number", "passed"),
        ("wrong reason", "failed"),
    ]
    assert records[0]["logs"] == {}
    assert any("404 Not Found" in line for line in records[1]["logs"]["alice"])
    assert records[1]["steps"][1]["where"].endswith("b.scenario.yaml:5:5")
    page = report.with_suffix(".html")
    assert f"html:   {page}" in out.stdout
    html = page.read_text(encoding="utf-8")
    assert "1 passed, 1 failed" in html and "wrong reason" in html
    assert f"junit:  {junit}" in out.stdout
    suite = ET.parse(junit).getroot().find("testsuite")
    assert suite is not None and (suite.get("tests"), suite.get("failures")) == ("2", "1")


def test_report_merges_reports_into_one_page_and_names_a_bad_line(tmp_path):
    plans = scenario_dir(tmp_path, a=UNKNOWN)
    for folder in ("w0", "w1"):
        assert (
            run("run", str(plans), "--reports", str(tmp_path / folder), timeout=60).returncode == 0
        )
    reports = sorted(str(p) for p in tmp_path.glob("w*/xctest-*.jsonl"))
    out = run("report", *reports, "-o", str(tmp_path / "all.html"))
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == f"html: {tmp_path / 'all.html'}"
    assert "2 passed" in (tmp_path / "all.html").read_text(encoding="utf-8")
    bad = tmp_path / "bad.jsonl"
    bad.write_text(Path(reports[0]).read_text() + "{oops\n")
    out = run("report", str(bad))
    assert out.returncode == 2
    assert out.stderr.startswith(f"xctest: {bad}:2: not a JSON record (")
    assert not bad.with_suffix(".html").exists()


def test_run_selects_by_name_and_passes(tmp_path):
    plans = scenario_dir(tmp_path, a=UNKNOWN, b=NOT_FOUND_IS_BUSY)
    out = run("run", str(plans), "-k", "unknown", "--reports", str(tmp_path / "o"), timeout=60)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "1 passed" in out.stdout and "wrong reason" not in out.stdout


def test_run_places_no_call_when_a_file_is_invalid(tmp_path):
    plans = scenario_dir(tmp_path, a=UNKNOWN, b=UNKNOWN.replace("dial:", "diall:"))
    out = run("run", str(plans), "--reports", str(tmp_path / "out"))
    assert out.returncode == 1
    assert "b.scenario.yaml:4:13: unknown action 'diall'; did you mean 'dial'?" in out.stderr
    assert "1 invalid file(s); no call placed" in out.stderr
    assert not (tmp_path / "out").exists()


def test_run_without_scenarios_is_a_usage_error(tmp_path):
    out = run("run", str(tmp_path))
    assert out.returncode == 2
    assert "no *.scenario.yaml file" in out.stderr


def test_an_interrupted_run_keeps_every_result_and_exits_130(tmp_path):
    plans = scenario_dir(tmp_path, a=UNKNOWN, b=LONG)
    reports = str(tmp_path / "o")
    command = [sys.executable, "-m", "xctest.cli", "run", str(plans), "--reports", reports]
    out = interrupt_at(command, "unknown number")  # printed: the second scenario has begun
    assert out.returncode == 130, out.after + out.stderr
    assert "Traceback" not in out.stderr, out.stderr
    assert "interrupted: the rest is not run" in out.stderr
    assert "1 passed" in out.after  # the summary table, after the interrupted scenario's line
    (report,) = (tmp_path / "o").glob("xctest-*.jsonl")
    records = [json.loads(line) for line in report.read_text().splitlines()]
    assert [(r["name"], r["status"]) for r in records] == [
        ("unknown number", "passed"),
        ("long call", "error"),
    ]
    assert records[1]["message"] == "interrupted"


def test_a_party_the_target_cannot_log_in_stops_the_run_before_any_call(tmp_path):
    plans = scenario_dir(tmp_path, a=UNKNOWN, b=UNKNOWN.replace("[alice]", "[alice, zed]"))
    out = run("run", str(plans), "--reports", str(tmp_path / "out"), timeout=60)
    assert out.returncode == 2, out.stdout + out.stderr
    assert "xctest: no lab user 'zed' for party 'zed' (lab users: alice, bob" in out.stderr
    assert "scenario(s) against" not in out.stdout


def test_check_against_the_simulator_passes_every_step():
    out = run("check", timeout=60)
    assert out.returncode == 0, out.stdout + out.stderr
    for section in ("alice (login alice)", "bob (login bob)", "test call alice -> bob (1002)"):
        assert f"\n{section}\n" in out.stdout, out.stdout
    assert "  ok    bob hears alice  in 100% of 1 s" in out.stdout, out.stdout
    assert out.stdout.rstrip().splitlines()[-1] == "PASSED: 22 ok"


def test_check_names_the_failing_step_and_the_fix(tmp_path):
    lab = default_lab().model_dump(mode="json")
    lab["users"][1]["has_device"] = True  # bob's line has a desk phone
    (tmp_path / "lab.yaml").write_text(yaml.safe_dump(lab))
    (tmp_path / "t.yaml").write_text("simulator: {lab: lab.yaml}\n")
    out = run("check", "--target", str(tmp_path / "t.yaml"), timeout=60)
    assert out.returncode == 1, out.stdout + out.stderr
    bob = out.stdout.split("\nbob (login bob)\n")[1].split("\n\n")[0].splitlines()
    assert bob[3].startswith("  FAIL  LineConfig ") and "hasDevice true" in bob[3], bob
    assert bob[4].strip() == "-> xc_webrtc only starts on a line without a desk phone", bob
    assert [line.split()[0] for line in bob[5:]] == ["skip"] * 4, bob
    assert "needs two accounts that log in; 1 did" in out.stdout
    assert out.stdout.rstrip().splitlines()[-1].startswith("FAILED: ")


def test_sim_serves_a_given_certificate_and_stops_on_sigterm(tmp_path):
    import signal

    from xctest.transport.tls import self_signed

    cert = self_signed(("127.0.0.1",))
    (tmp_path / "c.pem").write_bytes(cert.cert_pem)
    (tmp_path / "k.pem").write_bytes(cert.key_pem)
    files = ["--tls-cert", str(tmp_path / "c.pem"), "--tls-key", str(tmp_path / "k.pem")]
    command = [
        sys.executable, "-m", "xctest", "sim", "--sip-port", "0", "--http-port", "0", "--tls",
        "--tls-port", "0", *files,
    ]  # fmt: skip
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        seen = []
        for line in proc.stdout:
            seen.append(line)
            if line.startswith("Ctrl-C to stop."):
                break
        assert f"certificate SHA-256: {cert.fingerprint}\n" in "".join(seen), seen
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(15) == 0, proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.stdout.close()
        proc.stderr.close()
        proc.wait(5)


def test_sim_refuses_a_certificate_without_its_key(tmp_path):
    (tmp_path / "c.pem").write_text("not a certificate")
    out = run("sim", "--tls", "--tls-cert", str(tmp_path / "c.pem"))
    assert out.returncode == 2 and "--tls-cert and --tls-key go together" in out.stderr
    out = run("sim", "--tls", "--tls-cert", str(tmp_path / "c.pem"), "--tls-key", "nowhere.pem")
    assert out.returncode == 2 and "cannot use" in out.stderr, out.stderr


def test_check_names_a_refused_register_and_the_fix(tmp_path):
    lab = default_lab().model_dump(mode="json")
    lab["users"][0]["xuc_line_password"] = "stale"  # XUC gives alice a secret Asterisk refuses
    (tmp_path / "lab.yaml").write_text(yaml.safe_dump(lab))
    (tmp_path / "t.yaml").write_text("simulator: {lab: lab.yaml}\n")
    out = run("check", "--target", str(tmp_path / "t.yaml"), "--party", "alice", "--no-call")
    assert out.returncode == 1, out.stdout + out.stderr
    alice = out.stdout.split("\nalice (login alice)\n")[1].split("\n\n")[0].splitlines()
    assert alice[6].startswith("  FAIL  REGISTER ") and "refused: 403 Forbidden" in alice[6]
    assert "the SIP secret XUC's LineConfig gives was refused" in alice[7], alice
    assert alice[8].split()[:2] == ["skip", "media"], alice
    assert "test call" not in out.stdout  # --no-call
