"""What ``xctest check`` prints: outcomes, fixes, open points in number order, the verdict."""

from __future__ import annotations

from xctest.check.lines import CheckReport, Outcome, Section


def report_with(*sections: Section) -> CheckReport:
    report = CheckReport("xivo https://x:8443")
    report.sections.extend(sections)
    return report


def test_a_failed_step_shows_its_fix_and_the_steps_after_it_are_skipped():
    section = Section("alice (login qa.alice)")
    assert section.add("REST login", Outcome.OK, "token")
    assert not section.add("LineConfig", Outcome.FAIL, "webRtc false", "turn WebRTC on")
    section.skip("IceConfig")
    report = report_with(section)
    assert not report.passed
    assert report.render().splitlines() == [
        "xctest check: xivo https://x:8443",
        "",
        "alice (login qa.alice)",
        "  ok    REST login  token",
        "  FAIL  LineConfig  webRtc false",
        "                    -> turn WebRTC on",  # under the detail
        "  skip  IceConfig   not reached",
        "",
        "FAILED: 1 ok, 1 FAIL, 1 skip",
    ]


def test_warnings_pass_and_show_their_advice():
    section = Section("bob (login bob)")
    section.add("LineConfig", Outcome.WARN, "number (none)", "give users.bob.number")
    report = report_with(section)
    assert report.passed
    assert "  warn  LineConfig  number (none)\n                    -> give users.bob.number" in (
        report.render()
    )
    assert report.render().endswith("PASSED: 1 warn")


def test_open_points_are_listed_once_each_in_question_order():
    report = report_with(Section("a"))
    report.sections[0].add("x", Outcome.OK, "")
    for point, value in [
        ("Q22 Terminated reasons", "a"),
        ("Q8 answer to a ping", "Pong"),
        ("Q8 answer to a ping", "Pong"),
        ("fields taken converted", "id"),
        ("Q10 LoggedOn payload keys", "login"),
        ("Q1/Q3 PhoneEvents of a", "EventDialing"),
    ]:
        report.note(point, value)
    points = report.render().split("(include them in a report):\n")[1].split("\n\n")[0]
    assert points.splitlines() == [
        "  Q1/Q3 PhoneEvents of a: EventDialing",
        "  Q8 answer to a ping: Pong",
        "  Q10 LoggedOn payload keys: login",
        "  Q22 Terminated reasons: a",
        "  fields taken converted: id",
    ]


def test_nothing_checked_is_no_pass():
    assert not CheckReport("t").passed
