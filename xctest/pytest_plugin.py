"""pytest plugin (entry point ``pytest11``): scenario files are tests, and Python tests get
the same XiVO through fixtures.

- Files named ``*.scenario.yaml`` are collected (never other YAML); each scenario, and each
  row of its matrix, is one test item.  A broken file is a collection error that shows
  file:line:column and the offending lines.
- A failing item shows the failing step's YAML, what was expected and what was seen.
- ``--xctest-target FILE`` runs against a real XiVO (default: a fresh built-in simulator per
  item, on free loopback ports, so pytest-xdist workers never collide); with xdist, worker N
  uses the N-th account of each party in the target file.
- ``--xctest-reports DIR`` also writes the JSON-lines report of the scenario items.
- With allure-pytest installed (``--alluredir``), each scenario item carries its steps with
  their status, its matrix parameters, the result JSON, every party's timeline and, for a
  failed audio check, a WAV of what the party heard.
- Fixtures ``xctest_target`` (the ``Target``), ``xivo`` (an opened ``Xivo``) and
  ``xivo_phone`` (``await xivo_phone("alice")`` → a logged-in, registered ``Party``); the
  async fixtures need pytest-asyncio.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import os
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from xctest.errors import ScenarioError
from xctest.scenario import SCENARIO_SUFFIX, Scenario, load_scenarios
from xctest.scenario.report import ReportWriter, ScenarioResult, Status, wav_bytes
from xctest.scenario.runner import new_result, run_scenario
from xctest.scenario.target import Target, load_target
from xctest.scenario.xivo import Party, Xivo

_REPORT = pytest.StashKey[ReportWriter]()
_TARGET = pytest.StashKey[Target]()
_ACCOUNTS = pytest.StashKey[Xivo]()  # the target, not started: who has an account


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("xctest", "xctest call scenarios")
    group.addoption(
        "--xctest-target",
        default=None,
        help="target file (a real XiVO, or simulator options); default: built-in simulator",
    )
    group.addoption(
        "--xctest-reports",
        default=None,
        help="folder for the JSON-lines report of scenario items (default: none)",
    )


def pytest_configure(config: pytest.Config) -> None:
    try:
        config.stash[_TARGET] = target_of(config)
        config.stash[_ACCOUNTS] = Xivo(config.stash[_TARGET], worker=worker_index())
    except ScenarioError as exc:  # a usage error: before anything is collected
        raise pytest.UsageError(f"--xctest-target: {exc}") from None
    folder = config.getoption("--xctest-reports", None)
    if folder:
        worker = os.environ.get("PYTEST_XDIST_WORKER", "")
        config.stash[_REPORT] = ReportWriter(folder, tag=worker)


def pytest_unconfigure(config: pytest.Config) -> None:
    writer = config.stash.get(_REPORT, None)
    if writer is not None:
        writer.close()


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> ScenarioFile | None:
    if file_path.name.endswith(SCENARIO_SUFFIX):
        return ScenarioFile.from_parent(parent, path=file_path)
    return None


def worker_index() -> int:
    """This pytest-xdist worker's number (``gw3`` → 3); 0 without xdist."""
    match = re.fullmatch(r"gw(\d+)", os.environ.get("PYTEST_XDIST_WORKER", ""))
    return int(match.group(1)) if match else 0


def target_of(config: pytest.Config) -> Target:
    path = config.getoption("--xctest-target", None)
    return load_target(path) if path else Target.default()


class ScenarioFile(pytest.File):
    """One ``*.scenario.yaml``: its scenarios, validated before any call is placed."""

    def collect(self) -> Iterator[ScenarioItem]:
        for scenario in load_scenarios(self.path):
            yield ScenarioItem.from_parent(self, name=scenario.name, scenario=scenario)

    def repr_failure(  # type: ignore[override]
        self, excinfo: pytest.ExceptionInfo[BaseException]
    ) -> str:
        if isinstance(excinfo.value, ScenarioError):
            return str(excinfo.value)
        return str(super().repr_failure(excinfo))


class ScenarioFailed(AssertionError):
    """An expectation of the scenario did not hold (a verdict: allure says "failed")."""

    def __init__(self, result: ScenarioResult) -> None:
        self.result = result
        super().__init__(result.explain())


class ScenarioBroken(Exception):
    """The scenario could not be carried out: log-in refused, a step past its deadline
    (allure says "broken")."""

    def __init__(self, result: ScenarioResult) -> None:
        self.result = result
        super().__init__(result.explain())


