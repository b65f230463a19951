"""XUC CTI commands, client -> server (PROTOCOL.md §2): models, their table and codec.

Built on the shared field codec of ``xctest.cti.messages``; absent optional fields are omitted,
never sent as null.  Must stay sans-IO: stdlib and ``xctest.errors`` only.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, ClassVar

from xctest.cti._codec import Notes, Record, dumps, frame_error, parse_object, shape_error
from xctest.errors import CtiProtocolError

_FRAME_KEYS = ("claz", "command")


class Command(Record):
    """A client -> server frame: ``{"claz":"web","command":COMMAND, ...fields}``."""

    COMMAND: ClassVar[str] = ""

    def _frame(self) -> dict[str, Any]:
        return {"claz": "web", "command": self.COMMAND, **self._dump()}

    def arguments(self) -> dict[str, Any]:
        """The command's arguments as they go on the wire (JSON names, no None values)."""
        return self._dump()

    def _problem(self) -> str | None:
        """What makes this command illegal beyond field types, if anything."""
        return None


@dataclass(frozen=True)
class Ping(Command):
    """Heartbeat ``{"claz":"ping"}`` (§1.4); no ``command``."""

    def _frame(self) -> dict[str, Any]:
        return {"claz": "ping"}


@dataclass(frozen=True)
class Dial(Command):
    COMMAND = "dial"
    destination: str
    variables: Mapping[str, str] | None = field(default=None, hash=False)


@dataclass(frozen=True)
class DialByUsername(Command):
    COMMAND = "dialByUsername"
    username: str


@dataclass(frozen=True)
class Originate(Command):
    COMMAND = "originate"
    destination: str


@dataclass(frozen=True)
class Answer(Command):
    COMMAND = "answer"
    unique_id: str | None = None


@dataclass(frozen=True)
class Hangup(Command):
    COMMAND = "hangup"
    unique_id: str | None = None


@dataclass(frozen=True)
class Hold(Command):
    """Toggles hold/resume of the call."""

    COMMAND = "hold"
    unique_id: str | None = None


@dataclass(frozen=True)
class DirectTransfer(Command):
    COMMAND = "directTransfer"
    destination: str


@dataclass(frozen=True)
class AttendedTransfer(Command):
    COMMAND = "attendedTransfer"
    destination: str
    device: str | None = None  # meaning unconfirmed (PROTOCOL.md Q6)


@dataclass(frozen=True)
class CompleteTransfer(Command):
    COMMAND = "completeTransfer"


@dataclass(frozen=True)
class CancelTransfer(Command):
    COMMAND = "cancelTransfer"


@dataclass(frozen=True)
class Conference(Command):
    COMMAND = "conference"  # server behaviour unconfirmed (PROTOCOL.md Q7)


@dataclass(frozen=True)
class ToggleMicrophone(Command):
    COMMAND = "toggleMicrophone"
    unique_id: str | None = None


@dataclass(frozen=True)
class SendDtmf(Command):
    COMMAND = "sendDtmf"
    key: str

    def _problem(self) -> str | None:
        if len(self.key) == 1:
            return None
        return f'field "key" must be exactly one character, got {len(self.key)}'


@dataclass(frozen=True)
class SetData(Command):
    COMMAND = "setData"
    variables: Mapping[str, str] = field(hash=False)


@dataclass(frozen=True)
class GetConfig(Command):
    COMMAND = "getConfig"
    object_type: str = "line"


@dataclass(frozen=True)
class GetIceConfig(Command):
    COMMAND = "getIceConfig"


@dataclass(frozen=True)
class GetCurrentCallsPhoneEvents(Command):
    COMMAND = "getCurrentCallsPhoneEvents"


@dataclass(frozen=True)
class UnknownCommand(Command):
    """A well-formed ``claz:"web"`` frame whose command is not in ``COMMAND_CLASSES``."""

    command: str
    fields: Mapping[str, Any] = field(default_factory=dict, hash=False)

    def _frame(self) -> dict[str, Any]:
        rest = {key: value for key, value in self.fields.items() if key not in _FRAME_KEYS}
        return {"claz": "web", "command": self.command, **rest}


COMMAND_CLASSES: Mapping[str, type[Command]] = MappingProxyType(
    {
        cls.COMMAND: cls
        for cls in (
            Dial, DialByUsername, Originate, Answer, Hangup, Hold, DirectTransfer,
            AttendedTransfer, CompleteTransfer, CancelTransfer, Conference, ToggleMicrophone,
            SendDtmf, SetData, GetConfig, GetIceConfig, GetCurrentCallsPhoneEvents,
        )
    }
)  # fmt: skip


def encode_command(cmd: Command) -> str:
    """One compact JSON text frame; ``ValueError`` if the command is illegal (a bad DTMF key)."""
    problem = cmd._problem()
    if problem:
        raise ValueError(f'CTI command "{cmd.COMMAND}" {problem}')
    return dumps(cmd._frame())


def decode_command(text: str, notes: Notes = None) -> Command:
    """Parse one client frame; ``CtiProtocolError`` names the problem and quotes the frame.
    A mistyped field that converts without loss is taken converted and said in ``notes``."""
    obj = parse_object(text)
    if "claz" not in obj:
        raise frame_error('CTI frame has no "claz"', text)
    claz = obj["claz"]
    if claz == "ping":
        return Ping()
    if claz != "web":
        shown = json.dumps(claz, ensure_ascii=False)
        raise frame_error(f'CTI frame has unknown claz {shown} (expected "web" or "ping")', text)
    if "command" not in obj:
        raise frame_error('CTI command frame has no "command"', text)
    command = obj["command"]
    if not isinstance(command, str):
        problem = shape_error("CTI command frame", "command", "a string", command)
        raise frame_error(str(problem), text)
    cls = COMMAND_CLASSES.get(command)
    if cls is None:
        fields = {key: value for key, value in obj.items() if key not in _FRAME_KEYS}
        return UnknownCommand(command, fields)
    what = f'CTI command "{command}"'
    try:
        cmd = cls._load(obj, what, "", notes)
    except CtiProtocolError as exc:
        raise frame_error(str(exc), text) from None
    trouble = cmd._problem()
    if trouble:
        raise frame_error(f"{what} {trouble}", text)
    return cmd
