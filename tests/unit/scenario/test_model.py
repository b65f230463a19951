"""Model invariants: durations, templates, short forms, frozen nodes, partial-order checks."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from xctest.cti.messages import PhoneEventType
from xctest.phone.events import XcType
from xctest.scenario.model import (
    PARTY_FIELDS,
    PHONE_EVENTS,
    WEBRTC_EVENTS,
    Answer,
    AudioCheck,
    Events,
    HearsDtmf,
    PartyField,
    PartyStep,
    Scenario,
    Sound,
    Template,
    Timeouts,
    parse_duration,
)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("3s", 3.0), ("500ms", 0.5), ("1.5s", 1.5), ("2m", 120.0), ("1min", 60.0), (4, 4.0)],
)
def test_durations(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["3", "3 seconds", "-1s", "0s", True, None, "s"])
def test_bad_durations(text):
    with pytest.raises(ValueError):
        parse_duration(text)


def test_template_round_trip_and_render():
    scenario = Scenario.model_validate(
        {
            "name": "n",
            "parties": ["alice", "carol"],
            "steps": [{"alice": {"dial": "9{carol.number}{{x}}"}}],
        }
    )
    step = scenario.steps[0]
    assert isinstance(step, PartyStep)
    target = step.action.dial  # type: ignore[union-attr]
    assert target.parts == ("9", PartyField(party="carol", field="number"), "{x}")
    assert str(target) == "9{carol.number}{{x}}"
    assert target.literal is None
    assert target.render(lambda f: "1003") == "91003{x}"
    dumped = scenario.model_dump(mode="json")
    assert dumped["steps"][0]["action"]["dial"] == "9{carol.number}{{x}}"


def test_literal_template():
    assert Template(parts=("*10",)).literal == "*10"


def test_short_forms():
    step = PartyStep.model_validate({"bob": "answer"})
    assert step == PartyStep(party="bob", action=Answer())
    check = AudioCheck.model_validate({"party": "a", "hears": "music-on-hold", "for": "2s"})
    assert check.hears is Sound.MUSIC_ON_HOLD and check.for_ == 2.0
    dtmf = AudioCheck.model_validate({"party": "a", "hears": {"dtmf": "1#"}})
    assert dtmf.hears == HearsDtmf(dtmf="1#")


def test_nodes_are_frozen():
    step = PartyStep.model_validate({"bob": "answer"})
    with pytest.raises(ValidationError):
        step.party = "x"  # type: ignore[misc]


def test_unknown_keys_are_refused_with_a_suggestion():
    with pytest.raises(ValidationError, match="did you mean 'action'"):
        Timeouts.model_validate({"actoin": "1s"})


def test_in_order_refuses_after():
    with pytest.raises(ValidationError, match="after/before belong in in_any_order"):
        Events.model_validate(
            {
                "in_order": [
                    {"id": "a", "alice": {"sip": "INVITE"}},
                    {"bob": {"sip": 200}, "after": "a"},
                ]
            }
        )


def test_events_need_something_and_unique_ids():
    with pytest.raises(ValidationError, match="at least one"):
        Events.model_validate({"within": "1s"})
    with pytest.raises(ValidationError, match="two events have the id"):
        Events.model_validate(
            {
                "in_any_order": [
                    {"id": "a", "alice": {"sip": "INVITE"}},
                    {"id": "a", "bob": {"sip": "BYE"}},
                ]
            }
        )


def test_never_takes_no_ids():
    with pytest.raises(ValidationError, match="never event takes no id"):
        Events.model_validate({"never": [{"id": "x", "alice": {"sip": "CANCEL"}}]})


def test_party_names_cannot_be_language_words():
    with pytest.raises(ValidationError, match="word of the language"):
        Scenario.model_validate(
            {"name": "n", "parties": ["expect"], "steps": [{"keep_call_up": 1}]}
        )


def test_event_names_match_the_protocol_enums():
    assert set(PHONE_EVENTS) == {e.value for e in PhoneEventType}
    assert set(WEBRTC_EVENTS) == {e.value for e in XcType}


def test_party_fields_are_user_fields():
    assert "number" in PARTY_FIELDS


def test_event_fields_keep_numbers_and_text_apart():
    events = Events.model_validate(
        {"never": [{"alice": {"sip": 486, "otherDN": "1003", "count": 2, "held": True}}]}
    )
    fields = events.never[0].event.fields
    assert events.never[0].event.name == "486"
    assert fields["otherDN"] == Template(parts=("1003",))
    assert fields["count"] == 2 and fields["held"] is True
