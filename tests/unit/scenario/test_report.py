"""Scenario reports: JSON lines written as results come, the summary table, the failure
explanation, and ``step_text`` (the YAML of a step as written, shown in reports)."""

from __future__ import annotations

import json
import re

from xctest.scenario import load_scenario_text, load_scenarios
from xctest.scenario.report import (
    ReportWriter,
    ScenarioResult,
    Status,
    StepResult,
    read_report,
    summary_table,
)
from xctest.scenario.runner import step_text


def passed(name: str = "basic call", seconds: float = 2.04) -> ScenarioResult:
    return ScenarioResult(
        name=name,
        file="calls.scenario.yaml",
        target="simulator http://127.0.0.1:8090",
        status=Status.PASSED,
        seconds=seconds,
        steps=[
            StepResult(1, "  - alice: {dial: bob}", "calls.scenario.yaml:4:5", Status.PASSED),
            StepResult(2, "  - bob: answer", "calls.scenario.yaml:5:5", Status.PASSED),
        ],
    )


def failed(name: str = "hears nothing") -> ScenarioResult:
    return ScenarioResult(
        name=name,
        file="calls.scenario.yaml",
        target="simulator http://127.0.0.1:8090",
        params={"callee": "bob"},
        status=Status.FAILED,
        seconds=12.5,
        steps=[
            StepResult(1, "  - alice: {dial: bob}", "calls.scenario.yaml:4:5", Status.PASSED),
            StepResult(
                2,
                "  - expect:\n      audio:\n        alice: {hears: nothing}",
                "calls.scenario.yaml:6:5",
                Status.FAILED,
                message="alice should hear nothing, but heard bob 100%",
                evidence={"audio": {"alice": ["bob"]}},
            ),
            StepResult(3, "  - alice: hangup", "calls.scenario.yaml:9:5"),
        ],
    )


# --- ReportWriter -----------------------------------------------------------------------------


def test_each_result_is_a_json_line_readable_before_close(tmp_path):
    folder = tmp_path / "deep" / "reports"
    writer = ReportWriter(folder)
    assert not folder.exists()  # nothing written, nothing created
    writer.write(passed("one"))
    assert folder.is_dir()
    assert [r["name"] for r in read_report(writer.path)] == ["one"]
    writer.write(failed("two"))
    records = read_report(writer.path)
    assert [(r["name"], r["status"]) for r in records] == [("one", "passed"), ("two", "failed")]
    writer.close()
    writer.close()  # closing twice is harmless
    lines = writer.path.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 2
    assert json.loads(lines[1]) == json.loads(json.dumps(failed("two").to_json()))


def test_report_file_names(tmp_path):
    plain = ReportWriter(tmp_path)
    tagged = ReportWriter(tmp_path, tag="gw1")
    assert plain.path.parent == tmp_path
    assert re.fullmatch(r"xctest-\d{8}T\d{6}\.\d{6}Z\.jsonl", plain.path.name)
    assert re.fullmatch(r"xctest-\d{8}T\d{6}\.\d{6}Z-gw1\.jsonl", tagged.path.name)


def test_to_json_statuses_are_plain_strings():
    data = failed().to_json()
    assert type(data["status"]) is str and data["status"] == "failed"
    assert [type(s["status"]) for s in data["steps"]] == [str, str, str]
    assert [s["status"] for s in data["steps"]] == ["passed", "failed", "not run"]
    assert data["params"] == {"callee": "bob"}
    assert data["steps"][1]["evidence"] == {"audio": {"alice": ["bob"]}}
    assert json.loads(json.dumps(data)) == data


# --- summary and explanation ------------------------------------------------------------------


def test_summary_table_has_a_row_per_result_and_the_counts():
    lines = summary_table([passed(), failed()]).splitlines()
    assert lines == [
        "result   time  scenario       where",
        "PASSED   2.0s  basic call",
        "FAILED  12.5s  hears nothing  step 2 at calls.scenario.yaml:6:5",
        "1 passed, 1 failed",
    ]


def test_summary_counts_every_status_seen():
    error = passed("no log-in")
    error.status, error.message = Status.ERROR, "log-in failed: alice could not log in"
    table = summary_table([passed("a"), passed("b"), error])
    assert table.splitlines()[-1] == "2 passed, 1 error"
    assert summary_table([]).splitlines()[-1] == "0 scenarios"


