"""XUC CTI websocket frames (PROTOCOL.md §1.3, §2, §3): the one JSON codec of both ends.

Server -> client message models live here; the client -> server commands live in
``xctest.cti.commands`` and are re-exported, so every frame type is importable from this module.
Must stay sans-IO: stdlib and ``xctest.errors`` only.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, ClassVar, Self

from xctest.cti._codec import (
    Notes,
    Record,
    dumps,
    frame_error,
    json_key,
    parse_object,
    plain,
    shape_error,
)
from xctest.cti.commands import (
    COMMAND_CLASSES,
    Answer,
    AttendedTransfer,
    CancelTransfer,
    Command,
    CompleteTransfer,
    Conference,
    Dial,
    DialByUsername,
    DirectTransfer,
    GetConfig,
    GetCurrentCallsPhoneEvents,
    GetIceConfig,
    Hangup,
    Hold,
    Originate,
    Ping,
    SendDtmf,
    SetData,
    ToggleMicrophone,
    UnknownCommand,
    decode_command,
    encode_command,
)
from xctest.errors import CtiProtocolError

__all__ = [
    "COMMAND_CLASSES",
    "Answer",
    "AttendedTransfer",
    "CancelTransfer",
    "Command",
    "CompleteTransfer",
    "Conference",
    "Dial",
    "DialByUsername",
    "DirectTransfer",
    "GetConfig",
    "GetCurrentCallsPhoneEvents",
    "GetIceConfig",
    "Hangup",
    "Hold",
    "Originate",
    "Ping",
    "SendDtmf",
    "SetData",
    "ToggleMicrophone",
    "UnknownCommand",
    "decode_command",
    "encode_command",
    "Message",
    "LoggedOn",
    "UserConfigUpdate",
    "LineConfig",
    "IceServer",
    "IceConfig",
    "PhoneEventType",
    "CallDirection",
    "PhoneEvent",
    "CurrentCallsPhoneEvents",
    "WebRTCCommand",
    "WebRTCCmd",
    "CtiError",
    "LinkStatusUpdate",
    "RightProfile",
    "UnknownMessage",
    "MESSAGE_CLASSES",
    "ERR_INVALID_JSON",
    "ERR_UNKNOWN_COMMAND",
    "ERR_BAD_COMMAND",
    "ERR_NO_SUCH_CALL",
    "ERR_NOT_ALLOWED",
    "encode_message",
    "decode_message",
]


class Message(Record):
    """A server -> client frame: ``{"msgType":MSG_TYPE,"ctiMessage":<payload>}``."""

    MSG_TYPE: ClassVar[str] = ""

    def to_payload(self) -> Any:
        """The ``ctiMessage`` value as JSON-ready data."""
        return self._dump()

    @classmethod
    def from_payload(cls, payload: Any, notes: Notes = None) -> Self:
        """Build from a decoded ``ctiMessage``; ``CtiProtocolError`` names the bad field;
        lossless conversions of mistyped fields are written into ``notes``."""
        what = f'CTI message "{cls.MSG_TYPE}"'
        if not isinstance(payload, dict):
            raise shape_error(what, "ctiMessage", "an object", payload)
        return cls._load(payload, what, "", notes)

    def wire_type(self) -> str:
        """The ``msgType`` this message travels under."""
        return self.MSG_TYPE


@dataclass(frozen=True)
class LoggedOn(Message):
    """Login accepted.  Payload content unconfirmed (PROTOCOL.md Q10): kept as given."""

    MSG_TYPE = "LoggedOn"
    payload: Mapping[str, Any] = field(default_factory=dict, hash=False)

    @classmethod
    def from_payload(cls, payload: Any, notes: Notes = None) -> Self:
        if payload is None:  # no ctiMessage at all: accepted, as the content is unknown
            return cls()
        if not isinstance(payload, dict):
            raise shape_error(f'CTI message "{cls.MSG_TYPE}"', "ctiMessage", "an object", payload)
        return cls(payload)

    def _dump(self) -> dict[str, Any]:
        return {key: plain(value) for key, value in self.payload.items()}


@dataclass(frozen=True)
class UserConfigUpdate(Message):
    """User settings; ``fullName: null`` marks a partial (forward/DND-only) update (§3.9)."""

    MSG_TYPE = "UserConfigUpdate"
    KEEP_NULL = True
    user_id: int | None
    full_name: str | None
    first_name: str | None = None
    last_name: str | None = None
    mobile_number: str | None = None
    agent_id: int | None = None
    voice_mail_id: int | None = None
    voice_mail_enabled: bool = False
    na_fwd_enabled: bool = False
    na_fwd_destination: str | None = None
    unc_fwd_enabled: bool = False
    unc_fwd_destination: str | None = None
    busy_fwd_enabled: bool = False
    busy_fwd_destination: str | None = None
    dnd_enabled: bool = False


@dataclass(frozen=True)
class LineConfig(Message):
    """The user's line (§3.6); ``id`` ``-`` means no line."""

    MSG_TYPE = "LineConfig"
    STRICT = frozenset({"password"})
    id: str
    name: str
    password: str  # xc_webrtc throws unless this is a string: never converted (STRICT)
    xivo_ip: str
    sip_proxy_name: str | None = "default"
    sip_port: str | None = None
    web_rtc: bool = True
    has_device: bool = False
    context: str | None = None  # unconfirmed (PROTOCOL.md Q13)
    number: str | None = None  # unconfirmed (PROTOCOL.md Q13)
    vendor: str | None = None

    @property
    def has_line(self) -> bool:
        return self.id != "-"

    @property
    def uses_webrtc(self) -> bool:
        """What CtiProxy checks before starting xc_webrtc."""
        return self.web_rtc and not self.has_device


