"""The pytest plugin (``xctest.pytest_plugin``), driven through pytester: which files it
collects, how scenario failures and broken files are shown, xdist workers and their reports,
Python tests using its fixtures next to scenario files, and ``--xctest-target``."""

from __future__ import annotations

import json

import pytest
from interrupting import interrupt_at

from xctest.scenario.report import read_report

INI = "[pytest]\nasyncio_mode = auto\nasyncio_default_fixture_loop_scope = function\n"

CALL = """\
name: {name}
parties: [alice, bob]
steps:
  - alice: {{dial: bob}}
  - bob: answer
  - expect: {{audio: {{alice: {{hears: {hears}}}}}}}
"""

RING = """\
name: {name}
parties: [alice, bob]
steps:
  - alice: {{dial: bob}}
  - expect: {{events: {{in_order: [bob: {{webrtc: Setup}}]}}}}
"""


@pytest.fixture
def pt(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    """A pytester folder with the asyncio settings, run as if not under an xdist worker."""
    for name in ("PYTEST_XDIST_WORKER", "PYTEST_XDIST_WORKER_COUNT", "PYTEST_XDIST_TESTRUNUID"):
        monkeypatch.delenv(name, raising=False)
    pytester.makeini(INI)
    return pytester


def run(pt: pytest.Pytester, *args: str, subprocess: bool = True) -> pytest.RunResult:
    """A pytest run in the pytester folder: a subprocess (as a user runs it) for the runs that
    place calls, in-process (no 2 s import of scipy) for the ones that place none."""
    if subprocess:
        return pt.runpytest_subprocess("-p", "no:cacheprovider", *args, timeout=60)
    return pt.runpytest_inprocess("-p", "no:cacheprovider", *args)


def call(name: str = "call", hears: str = "bob") -> str:
    """A call checked by audio (about 2 s)."""
    return CALL.format(name=name, hears=hears)


def ring(name: str = "ring") -> str:
    """A call checked by its events only (well under a second)."""
    return RING.format(name=name)


def test_collects_only_scenario_yaml_files_one_item_per_matrix_row(pt):
    pt.makefile(
        ".scenario.yaml",
        call="name: call {callee}\nparties: [alice, bob, carol]\nmatrix: {callee: [bob, carol]}\n"
        'steps:\n  - alice: {dial: "{callee}"}\n',
    )
    pt.makefile(".yaml", plain=call("plain"))  # a valid scenario, but not named *.scenario.yaml
    pt.makefile(".yml", other="key: value\n")
    pt.makefile(".scenario.yml", notes=call("notes"))
    result = run(pt, "--collect-only", "-q", subprocess=False)
    assert result.ret == pytest.ExitCode.OK
    result.stdout.fnmatch_lines(
        [
            "call.scenario.yaml::call bob[[]callee=bob[]]",
            "call.scenario.yaml::call carol[[]callee=carol[]]",
            "",
            "2 tests collected in *",
        ],
        consecutive=True,
    )
    assert result.parseoutcomes() == {"tests": 2}
    for name in ("plain", "other", "notes"):
        result.stdout.no_fnmatch_line(f"*{name}*")


@pytest.mark.integration
def test_a_failing_scenario_shows_its_step_location_and_message(pt):
    pt.makefile(".scenario.yaml", good=call("good"), bad=call("bad", hears="nothing"))
    result = run(pt)
    result.assert_outcomes(passed=1, failed=1)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(
        [
            "*_ scenario: bad _*",
            "scenario 'bad' failed (*bad.scenario.yaml)",
            "step 3 (*bad.scenario.yaml:6:5) failed:",
            "      - expect: {audio: {alice: {hears: nothing}}}",
            "alice should hear nothing, but heard bob*",
        ],
        consecutive=True,
    )
    result.stdout.no_fnmatch_line("*scenario: good*")
    result.stdout.no_fnmatch_line("*Traceback*")


@pytest.mark.integration
def test_an_events_failure_shows_expected_against_seen(pt):
    pt.makefile(
        ".scenario.yaml",
        order="""\
name: wrong order
parties: [alice, bob]
steps:
  - alice: {dial: bob}
  - bob: answer
  - expect:
      events:
        in_order:
          - bob: {webrtc: Connected}
          - alice: {webrtc: Establishing}
        within: 2s
""",
    )
    result = run(pt)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "step 3 (*order.scenario.yaml:6:5) failed:",
            "      - expect:",
            "          events:",
            "            in_order:",
            "              - bob: {webrtc: Connected}",
            "              - alice: {webrtc: Establishing}",
            "            within: 2s",
            "within 2 s, events did not happen as expected (in order):",
            "  expected * seen",
            "  1 bob: webrtc Connected * ✓ bob xc:incoming/Connected *",
            "  2 alice: webrtc Establishing * ✗ not seen after 1 (only before it, at +*",
            "seen by alice, bob (in order):",
        ],
        consecutive=True,
    )
    result.stdout.fnmatch_lines(["  +* alice xc:outgoing/Establishing"])


