"""The scenario language as frozen pydantic models: one schema for loading and for editors.

Every node remembers where it was written (``node.location``).  Short forms (``bob: answer``,
``audio: {alice: {hears: bob}}``) are normalised here.  Pure: imports only the stdlib,
pydantic and leaf modules of xctest; no asyncio, no actors.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, ClassVar

from pydantic import (
    BeforeValidator,
    Discriminator,
    Field,
    Tag,
    ValidationInfo,
    field_validator,
)

from xctest.scenario.expect import (
    AudioCheck,
    Bound,
    EventMatch,
    EventPattern,
    Events,
    Expectations,
    HearsDtmf,
    MosCheck,
    QualityCheck,
    TimingCheck,
)
from xctest.scenario.values import (
    Duration,
    Node,
    PartyField,
    Scalar,
    Template,
    Text,
    _marked,
    parse_duration,
    parse_template,
)
from xctest.scenario.words import (
    ACTIONS,
    BARE_ACTIONS,
    PARTY_FIELDS,
    PHONE_EVENTS,
    SIP_METHODS,
    STEP_KEYWORDS,
    TAGS,
    VALUE_ACTIONS,
    WEBRTC_EVENTS,
    EventSource,
    Signal,
    Sound,
    _key_at,
    _parties,
    invalid,
    unknown_word,
)
from xctest.yamlsource import location_of

# --- actions -------------------------------------------------------------------------------------


class Action(Node):
    """What a party does; ``timeout`` overrides the scenario's action timeout."""

    what: ClassVar[str] = "action key"
    word: ClassVar[str] = ""

    timeout: Duration | None = None


def _target(value: Any, info: ValidationInfo) -> Any:
    """A party name stands for that party's number; digits and templates stay as written."""
    parties = _parties(info)
    if isinstance(value, str) and "{" not in value and not re.fullmatch(r"[0-9*#+]+", value):
        if parties is None or value in parties:
            return f"{{{value}.number}}"
        raise unknown_word(value, parties, "party or number", value)
    return value


Target = Annotated[Text, BeforeValidator(_target)]


class Answer(Action):
    word: ClassVar[str] = "answer"
    answer: None = None


class Reject(Action):
    word: ClassVar[str] = "reject"
    reject: None = None


class Hangup(Action):
    word: ClassVar[str] = "hangup"
    hangup: None = None


class Hold(Action):
    word: ClassVar[str] = "hold"
    hold: None = None


class Resume(Action):
    word: ClassVar[str] = "resume"
    resume: None = None


class Conference(Action):
    word: ClassVar[str] = "conference"
    conference: None = None


class CompleteTransfer(Action):
    word: ClassVar[str] = "complete_transfer"
    complete_transfer: None = None


class CancelTransfer(Action):
    word: ClassVar[str] = "cancel_transfer"
    cancel_transfer: None = None


class ToggleMicrophone(Action):
    word: ClassVar[str] = "toggle_microphone"
    toggle_microphone: None = None


class Dial(Action):
    """``dial: bob`` (bob's number), ``dial: "*10"`` or ``dial: "{carol.number}"``."""

    word: ClassVar[str] = "dial"
    dial: Target


class AttendedTransfer(Action):
    word: ClassVar[str] = "attended_transfer"
    attended_transfer: Target


class DirectTransfer(Action):
    word: ClassVar[str] = "direct_transfer"
    direct_transfer: Target


class SendDtmf(Action):
    word: ClassVar[str] = "dtmf"
    dtmf: str = Field(pattern=r"^[0-9A-D*#]+$")


class Tone(Node):
    """``{tone: 1000, level: -12, for: 2s}``."""

    what: ClassVar[str] = "tone key"

    tone: float = Field(gt=0, lt=8000, description="frequency, Hz")
    level: float = Field(default=-12.0, le=0.0, description="dBFS")
    for_: Duration | None = Field(default=None, alias="for")


class Play(Action):
    """``play: signature`` (default signal of the party), ``play: silence`` or a tone."""

    word: ClassVar[str] = "play"
    play: Annotated[
        Annotated[Signal, Tag("signal")] | Annotated[Tone, Tag("tone")],
        Discriminator(lambda v: "tone" if isinstance(v, dict | Tone) else "signal"),
    ]


class WaitFor(Action):
    """``wait_for: {phone_event: EventRinging}``: block until the party sees it."""

    word: ClassVar[str] = "wait_for"
    wait_for: EventPattern


ACTION_MODELS: dict[str, type[Action]] = {
    m.word: m
    for m in (
        Answer,
        Reject,
        Hangup,
        Hold,
        Resume,
        Conference,
        CompleteTransfer,
        CancelTransfer,
        ToggleMicrophone,
        Dial,
        AttendedTransfer,
        DirectTransfer,
        SendDtmf,
        Play,
        WaitFor,
    )
}


def _action_word(data: Any) -> str | None:
    if isinstance(data, Action):
        return f"action:{data.word}"
    if isinstance(data, dict):
        word = next((k for k in data if k in ACTION_MODELS), None)
        return f"action:{word}" if word else None
    return None