class ScenarioItem(pytest.Item):
    """One scenario (one matrix row), run on its own event loop against a fresh target."""

    def __init__(self, *, scenario: Scenario, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.scenario = scenario
        self.result: ScenarioResult | None = None

    def runtest(self) -> None:
        self.config.stash[_ACCOUNTS].check_parties(self.scenario.parties)
        result = self.result = new_result(self.scenario)
        interrupted = False
        try:
            asyncio.run(self._run(result))
        except KeyboardInterrupt:  # Ctrl-C: keep what was done, then stop pytest
            interrupted = True
            if result.status is Status.NOT_RUN:  # stopped before the scenario began
                result.status, result.message = Status.ERROR, "interrupted"
        writer = self.config.stash.get(_REPORT, None)
        if writer is not None:
            writer.write(result)
        self.user_properties.append(("xctest_status", str(result.status)))
        if allure is not None:
            _to_allure(self.scenario, result)
        if interrupted:
            raise KeyboardInterrupt
        if result.status is Status.FAILED:
            raise ScenarioFailed(result)
        if not result.passed:
            raise ScenarioBroken(result)

    async def _run(self, result: ScenarioResult) -> None:
        async with Xivo(self.config.stash[_TARGET], worker=worker_index()) as xivo:
            await run_scenario(self.scenario, xivo, result=result)

    def repr_failure(  # type: ignore[override]
        self, excinfo: pytest.ExceptionInfo[BaseException]
    ) -> str:
        if isinstance(excinfo.value, ScenarioFailed | ScenarioBroken):
            result = excinfo.value.result
            return f"scenario {result.name!r} {result.status} ({result.file})\n{result.explain()}"
        if isinstance(excinfo.value, ScenarioError):
            return str(excinfo.value)
        return str(super().repr_failure(excinfo))

    def reportinfo(self) -> tuple[Path, int | None, str]:
        where = self.scenario.location
        line = where.line - 1 if where is not None else None
        return self.path, line, f"scenario: {self.name}"


# --- allure (when allure-pytest is installed) ----------------------------------------------


def _optional(module: str) -> Any:
    try:
        return importlib.import_module(module)
    except ImportError:
        return None


allure: Any = _optional("allure")


def _to_allure(scenario: Scenario, result: ScenarioResult) -> None:
    """The scenario in the allure report: its steps with their status, the parameters of
    its matrix row, the result as JSON, each party's timeline and the WAV evidence."""
    assert allure is not None
    allure.dynamic.title(result.name)
    if scenario.description:
        allure.dynamic.description(scenario.description)
    allure.dynamic.feature(Path(result.file).name)
    for key, value in result.params.items():
        allure.dynamic.parameter(key, value)
    for step in result.steps:
        if step.status is Status.NOT_RUN:
            continue
        title = f"step {step.index}: {step.text.strip().splitlines()[0]}"
        try:
            with allure.step(title):
                allure.attach(step.text, "YAML", allure.attachment_type.TEXT)
                if step.status is not Status.PASSED:
                    raise AssertionError(step.message)
        except AssertionError:
            pass  # recorded as the step's failure; the item fails below
    report = json.dumps(result.to_json(), indent=2, default=str)
    allure.attach(report, "result", allure.attachment_type.JSON)
    for party, lines in result.logs.items():
        allure.attach("\n".join(lines), f"timeline {party}", allure.attachment_type.TEXT)
    for key, pcm in result.recordings.items():
        allure.attach(wav_bytes(pcm), key, attachment_type="audio/wav", extension="wav")


# --- fixtures for Python tests ------------------------------------------------------------------


@pytest.fixture(scope="session")
def xctest_target(pytestconfig: pytest.Config) -> Target:
    """The target of this run (``--xctest-target``, default the built-in simulator)."""
    return pytestconfig.stash[_TARGET]


try:
    import pytest_asyncio
except ImportError:  # the scenario items work without it; the async fixtures need it
    pass
else:

    @pytest_asyncio.fixture
    async def xivo(xctest_target: Target) -> AsyncIterator[Xivo]:
        """The target, opened (a simulator is started) for one test and closed after it."""
        async with Xivo(xctest_target, worker=worker_index()) as opened:
            yield opened

    @pytest_asyncio.fixture
    async def xivo_phone(xivo: Xivo) -> Callable[[str], Awaitable[Party]]:
        """``await xivo_phone("alice")``: the party's phone, logged in and registered; every
        phone is stopped when the test ends."""

        async def make(party: str) -> Party:
            return await xivo.phone(party)

        return make