def test_a_broken_file_is_a_collection_error_at_file_line_column(pt):
    pt.makefile(".scenario.yaml", good=ring("good"))
    pt.makefile(
        ".scenario.yaml",
        broken="name: misspelt action\nparties: [alice, bob]\nsteps:\n"
        "  - alice: {dial: bob}\n  - bob: anwser\n",
    )
    result = run(pt, subprocess=False)
    result.assert_outcomes(errors=1)
    assert result.ret == pytest.ExitCode.INTERRUPTED
    result.stdout.fnmatch_lines(
        [
            "*_ ERROR collecting broken.scenario.yaml _*",
            "*broken.scenario.yaml:5:10: unknown action 'anwser'; did you mean 'answer'?",
            "  4 |   - alice: {dial: bob}",
            "> 5 |   - bob: anwser",
            "    |          ^",
            "  allowed: answer, reject, hangup, hold, resume, *, dial, *",
        ],
        consecutive=True,
    )
    result.stdout.fnmatch_lines(["*Interrupted: 1 error during collection*"])
    assert "Traceback" not in result.stdout.str() + result.stderr.str()
    result.stdout.no_fnmatch_line("*.py:[0-9]*:*")  # no Python frame either


@pytest.mark.integration
def test_xdist_workers_each_write_their_own_report(pt):
    for n in range(4):
        pt.makefile(".scenario.yaml", **{f"ring{n}": ring(f"ring {n}")})
    result = run(pt, "-n", "2", "--xctest-reports", "reports")
    result.assert_outcomes(passed=4)
    files = {path.name.rsplit("-", 1)[-1]: path for path in (pt.path / "reports").iterdir()}
    assert sorted(files) == ["gw0.html", "gw0.jsonl", "gw1.html", "gw1.jsonl"], files
    assert all(path.name.startswith("xctest-") for path in files.values())
    reports = [path for path in files.values() if path.suffix == ".jsonl"]
    records = [record for path in reports for record in read_report(path)]
    assert sorted(r["name"] for r in records) == [f"ring {n}" for n in range(4)]
    assert {r["status"] for r in records} == {"passed"}


@pytest.mark.integration
def test_python_tests_with_the_xivo_phone_fixture_run_next_to_scenarios(pt):
    pt.makefile(".scenario.yaml", ring=ring())
    pt.makepyfile(
        test_phones="""
        async def test_alice_hears_bob(xivo_phone):
            alice = await xivo_phone("alice")
            bob = await xivo_phone("bob")
            call = await alice.phone.dial(bob.number)
            await bob.phone.timeline.wait_for(lambda e: e.name == "incoming/Setup", 10)
            await bob.phone.answer()
            await call.wait_heard("bob", 5)
        """
    )
    result = run(pt, "-v")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(
        ["ring.scenario.yaml::ring PASSED*", "test_phones.py::test_alice_hears_bob PASSED*"]
    )


@pytest.mark.integration
def test_a_tls_simulator_target_runs_scenarios_over_https(pt):
    pt.makefile(".scenario.yaml", ring=ring())
    pt.makefile(".yaml", tls="simulator: {tls: true}\n")
    result = run(pt, "--xctest-target", "tls.yaml", "--xctest-reports", "reports")
    result.assert_outcomes(passed=1)
    (path,) = (pt.path / "reports").glob("*.jsonl")
    (record,) = read_report(path)
    assert record["status"] == "passed"
    assert record["target"].startswith("simulator https://127.0.0.1:"), json.dumps(record)


def test_a_misspelt_target_file_fails_with_its_file_and_line(pt):
    pt.makefile(".scenario.yaml", ring=ring())
    pt.makefile(".yaml", typo="# the built-in simulator\nsimulatr: {tls: true}\n")
    result = run(pt, "--xctest-target", "typo.yaml", subprocess=False)
    assert result.ret == pytest.ExitCode.USAGE_ERROR  # before anything is collected or run
    result.stderr.fnmatch_lines(
        [
            "ERROR: --xctest-target: typo.yaml:2:1: simulatr: Extra inputs are not permitted",
            "> 2 | simulatr: {tls: true}",
            "    | ^",
        ],
        consecutive=True,
    )
    assert "Traceback" not in result.stdout.str() + result.stderr.str()


