"""The HTML page of a report: made when a writer closes, one page from several JSON-lines
files, everything escaped, the WAV evidence embedded, and clear errors for a file that is no
report."""

from __future__ import annotations

import base64
import json
from html.parser import HTMLParser
from pathlib import Path

import pytest

from xctest.errors import ReportError
from xctest.scenario.report import ReportWriter, ScenarioResult, Status, StepResult, write_html


def result(name: str, status: Status, **extra: object) -> ScenarioResult:
    steps = [StepResult(1, "  - alice: {dial: bob}", "calls.scenario.yaml:4:5", Status.PASSED)]
    if status is not Status.PASSED:
        steps.append(
            StepResult(
                2,
                "  - expect: {audio: {alice: {hears: nothing}}}",
                "calls.scenario.yaml:5:5",
                status,
                message="alice should hear nothing, but heard bob 100%",
                evidence={"alice hears nothing": {"shares": {"bob": 1.0}}},
            )
        )
    return ScenarioResult(
        name=name,
        file="calls.scenario.yaml",
        target="simulator http://127.0.0.1:8090",
        status=status,
        seconds=3.25,
        steps=steps,
        **extra,  # type: ignore[arg-type]
    )


class Page(HTMLParser):
    """What a browser would show: the text, the open sections, the audio sources."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.text: list[str] = []
        self.sections: dict[str, bool] = {}  # id -> its details open
        self.audio: list[str] = []
        self.tags: list[str] = []
        self._section = ""
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        self.tags.append(tag)
        if tag == "section":
            self._section = found.get("id") or ""
        elif tag == "details" and self._section and self._section not in self.sections:
            self.sections[self._section] = "open" in found
        elif tag == "audio":
            self.audio.append(found.get("src") or "")

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    @property
    def all_text(self) -> str:
        return "".join(self.text)


def test_closing_a_writer_makes_the_page_of_its_scenarios(tmp_path):
    writer = ReportWriter(tmp_path)
    writer.write(result("basic call", Status.PASSED))
    pcm = (b"\x01\x00\xff\xff" * 4800)[:9600]
    writer.write(result("hears nothing", Status.FAILED, recordings={"step2-alice": pcm}))
    writer.close()
    page = Page(writer.html_path.read_text(encoding="utf-8"))
    assert "1 passed, 1 failed" in page.all_text
    assert page.sections == {"s1": False, "s2": True}  # what did not pass is unfolded
    assert "alice should hear nothing, but heard bob 100%" in page.all_text
    assert "step 2 at calls.scenario.yaml:5:5" in page.all_text  # in the summary table
    assert '"bob": 1.0' in page.all_text  # the evidence
    (src,) = page.audio
    prefix = "data:audio/wav;base64,"
    assert src.startswith(prefix)
    wav = base64.b64decode(src[len(prefix) :])
    (on_disk,) = (tmp_path / writer.path.stem).glob("*.wav")
    assert wav == on_disk.read_bytes() and wav[:4] == b"RIFF"


def test_text_from_a_scenario_is_shown_not_interpreted(tmp_path):
    writer = ReportWriter(tmp_path)
    writer.write(result("<script>alert(1)</script> & co", Status.ERROR, message="<b>x</b>"))
    writer.close()
    page = Page(writer.html_path.read_text(encoding="utf-8"))
    assert "script" not in page.tags and "b" not in page.tags
    assert "<script>alert(1)</script> & co" in page.all_text
    assert "<b>x</b>" in page.all_text


def test_one_page_from_the_reports_of_several_workers(tmp_path):
    paths = []
    for worker, name in (("gw0", "ring 0"), ("gw1", "ring 1")):
        writer = ReportWriter(tmp_path, tag=worker)
        writer.write(result(name, Status.PASSED))
        writer.close()
        paths.append(writer.path)
    page = Page(write_html(paths, tmp_path / "all.html").read_text(encoding="utf-8"))
    assert "2 passed" in page.all_text
    assert page.all_text.index("ring 0") < page.all_text.index("ring 1")


def test_a_missing_wav_is_said_instead_of_embedded(tmp_path):
    writer = ReportWriter(tmp_path)
    writer.write(result("hears", Status.FAILED, recordings={"step2-alice": b"\0\0" * 480}))
    writer.close()
    for wav in (tmp_path / writer.path.stem).glob("*.wav"):
        wav.unlink()
    page = Page(write_html([writer.path], tmp_path / "again.html").read_text(encoding="utf-8"))
    assert page.audio == []
    assert "001-step2-alice.wav: not embedded (" in page.all_text


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"name": "a", "status": "passed"}\n{"name": ', r"x.jsonl:2: not a JSON record \("),
        ('{"name": "a", "status": "passed"}\n[1, 2]\n', r"x.jsonl:2: not a scenario record"),
    ],
)
def test_a_file_that_is_no_report_is_named_with_its_line(tmp_path, content, message):

    path = tmp_path / "x.jsonl"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ReportError, match=message):
        write_html([path], tmp_path / "x.html")
    assert not (tmp_path / "x.html").exists()


def test_records_are_written_as_json_before_the_page(tmp_path):
    writer = ReportWriter(tmp_path)
    writer.write(result("basic call", Status.PASSED))
    assert not writer.html_path.exists()  # the page comes with close()
    records = [json.loads(line) for line in Path(writer.path).read_text().splitlines()]
    assert [r["name"] for r in records] == ["basic call"]
    writer.close()
    assert writer.html_path.exists()