def test_explain_shows_the_failing_step_and_its_message():
    assert failed().explain().splitlines() == [
        "step 2 (calls.scenario.yaml:6:5) failed:",
        "      - expect:",
        "          audio:",
        "            alice: {hears: nothing}",
        "alice should hear nothing, but heard bob 100%",
    ]


def test_explain_without_a_failed_step_gives_the_message():
    error = passed("no log-in")
    error.status, error.message = Status.ERROR, "log-in failed: bob could not log in"
    assert error.failed_step is None
    assert error.explain() == "log-in failed: bob could not log in"
    error.message = ""
    assert error.explain() == "no log-in: error"


def test_a_step_in_error_is_the_failed_step():
    result = passed()
    result.steps[1].status = Status.ERROR
    result.steps[1].message = "did not finish within 10 s"
    assert result.failed_step is result.steps[1]
    assert result.explain().splitlines()[0] == "step 2 (calls.scenario.yaml:5:5) error:"


# --- step_text --------------------------------------------------------------------------------

SCENARIO = """\
name: text of steps
parties: [alice, bob]
steps:
  - alice: {dial: bob}
  - bob: answer
  - expect:
      events:
        in_order:
          - bob: {webrtc: Connected}
      audio:
        alice: {hears: bob}
  - alice: hangup
"""


def test_step_text_spans_a_steps_indented_lines_and_stops_at_the_next(tmp_path):
    path = tmp_path / "text.scenario.yaml"
    path.write_text(SCENARIO, encoding="utf-8")
    (scenario,) = load_scenarios(path)
    texts = [step_text(step) for step in scenario.steps]
    assert texts == [
        "  - alice: {dial: bob}",
        "  - bob: answer",
        "  - expect:\n"
        "      events:\n"
        "        in_order:\n"
        "          - bob: {webrtc: Connected}\n"
        "      audio:\n"
        "        alice: {hears: bob}",
        "  - alice: hangup",
    ]


def test_step_text_reads_each_file_once_through_the_cache(tmp_path):
    path = tmp_path / "text.scenario.yaml"
    path.write_text(SCENARIO, encoding="utf-8")
    (scenario,) = load_scenarios(path)
    files: dict[str, list[str]] = {}
    assert step_text(scenario.steps[0], files) == "  - alice: {dial: bob}"
    assert list(files) == [str(path)]
    path.unlink()
    assert step_text(scenario.steps[3], files) == "  - alice: hangup"


def test_step_text_of_an_unreadable_file_is_the_steps_kind():
    (scenario,) = load_scenario_text(SCENARIO, "not-on-disk.scenario.yaml")
    assert step_text(scenario.steps[2]) == "ExpectStep"
    assert step_text(scenario.steps[3]) == "PartyStep"


def test_step_text_keeps_blank_lines_inside_a_step_and_drops_them_after(tmp_path):
    text = SCENARIO.replace("      events:\n", "      events:\n\n").replace(
        "  - alice: hangup\n", "\n  - alice: hangup\n"
    )
    path = tmp_path / "blank.scenario.yaml"
    path.write_text(text, encoding="utf-8")
    (scenario,) = load_scenarios(path)
    assert step_text(scenario.steps[2]).splitlines() == [
        "  - expect:",
        "      events:",
        "",
        "        in_order:",
        "          - bob: {webrtc: Connected}",
        "      audio:",
        "        alice: {hears: bob}",
    ]


def test_step_text_of_a_very_long_step_says_how_much_was_left_out(tmp_path):
    checks = "".join(f"          - bob: {{webrtc: Connected, n{i}: {i}}}\n" for i in range(60))
    text = "name: long\nparties: [alice, bob]\nsteps:\n  - expect:\n      events:\n"
    text += f"        in_order:\n{checks}"
    path = tmp_path / "long.scenario.yaml"
    path.write_text(text, encoding="utf-8")
    (scenario,) = load_scenarios(path)
    lines = step_text(scenario.steps[0]).splitlines()
    assert len(lines) == 42 and lines[-1] == "      ... (22 more lines)"
