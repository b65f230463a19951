"""Asterisk-like channels and the AMI-like event stream the simulator's XUC layer listens to.

Pure data and a synchronous fan-out: no I/O.  Each SIP leg of the simulator is one channel with
a ``uniqueId``; the legs of one call share a ``linkedId`` (Asterisk's ``epoch.seq`` ids).
"""

from __future__ import annotations

import enum
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field, replace


class ChannelState(enum.Enum):
    """Asterisk channel states (``Newstate`` ChannelStateDesc) that xctest uses."""

    DOWN = "Down"
    RING = "Ring"  # the caller's channel: dialling out
    RINGING = "Ringing"  # the callee's channel: alerting
    UP = "Up"


@dataclass
class Channel:
    """One leg towards one user's line."""

    unique_id: str
    linked_id: str
    user_login: str
    number: str
    direction: str  # "Outgoing": the user placed it; "Incoming": it rings the user
    other_number: str = ""
    other_name: str = ""
    sip_call_id: str = ""
    state: ChannelState = ChannelState.DOWN
    on_hold: bool = False
    was_up: bool = False
    variables: dict[str, str] = field(default_factory=dict)

    def __repr__(self) -> str:
        return f"<Channel {self.unique_id} {self.user_login} {self.direction} {self.state.value}>"


@dataclass(frozen=True)
class ChannelEvent:
    """AMI-like event: ``name`` is Newchannel, Newstate, Hold, Unhold, NewConnectedLine or
    Hangup; ``channel`` is
    a snapshot taken when it happened (like the fields of an AMI event)."""

    name: str
    channel: Channel
    cause: int = 0  # Q.850 cause on Hangup (16 normal, 17 busy, 1 unallocated, 19 no answer)


Listener = Callable[[ChannelEvent], None]


class ChannelBus:
    """Creates channels with Asterisk-style ids and publishes their state changes."""

    def __init__(self, epoch: int = 1_700_000_000) -> None:
        self._seq = itertools.count(1)
        self._epoch = epoch
        self.listeners: list[Listener] = []
        self.channels: dict[str, Channel] = {}

    def new_id(self) -> str:
        return f"{self._epoch}.{next(self._seq)}"

    def new_channel(self, *, linked_id: str | None = None, **kwargs: object) -> Channel:
        unique_id = self.new_id()
        chan = Channel(unique_id=unique_id, linked_id=linked_id or unique_id, **kwargs)  # type: ignore[arg-type]
        self.channels[unique_id] = chan
        self._publish(ChannelEvent("Newchannel", chan))
        return chan

    def set_state(self, chan: Channel, state: ChannelState) -> None:
        if chan.state is not state:
            chan.state = state
            chan.was_up = chan.was_up or state is ChannelState.UP
            self._publish(ChannelEvent("Newstate", chan))

    def set_hold(self, chan: Channel, held: bool) -> None:
        if chan.on_hold is not held:
            chan.on_hold = held
            self._publish(ChannelEvent("Hold" if held else "Unhold", chan))

    def set_connected(self, chan: Channel, number: str, name: str) -> None:
        """The other party changed (a transfer): ``NewConnectedLine``."""
        if (chan.other_number, chan.other_name) != (number, name):
            chan.other_number, chan.other_name = number, name
            self._publish(ChannelEvent("NewConnectedLine", chan))

    def hangup(self, chan: Channel, cause: int = 16) -> None:
        if self.channels.pop(chan.unique_id, None) is not None:
            self._publish(ChannelEvent("Hangup", chan, cause))

    def _publish(self, event: ChannelEvent) -> None:
        chan = event.channel
        event = ChannelEvent(event.name, replace(chan, variables=dict(chan.variables)), event.cause)
        for listener in list(self.listeners):
            listener(event)

    def channels_of(self, login: str) -> list[Channel]:
        return [c for c in self.channels.values() if c.user_login == login]