@dataclass(frozen=True)
class IceServer(Record):
    """One RTCIceServer entry of IceConfig; ``ttl`` (seconds) is for renewal, not the browser."""

    urls: tuple[str, ...]
    username: str | None = None
    credential: str | None = None
    ttl: int | None = None

    @classmethod
    def from_json(cls, obj: Any) -> Self:
        """Decode one entry; ``CtiProtocolError`` names the bad field."""
        return cls._load(obj, "ICE server", "")

    @classmethod
    def _load(cls, obj: Any, what: str, path: str, notes: Notes = None) -> Self:
        # unconfirmed (PROTOCOL.md Q14): "urls" as array or string, or the legacy "url" string
        if isinstance(obj, dict) and "urls" not in obj and obj.get("url") is not None:
            obj = {**obj, "urls": obj["url"]}
        return super()._load(obj, what, path, notes)

    def to_json(self) -> dict[str, Any]:
        return self._dump()

    def to_rtc(self) -> dict[str, Any]:
        """The entry as handed to RTCPeerConnection: without ``ttl``."""
        return {key: value for key, value in self._dump().items() if key != "ttl"}


@dataclass(frozen=True)
class IceConfig(Message):
    """STUN/TURN servers (§3.7); neither present means host candidates only."""

    MSG_TYPE = "IceConfig"
    stun_config: IceServer | None = None
    turn_config: IceServer | None = None

    def servers(self) -> tuple[IceServer, ...]:
        return tuple(s for s in (self.stun_config, self.turn_config) if s is not None)


class PhoneEventType(enum.StrEnum):
    DIALING = "EventDialing"
    RINGING = "EventRinging"
    ESTABLISHED = "EventEstablished"
    ON_HOLD = "EventOnHold"
    RELEASED = "EventReleased"
    FAILURE = "EventFailure"  # unconfirmed (PROTOCOL.md Q2)


class CallDirection(enum.StrEnum):
    # unconfirmed (PROTOCOL.md Q1); a value outside these decodes as the raw string
    INCOMING = "Incoming"
    OUTGOING = "Outgoing"


@dataclass(frozen=True)
class PhoneEvent(Message):
    """A call state change of the user's line (§3.2); unknown event types stay raw strings."""

    MSG_TYPE = "PhoneEvent"
    event_type: PhoneEventType | str
    dn: str = json_key("DN")
    other_dn: str = json_key("otherDN", "")
    other_dname: str = json_key("otherDName", "")
    linked_id: str = ""
    unique_id: str = ""
    call_direction: CallDirection | str | None = None
    queue_name: str | None = None
    user_data: Mapping[str, str] = field(default_factory=dict, hash=False)

    @property
    def sip_call_id(self) -> str | None:
        """SIP Call-ID of the user's own dialog, the join key with xc_webrtc (§5.8)."""
        return self.user_data.get("SIPCALLID")