def test_a_target_whose_ca_file_is_missing_is_a_usage_error(pt):
    pt.makefile(".scenario.yaml", ring=ring())
    pt.makefile(
        ".yaml",
        xivo="xuc: https://xivo.lab.example\ntls: {ca_file: lab-ca.pem}\n"
        "users: {alice: {login: a, password: p}, bob: {login: b, password: p}}\n",
    )
    result = run(pt, "--xctest-target", "xivo.yaml", subprocess=False)
    assert result.ret == pytest.ExitCode.USAGE_ERROR  # before anything is collected or run
    result.stderr.fnmatch_lines(
        ["ERROR: --xctest-target: tls.ca_file '*lab-ca.pem' of the target: No such file*"]
    )


def test_a_party_without_an_account_fails_its_item_before_any_call(pt):
    odd = ring("odd").replace("[alice, bob]", "[alice, bob, zed]")
    pt.makefile(".scenario.yaml", ring=ring(), odd=odd)
    result = run(pt, "-k", "odd")  # the selected item only: the other one is never checked
    result.assert_outcomes(failed=1, deselected=1)
    result.stdout.fnmatch_lines(["no lab user 'zed' for party 'zed' (lab users: alice, bob*"])


@pytest.mark.integration
def test_allure_results_carry_steps_parameters_timelines_and_the_wav_of_a_failed_check(pt):
    pt.makefile(
        ".scenario.yaml",
        hears="name: hears {what}\nparties: [alice, bob]\nmatrix: {what: [bob, nothing]}\n"
        "steps:\n  - alice: {dial: bob}\n  - bob: answer\n"
        '  - expect: {audio: {alice: {hears: "{what}"}}}\n',
    )
    result = run(pt, "--alluredir", "allure")
    result.assert_outcomes(passed=1, failed=1)
    records = [json.loads(p.read_text()) for p in (pt.path / "allure").glob("*-result.json")]
    by_name = {r["name"]: r for r in records}
    assert set(by_name) == {"hears bob[what=bob]", "hears nothing[what=nothing]"}
    good, bad = by_name["hears bob[what=bob]"], by_name["hears nothing[what=nothing]"]
    assert (good["status"], bad["status"]) == ("passed", "failed")
    assert {"name": "what", "value": "'nothing'"} in bad["parameters"]
    assert [(s["name"], s["status"]) for s in bad["steps"]] == [
        ("step 1: - alice: {dial: bob}", "passed"),
        ("step 2: - bob: answer", "passed"),
        ('step 3: - expect: {audio: {alice: {hears: "{what}"}}}', "failed"),
    ]
    assert "alice should hear nothing, but heard bob" in bad["steps"][2]["statusDetails"]["message"]
    names = {a["name"]: a for a in bad["attachments"]}
    assert {"result", "timeline alice", "timeline bob", "step3-alice"} <= set(names)
    wav = (pt.path / "allure" / names["step3-alice"]["source"]).read_bytes()
    assert wav[:4] == b"RIFF" and wav[8:12] == b"WAVE" and len(wav) > 48000 * 2
    assert "step3-alice" not in {a["name"] for a in good.get("attachments", [])}


def test_ctrl_c_during_a_scenario_writes_it_and_stops_the_session(pt):
    import sys

    pt.makefile(".scenario.yaml", a_ring=ring("quick"))
    pt.makefile(".scenario.yaml", b_long=ring("long") + "  - keep_call_up: 60s\n")
    command = [sys.executable, "-u", "-m", "pytest", "-p", "no:cacheprovider"]
    live_log = ["-o", "log_cli=true", "--log-cli-level=INFO"]  # the runner logs each step
    out = interrupt_at(
        [*command, *live_log, "--xctest-reports", "reports"],
        "long: step 3 keep_call_up: 60s",
        cwd=pt.path,
    )
    assert out.returncode == pytest.ExitCode.INTERRUPTED, out.after + out.stderr
    assert "KeyboardInterrupt" in out.after
    (report,) = (pt.path / "reports").glob("*.jsonl")
    records = read_report(report)
    assert [(r["name"], r["status"], r["message"]) for r in records] == [
        ("quick", "passed", ""),
        ("long", "error", "interrupted"),
    ]
