"""JUnit XML from report records: one testcase per scenario, failed/error/not run as
failure/error/skipped with the failing step, and the timelines of what did not pass."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from xctest.scenario.report import ReportWriter, ScenarioResult, Status, StepResult, write_junit


def scenario(name: str, status: Status, message: str = "") -> ScenarioResult:
    steps = [StepResult(1, "  - alice: {dial: bob}", "calls.scenario.yaml:4:5", Status.PASSED)]
    if status in (Status.FAILED, Status.ERROR):
        steps.append(
            StepResult(2, "  - bob: answer", "calls.scenario.yaml:5:5", status, 2.5, message)
        )
    return ScenarioResult(
        name=name,
        file="plans/calls.scenario.yaml",
        target="simulator",
        status=status,
        seconds=1.5,
        steps=steps,
        logs={} if status is Status.PASSED else {"alice": ["+0.001 alice sip:INVITE"]},
    )


def test_each_scenario_is_a_testcase_with_its_verdict(tmp_path):
    writer = ReportWriter(tmp_path)
    writer.write(scenario("basic call", Status.PASSED))
    writer.write(scenario("answer & hear", Status.FAILED, "bob should hear alice: 0%\nmore"))
    writer.write(scenario("log-in", Status.ERROR, "timed out after 10s waiting for bob"))
    writer.write(scenario("never begun", Status.NOT_RUN))
    writer.close()
    root = ET.parse(write_junit([writer.path], tmp_path / "junit.xml")).getroot()
    (suite,) = root.findall("testsuite")
    assert {k: suite.get(k) for k in ("tests", "failures", "errors", "skipped", "time")} == {
        "tests": "4",
        "failures": "1",
        "errors": "1",
        "skipped": "1",
        "time": "6.000",
    }
    cases = suite.findall("testcase")
    assert [(c.get("classname"), c.get("name")) for c in cases] == [
        ("calls_scenario", "basic call"),
        ("calls_scenario", "answer & hear"),
        ("calls_scenario", "log-in"),
        ("calls_scenario", "never begun"),
    ]
    assert list(cases[0]) == []
    failure = cases[1].find("failure")
    assert failure is not None and failure.get("message") == "bob should hear alice: 0%"
    assert failure.text == (
        "step 2 at calls.scenario.yaml:5:5:\n  - bob: answer\nbob should hear alice: 0%\nmore"
    )
    assert cases[1].findtext("system-out") == "--- alice\n+0.001 alice sip:INVITE"
    error = cases[2].find("error")
    assert error is not None and error.get("message").startswith("timed out after 10s")
    assert cases[3].find("skipped") is not None
