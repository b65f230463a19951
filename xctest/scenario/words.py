"""The words of the scenario language (actions, events, sounds) and the validation errors
that name the allowed words.  Pure: stdlib, pydantic and xctest leaf modules only.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from typing import Any

from pydantic import (
    ValidationInfo,
)
from pydantic_core import PydanticCustomError

from xctest.errors import SourceLocation
from xctest.yamlsource import MarkedDict, did_you_mean, location_of

# --- words of the language ----------------------------------------------------------------------

BARE_ACTIONS = (
    "answer",
    "reject",
    "hangup",
    "hold",
    "resume",
    "conference",
    "complete_transfer",
    "cancel_transfer",
    "toggle_microphone",
)
VALUE_ACTIONS = ("dial", "attended_transfer", "direct_transfer", "dtmf", "play", "wait_for")
ACTIONS = BARE_ACTIONS + VALUE_ACTIONS
STEP_KEYWORDS = ("expect", "keep_call_up", "include")
PARTY_FIELDS = ("number", "login", "line_name", "firstname", "lastname", "display_name")
PHONE_EVENTS = (
    "EventDialing",
    "EventRinging",
    "EventEstablished",
    "EventOnHold",
    "EventReleased",
    "EventFailure",
)
WEBRTC_EVENTS = (
    "Started",
    "Failed",
    "Registered",
    "Unregistered",
    "Setup",
    "Establishing",
    "Ringing",
    "RemoteMediaAdded",
    "Connected",
    "Terminated",
    "Hold",
    "Resume",
)
SIP_METHODS = ("INVITE", "ACK", "BYE", "CANCEL", "REGISTER", "OPTIONS", "INFO", "REFER", "NOTIFY")
# discriminator tags that appear in pydantic error paths but not in the file
TAGS = frozenset(
    {
        "party-step",
        "expect-step",
        "keep-call-up-step",
        "signal",
        "tone",
        *(f"action:{word}" for word in ACTIONS),
    }
)


class Sound(enum.StrEnum):
    """What a party can hear besides another party."""

    NOTHING = "nothing"
    MUSIC_ON_HOLD = "music-on-hold"
    RINGBACK = "ringback"
    BUSY = "busy"


class Signal(enum.StrEnum):
    """Named signals a party can play."""

    SIGNATURE = "signature"
    SILENCE = "silence"


class EventSource(enum.StrEnum):
    """Where an event comes from."""

    WEBRTC = "webrtc"
    PHONE_EVENT = "phone_event"
    SIP = "sip"


# --- errors raised while validating --------------------------------------------------------------


def _where(at: Any) -> dict[str, Any]:
    where = at if isinstance(at, SourceLocation) else location_of(at)
    if where is None:
        return {}
    return {"file": where.file, "line": where.line, "column": where.column}


def unknown_word(word: str, allowed: Sequence[str], what: str, at: Any = None) -> Exception:
    """A validation error for a word the language does not know, with did-you-mean.

    ``at`` is where the word was written (a ``SourceLocation`` or a loaded value).
    """
    allowed = [str(a) for a in allowed]
    guess = did_you_mean(str(word), allowed)
    message = f"unknown {what} {str(word)!r}" + (f"; did you mean {guess!r}?" if guess else "")
    ctx = {"message": message, "word": str(word), "allowed": ", ".join(allowed), **_where(at)}
    return PydanticCustomError("unknown_word", "{message}", ctx)


def invalid(message: str, at: Any = None) -> Exception:
    """A validation error with our own message, optionally placed at ``at``."""
    return PydanticCustomError("scenario", "{message}", {"message": message, **_where(at)})


def _key_at(data: Any, key: str) -> SourceLocation | None:
    return data.key_locations.get(key) if isinstance(data, MarkedDict) else None


def _parties(info: ValidationInfo) -> tuple[str, ...] | None:
    context = info.context
    if isinstance(context, dict) and "parties" in context:
        return tuple(context["parties"])
    return None


def _check_party(name: str, info: ValidationInfo, at: Any = None) -> None:
    parties = _parties(info)
    if parties is not None and name not in parties:
        raise unknown_word(name, parties, "party", at)