@dataclass(frozen=True)
class CurrentCallsPhoneEvents(Message):
    MSG_TYPE = "CurrentCallsPhoneEvents"
    events: tuple[PhoneEvent, ...]


class WebRTCCommand(enum.StrEnum):
    ANSWER = "Answer"
    HOLD = "Hold"
    SEND_DTMF = "SendDtmf"
    TOGGLE_MICROPHONE = "ToggleMicrophone"


@dataclass(frozen=True)
class WebRTCCmd(Message):
    """XUC driving the browser (§3.8); ``command`` stays a string so unknown ones survive."""

    MSG_TYPE = "WebRTCCmd"
    command: str
    sip_call_id: str | None = None
    key: str | None = None


# Error codes the simulator sends; names unconfirmed (PROTOCOL.md Q11)
ERR_INVALID_JSON = "InvalidJson"
ERR_UNKNOWN_COMMAND = "UnknownCommand"
ERR_BAD_COMMAND = "BadCommand"
ERR_NO_SUCH_CALL = "NoSuchCall"
ERR_NOT_ALLOWED = "NotAllowed"


@dataclass(frozen=True)
class CtiError(Message):
    """``Error``; payload shape unconfirmed (PROTOCOL.md Q11): ``{"error":..,"message":..}``."""

    MSG_TYPE = "Error"
    error: str
    message: str = ""


@dataclass(frozen=True)
class LinkStatusUpdate(Message):
    """Socket ``opened``/``closed``; generated by the client library, never sent by XUC."""

    MSG_TYPE = "LinkStatusUpdate"
    status: str


@dataclass(frozen=True)
class RightProfile(Message):
    MSG_TYPE = "RightProfile"
    profile: str


@dataclass(frozen=True)
class UnknownMessage(Message):
    """Any ``msgType`` outside ``MESSAGE_CLASSES``; the payload is kept as decoded."""

    msg_type: str
    payload: Any = field(default=None, hash=False)

    def to_payload(self) -> Any:
        return plain(self.payload)

    @classmethod
    def from_payload(cls, payload: Any, notes: Notes = None) -> Self:
        raise TypeError("UnknownMessage has no fixed msgType: construct it directly")

    def wire_type(self) -> str:
        return self.msg_type


MESSAGE_CLASSES: Mapping[str, type[Message]] = MappingProxyType(
    {
        cls.MSG_TYPE: cls
        for cls in (
            LoggedOn, UserConfigUpdate, LineConfig, IceConfig, PhoneEvent,
            CurrentCallsPhoneEvents, WebRTCCmd, CtiError, LinkStatusUpdate, RightProfile,
        )
    }
)  # fmt: skip


def encode_message(msg: Message) -> str:
    """One compact JSON text frame."""
    return dumps({"msgType": msg.wire_type(), "ctiMessage": msg.to_payload()})


def decode_message(text: str, notes: Notes = None) -> Message:
    """Parse one server frame; ``CtiProtocolError`` names the problem and quotes the frame.
    A mistyped field that converts without loss is taken converted and said in ``notes``."""
    obj = parse_object(text)
    if "msgType" not in obj:
        raise frame_error('CTI message has no "msgType"', text)
    msg_type = obj["msgType"]
    if not isinstance(msg_type, str):
        raise frame_error(str(shape_error("CTI message", "msgType", "a string", msg_type)), text)
    cls = MESSAGE_CLASSES.get(msg_type)
    if cls is None:
        return UnknownMessage(msg_type, obj.get("ctiMessage"))
    if "ctiMessage" not in obj and cls is not LoggedOn:
        raise frame_error(f'CTI message "{msg_type}" is missing field "ctiMessage"', text)
    try:
        return cls.from_payload(obj.get("ctiMessage"), notes)
    except CtiProtocolError as exc:
        raise frame_error(str(exc), text) from None