ActionUnion = Annotated[
    Annotated[Answer, Tag("action:answer")]
    | Annotated[Reject, Tag("action:reject")]
    | Annotated[Hangup, Tag("action:hangup")]
    | Annotated[Hold, Tag("action:hold")]
    | Annotated[Resume, Tag("action:resume")]
    | Annotated[Conference, Tag("action:conference")]
    | Annotated[CompleteTransfer, Tag("action:complete_transfer")]
    | Annotated[CancelTransfer, Tag("action:cancel_transfer")]
    | Annotated[ToggleMicrophone, Tag("action:toggle_microphone")]
    | Annotated[Dial, Tag("action:dial")]
    | Annotated[AttendedTransfer, Tag("action:attended_transfer")]
    | Annotated[DirectTransfer, Tag("action:direct_transfer")]
    | Annotated[SendDtmf, Tag("action:dtmf")]
    | Annotated[Play, Tag("action:play")]
    | Annotated[WaitFor, Tag("action:wait_for")],
    Discriminator(_action_word),
]


# --- steps ---------------------------------------------------------------------------------------


class PartyStep(Node):
    """``- bob: answer`` or ``- alice: {dial: bob, timeout: 20s}``."""

    what: ClassVar[str] = "step key"

    party: str
    action: ActionUnion

    @classmethod
    def normalise(cls, data: Any, info: ValidationInfo) -> Any:
        if not isinstance(data, dict):
            raise invalid(f"a step is a mapping such as 'alice: answer', not {data!r}")
        if "party" in data and "action" in data:
            return data
        if len(data) != 1:
            raise invalid(
                "a step has one key: a party, or one of "
                f"{', '.join(STEP_KEYWORDS)}; found {', '.join(data) or 'none'}"
            )
        party, body = next(iter(data.items()))
        parties = _parties(info)
        if parties is not None and party not in parties:
            raise unknown_word(
                party, (*parties, *STEP_KEYWORDS), "party or step", _key_at(data, party)
            )
        where = _key_at(data, party)
        if isinstance(body, str):
            if body not in BARE_ACTIONS:
                raise unknown_word(body, ACTIONS, "action", body)
            body = _marked({body: None}, location_of(body))
        elif isinstance(body, dict):
            words = [k for k in body if k != "timeout"]
            for word in words:
                if word not in ACTIONS:
                    raise unknown_word(word, ACTIONS, "action", _key_at(body, word))
            if len(words) != 1:
                raise invalid(f"{party} does one thing per step; found {', '.join(words)}", body)
        else:
            raise invalid(f"what does {party} do? write e.g. '{party}: answer'", where)
        return _marked({"party": party, "action": body}, where)


class ExpectStep(Node):
    """``- expect: {events: ..., audio: ..., timings: ..., mos: ...}``."""

    what: ClassVar[str] = "step key"

    expect: Expectations


class KeepCallUp(Node):
    """``- keep_call_up: 30s``: the only plain pause; the call stays up for that long."""

    what: ClassVar[str] = "step key"

    keep_call_up: Duration


def _step_kind(data: Any) -> str:
    if isinstance(data, ExpectStep) or (isinstance(data, dict) and "expect" in data):
        return "expect-step"
    if isinstance(data, KeepCallUp) or (isinstance(data, dict) and "keep_call_up" in data):
        return "keep-call-up-step"
    return "party-step"


Step = Annotated[
    Annotated[PartyStep, Tag("party-step")]
    | Annotated[ExpectStep, Tag("expect-step")]
    | Annotated[KeepCallUp, Tag("keep-call-up-step")],
    Discriminator(_step_kind),
]


# --- the scenario --------------------------------------------------------------------------------


class Timeouts(Node):
    """Defaults for every step that does not say otherwise."""

    what: ClassVar[str] = "timeout"

    action: Duration = 10.0
    events: Duration = 5.0
    audio: Duration = 2.0


class Scenario(Node):
    """One scenario, variables substituted and includes expanded; ``params`` is the row of
    the matrix it was made from."""

    what: ClassVar[str] = "scenario key"

    name: str = Field(min_length=1)
    description: str = ""
    parties: tuple[str, ...] = Field(min_length=1)
    timeouts: Timeouts = Field(default_factory=Timeouts)
    params: dict[str, str | int | float | bool] = Field(default_factory=dict)
    steps: tuple[Step, ...] = Field(min_length=1)

    @field_validator("parties")
    @classmethod
    def _party_names(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        reserved = {*STEP_KEYWORDS, *tuple(Sound), "party"}
        for name in value:
            if name in reserved:
                raise invalid(f"{name!r} is a word of the language, not a party name")
        if len(set(value)) != len(value):
            raise invalid("a party is listed twice")
        return value


__all__ = [
    "ACTIONS",
    "ACTION_MODELS",
    "Action",
    "ActionUnion",
    "Answer",
    "AttendedTransfer",
    "AudioCheck",
    "BARE_ACTIONS",
    "Bound",
    "CancelTransfer",
    "CompleteTransfer",
    "Conference",
    "Dial",
    "DirectTransfer",
    "Duration",
    "EventMatch",
    "EventPattern",
    "EventSource",
    "Events",
    "ExpectStep",
    "Expectations",
    "Hangup",
    "HearsDtmf",
    "Hold",
    "KeepCallUp",
    "MosCheck",
    "QualityCheck",
    "Node",
    "PARTY_FIELDS",
    "PHONE_EVENTS",
    "PartyField",
    "PartyStep",
    "Play",
    "Reject",
    "Resume",
    "SIP_METHODS",
    "STEP_KEYWORDS",
    "Scalar",
    "Scenario",
    "SendDtmf",
    "Signal",
    "Sound",
    "Step",
    "TAGS",
    "Target",
    "Template",
    "Text",
    "Timeouts",
    "TimingCheck",
    "ToggleMicrophone",
    "Tone",
    "VALUE_ACTIONS",
    "WEBRTC_EVENTS",
    "WaitFor",
    "invalid",
    "parse_duration",
    "parse_template",
    "unknown_word",
]
