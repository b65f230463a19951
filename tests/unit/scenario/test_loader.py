"""Scenario loading: every good file loads; every bad file fails with its exact error text."""

from __future__ import annotations

from pathlib import Path

import pytest

from xctest.errors import (
    ScenarioError,
    ScenarioSchemaError,
    ScenarioSyntaxError,
    SourceLocation,
    UnknownStepError,
    VariableError,
)
from xctest.scenario import load_scenario_text, load_scenarios
from xctest.scenario.model import Dial, ExpectStep, PartyField, PartyStep, Template

DATA = Path(__file__).resolve().parents[2] / "data"
GOOD = sorted((DATA / "scenarios_good").glob("*.scenario.yaml"))
BAD = sorted((DATA / "scenarios_bad").glob("*.scenario.yaml"))


@pytest.mark.parametrize("path", GOOD, ids=[p.name for p in GOOD])
def test_good_scenarios_load(path):
    scenarios = load_scenarios(path)
    assert scenarios
    for scenario in scenarios:
        assert all(step.location is not None for step in scenario.steps)


@pytest.mark.parametrize("path", BAD, ids=[p.name for p in BAD])
def test_bad_scenarios_fail_with_the_expected_text(path, monkeypatch):
    monkeypatch.chdir(path.parent)
    expected = path.with_name(path.name.replace(".scenario.yaml", ".expected"))
    with pytest.raises(ScenarioError) as info:
        load_scenarios(path.name)
    assert str(info.value) + "\n" == expected.read_text(encoding="utf-8")
    assert info.value.location is not None
    assert info.value.location.file == path.name


def test_every_bad_file_has_its_expected_text():
    assert BAD
    for path in BAD:
        assert path.with_name(path.name.replace(".scenario.yaml", ".expected")).exists()


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("bad_yaml", ScenarioSyntaxError),
        ("duplicate_key", ScenarioSyntaxError),
        ("misspelt_action", UnknownStepError),
        ("unknown_variable", VariableError),
        ("bad_duration", ScenarioSchemaError),
    ],
)
def test_error_classes(name, kind):
    with pytest.raises(kind):
        load_scenarios(DATA / "scenarios_bad" / f"{name}.scenario.yaml")


def test_unknown_step_error_lists_the_allowed_words():
    with pytest.raises(UnknownStepError) as info:
        load_scenarios(DATA / "scenarios_bad" / "misspelt_action.scenario.yaml")
    assert info.value.word == "anwser"
    assert "answer" in info.value.allowed
    assert "dial" in info.value.allowed


def test_locations_point_at_the_step_lines():
    path = DATA / "scenarios_good" / "attended_transfer.scenario.yaml"
    scenario = load_scenarios(path)[0]
    lines = path.read_text().splitlines()
    for step in scenario.steps:
        assert step.location is not None
        assert step.location.file == str(path)
        line = lines[step.location.line - 1]
        word = step.party if isinstance(step, PartyStep) else next(iter(type(step).keys()))
        assert line[step.location.column - 1 :].startswith(word)


def test_party_fields_stay_typed_and_targets_become_numbers():
    scenario = load_scenarios(DATA / "scenarios_good" / "attended_transfer.scenario.yaml")[0]
    dial = scenario.steps[0]
    assert isinstance(dial, PartyStep) and isinstance(dial.action, Dial)
    assert dial.action.dial == Template(parts=(PartyField(party="bob", field="number"),))
    expect = scenario.steps[8]
    assert isinstance(expect, ExpectStep) and expect.expect.events is not None
    other = expect.expect.events.in_order[1].event.fields["otherDN"]
    assert str(other) == "{carol.number}"


def test_matrix_blocks_and_defaults_expand():
    scenarios = load_scenarios(DATA / "scenarios_good" / "matrix_and_blocks.scenario.yaml")
    assert [s.name for s in scenarios] == [
        "call bob and send 42#[callee=bob]",
        "call carol and send 42#[callee=carol]",
        "explicit rows[caller=alice,callee=bob]",
        "explicit rows[caller=carol,callee=alice]",
    ]
    first = scenarios[0]
    assert first.params == {"callee": "bob"}
    assert first.parties == ("alice", "bob", "carol")
    assert [getattr(s, "party", None) for s in first.steps[:2]] == ["alice", "bob"]
    included = first.steps[4]
    assert included.location is not None
    assert included.location.file.endswith("shared/common.steps.yaml")
    assert scenarios[3].steps[0].party == "carol"  # type: ignore[union-attr]


def test_whole_variable_keeps_its_type():
    text = (
        "name: n\nparties: [alice, bob]\nvars: {d: 2.5}\n"
        "steps:\n  - alice: {dial: bob}\n  - keep_call_up: '{d}'\n"
    )
    scenario = load_scenario_text(text, "x.scenario.yaml")[0]
    assert scenario.steps[1].keep_call_up == 2.5  # type: ignore[union-attr]


def test_include_cycle_is_reported():
    text = "name: n\nparties: [alice]\nblocks:\n  a:\n    - include: a\nsteps:\n  - include: a\n"
    with pytest.raises(VariableError, match="too deep"):
        load_scenario_text(text, "x.scenario.yaml")


def test_unreadable_file():
    with pytest.raises(ScenarioError, match="cannot read"):
        load_scenarios(DATA / "no-such.scenario.yaml")


def test_top_level_must_be_a_mapping():
    with pytest.raises(ScenarioSchemaError) as info:
        load_scenario_text("- a\n- b\n", "x.scenario.yaml")
    assert info.value.location == SourceLocation("x.scenario.yaml", 1, 1)


def test_unknown_file_key_with_scenarios_list():
    text = "defaults: {parties: [alice]}\nscenario:\n  - name: x\nscenarios: []\n"
    with pytest.raises(UnknownStepError, match="did you mean 'scenarios'"):
        load_scenario_text(text, "x.scenario.yaml")


def test_yaml_marks_and_snippet():
    from xctest.yamlsource import MarkedDict, load_yaml, locate, snippet

    data = load_yaml("a:\n  - x: 1\n  - y: two\n", "f.yaml")
    assert isinstance(data, MarkedDict)
    assert data["a"][1]["y"].location == SourceLocation("f.yaml", 3, 8)
    top = SourceLocation("f.yaml", 1, 1)
    assert locate(data, ("a", 1, "y"), top) == SourceLocation("f.yaml", 3, 5)
    assert locate(data, ("a", 5), top) == SourceLocation("f.yaml", 1, 1)
    assert snippet("one\ntwo\n", 2, 3) == "  1 | one\n> 2 | two\n    |   ^"
    assert snippet("one\n", 9, 1) == ""
