"""A simulator leg: one SIP dialog with one phone, one aiortc peer, one channel.

The simulator anchors media like Asterisk does for WebRTC: every leg terminates ICE/DTLS-SRTP
in the simulator, and a bridge copies decoded audio from one leg's receiver to the other's
sender.
"""

from __future__ import annotations

import asyncio
import enum
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from xctest.audio.resampling import Interpolator
from xctest.audio.signature import SignatureSource
from xctest.media import AudioSink, Peer
from xctest.media.frames import RATE
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
    # what this leg's phone will hear; a little prebuffer absorbs receive jitter
    inbox: AudioPipe = field(default_factory=lambda: AudioPipe(prebuffer=0.03))
    dialog: Dialog | None = None
    answered: bool = False
    ended: bool = False
    acked: asyncio.Event = field(default_factory=asyncio.Event)
    local_sdp: str = ""  # the SDP the simulator last sent on this leg (offer or answer)
    held: bool = False  # the phone put this leg on hold (sendonly/inactive offer)
    feed: Leg | None = None  # where this leg's received audio goes (the bridged leg)
    moh: SignatureSource | None = None  # music on hold played instead of the bridge
    _overlay: NDArray[np.float32] = field(default_factory=lambda: np.zeros(0, np.float32))
    _up: Interpolator | None = None
    after_overlay: Callable[[], None] | None = None  # an overlay was played out

    @property
    def overlaying(self) -> bool:
        """A tone is queued in place of the bridged audio."""
        return bool(self._overlay.size)

    def __call__(self, n: int) -> NDArray[np.float32]:
        """The leg's outgoing audio (the source of its track)."""
        return self.play(n)

    def quiet(self) -> bool:
        """Nothing to play: no music on hold, no tone queued, nothing bridged in."""
        return self.moh is None and not self._overlay.size and self.inbox.empty

    def steady(self) -> SignatureSource | None:
        """Music on hold alone is a pure tone pair (played from a table by the engine)."""
        return self.moh if self.moh is not None and not self._overlay.size else None

    @property
    def call_id(self) -> str:
        return self.invite.call_id

    def play(self, n: int) -> NDArray[np.float32]:
        """The next ``n`` samples towards this leg's phone: music on hold or the bridged
        audio; an overlay (in-band DTMF) still queued replaces it, as a PBX's tone generator
        ducks the bridge (a digit mixed over speech would fail a receiver's energy rule)."""
        base = self.moh.read(n) if self.moh is not None else self.inbox.read(n)
        if not self._overlay.size:
            return base
        k = min(n, self._overlay.size)
        out = base.copy()
        out[:k] = self._overlay[:k]
        self._overlay = self._overlay[k:]
        if not self._overlay.size and self.after_overlay is not None:
            self.after_overlay()
        return out

    def overlay(self, samples: NDArray[np.float32]) -> None:
        """Queue ``samples`` to be played to this leg's phone instead of the bridge (the
        bridge then goes through the decoded path until they are played)."""
        self._overlay = np.concatenate((self._overlay, samples.astype(np.float32)))
        for source in (self.feed,):  # the leg whose audio this leg plays
            if source is not None and source.peer.fast is not None:
                source.peer.fast.relay_to(None)

    def received(self, samples: NDArray[np.float32]) -> None:
        """Audio from this leg's phone: forwarded to the bridged leg, if any."""
        if self.feed is not None:
            self.feed.inbox.write(samples)

    def on_frames(
        self,
        rate: int,
        times: NDArray[np.float64],
        pcm: NDArray[np.int16],
        masks: NDArray[np.uint64],
        rms: NDArray[np.float32],
        missing: NDArray[np.bool_],
    ) -> None:
        """Frames from the media engine: to 48 kHz, then on to the bridged leg."""
        if self.feed is None:
            return
        samples = pcm.reshape(-1).astype(np.float32) * np.float32(1.0 / 32768.0)
        if rate != RATE:
            if self._up is None:
                self._up = Interpolator(RATE // rate)
            samples = self._up(samples)
        self.received(samples)

    def listen(self) -> None:
        """Route this leg's received audio through ``received`` (once the track exists)."""

        def attach(sink: AudioSink) -> None:
            sink.listeners.append(self.received)

        self.peer.on_frames = self.on_frames
        if self.peer.sink is not None:
            attach(self.peer.sink)
        else:
            self.peer.on_remote_track = attach

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
