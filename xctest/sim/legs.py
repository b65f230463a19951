"""A simulator leg: one SIP dialog with one phone, one aiortc peer, one channel.

The simulator anchors media like Asterisk does for WebRTC: every leg terminates ICE/DTLS-SRTP
in the simulator, and a bridge copies decoded audio from one leg's receiver to the other's
sender.
"""

from __future__ import annotations

import asyncio
import enum
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from xctest.media import Peer
from xctest.media.pipe import AudioPipe
from xctest.sim.channels import Channel
from xctest.sip.dialog import Dialog
from xctest.sip.message import Request

if TYPE_CHECKING:
    from xctest.sim.sip_server import SipConnection


class LegRole(enum.Enum):
    INBOUND = "inbound"  # the phone sent us the INVITE (we are UAS)
    OUTBOUND = "outbound"  # we sent the INVITE to the phone (we are UAC)


@dataclass(eq=False)
class Leg:
    conn: SipConnection
    role: LegRole
    channel: Channel
    peer: Peer
    invite: Request
    local_tag: str
    inbox: AudioPipe = field(default_factory=AudioPipe)  # what this leg's phone will hear
    dialog: Dialog | None = None
    answered: bool = False
    ended: bool = False
    acked: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def call_id(self) -> str:
        return self.invite.call_id

    def __repr__(self) -> str:
        return f"<Leg {self.role.value} {self.channel.user_login} call_id={self.call_id}>"


@dataclass(eq=False)
class Bridge:
    """Two legs of one call: ``a`` placed it, ``b`` was rung."""

    a: Leg
    b: Leg
    established: bool = False
    ended: bool = False

    def other(self, leg: Leg) -> Leg:
        return self.b if leg is self.a else self.a

    def __repr__(self) -> str:
        state = "ended" if self.ended else ("up" if self.established else "setup")
        return f"<Bridge {self.a.channel.number}->{self.b.channel.number} {state}>"
