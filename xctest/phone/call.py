"""One call of a virtual phone: its SIP dialog, its WebRTC peer, its hold state, and what was
heard on it (signatures, DTMF digits)."""

from __future__ import annotations

import asyncio
import enum
import math
from collections.abc import Callable, Sequence

import numpy as np
from numpy.typing import NDArray

from xctest.audio.signature import Signature
from xctest.errors import CallFailed, StepTimeout
from xctest.media import AudioSink, MixSource, Peer
from xctest.phone.dtmf import Digit
from xctest.phone.events import Topic
from xctest.phone.hearing import Hearing, Tap
from xctest.sip.dialog import Dialog
from xctest.sip.message import Request


class CallState(enum.Enum):
    ESTABLISHING = "Establishing"  # outgoing, INVITE sent
    RINGING = "Ringing"  # outgoing, 180/183 received
    SETUP = "Setup"  # incoming, ringing here
    CONNECTED = "Connected"
    TERMINATED = "Terminated"


class Call:
    """Handle on one SIP session.  ``sip_call_id`` is the key shared with CTI PhoneEvents.

    ``local_held``: this phone holds the call (its re-INVITE was accepted); ``remote_held``:
    the PBX's last re-INVITE offered sendonly/inactive.  ``digits`` lists the DTMF received
    (SIP INFO, and in-band once a check asked for it: ``hearing.arm_dtmf``); ``taps`` get the
    received audio at 48 kHz (conference mixing).  ``hearing`` keeps, as rolling buffers, the
    last ``keep_frames`` seconds of analysed frames (who was heard, and which frames that should
    have arrived did not) and the last ``keep_audio`` seconds of samples (MOS, tones, WAV
    evidence), so a check late in a long call measures what it just heard and a soak run does
    not grow without bound (at the defaults and G.711, about 2.5 MB per call).
    """

    def __init__(
        self,
        sip_call_id: str,
        topic: Topic,
        invite: Request,
        peer: Peer,
        listen_for: Sequence[Signature],
        remote_number: str,
        mix: MixSource | None = None,
    ) -> None:
        self.sip_call_id = sip_call_id
        self.topic = topic
        self.invite = invite
        self.peer = peer
        self.remote_number = remote_number
        self.state = CallState.ESTABLISHING if topic is Topic.OUTGOING else CallState.SETUP
        self.dialog: Dialog | None = None
        self.local_tag = ""
        self.final_status = 0
        self.reason = ""
        self.mix = mix
        self.local_sdp = ""  # the SDP this phone last sent (offer or answer)
        self.local_held = False
        self.remote_held = False
        self.reinvite_pending = False
        self.digits: list[Digit] = []
        self.on_digit: Callable[[Call, Digit, dict[str, float]], None] | None = None
        self.hearing = Hearing(listen_for, self._inband_digit)
        self._changed = asyncio.Event()
        peer.on_remote_track = self._listen
        peer.on_frames = self.hearing.on_frames

    # --- state -------------------------------------------------------------------------------

    def set_state(self, state: CallState) -> None:
        self.state = state
        self._changed.set()
        self._changed = asyncio.Event()

    @property
    def is_connected(self) -> bool:
        return self.state is CallState.CONNECTED

    @property
    def is_terminated(self) -> bool:
        return self.state is CallState.TERMINATED

    @property
    def is_held(self) -> bool:
        """This phone holds the call."""
        return self.local_held

    def add_digit(self, source: str, digit: str, t: float, **extra: float) -> Digit:
        """Record a received digit (and tell ``on_digit``)."""
        entry = Digit(source, digit, t)
        self.digits.append(entry)
        if self.on_digit is not None:
            self.on_digit(self, entry, extra)
        return entry

    def digit_string(self, source: str | None = None) -> str:
        """The digits received so far (of one source, or all), in order."""
        return "".join(d.digit for d in self.digits if source is None or d.source == source)

    async def wait_state(self, state: CallState, timeout: float = 10.0) -> None:
        """Wait for ``state``; ``CallFailed`` if the call ends first, ``StepTimeout`` if slow."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while self.state is not state:
            if self.state is CallState.TERMINATED:
                raise CallFailed(
                    f"call {self.sip_call_id} ended ({self.final_status} {self.reason}) "
                    f"before reaching {state.value}",
                    self.final_status,
                    self.reason,
                )
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise StepTimeout(
                    f"call {self.sip_call_id} to reach {state.value}", [self.state.value], timeout
                )
            try:
                await asyncio.wait_for(self._changed.wait(), remaining)
            except TimeoutError:
                continue

    # --- audio -------------------------------------------------------------------------------

    @property
    def taps(self) -> list[Tap]:
        return self.hearing.taps

    @property
    def keep_audio(self) -> float:
        return self.hearing.keep_audio

    @keep_audio.setter
    def keep_audio(self, seconds: float) -> None:
        self.hearing.keep_audio = seconds

    def _listen(self, sink: AudioSink) -> None:
        """aiortc's media path: its decoded audio is analysed by the call."""
        loop = asyncio.get_running_loop()
        sink.listeners.append(lambda samples: self.hearing.on_audio(samples, loop.time()))

    def _inband_digit(self, digit: str, start: float, end: float) -> None:
        self.add_digit("inband", digit, start, start=start, end=end)

    async def wait_heard(self, name: str, timeout: float = 5.0, since: float = 0.0) -> float:
        """Wait for the first frame (at or after loop time ``since``) where signature ``name``
        is present; returns its time."""
        what = f"call {self.sip_call_id}: signature {name!r} in received audio"
        return await self.hearing.wait_heard(name, timeout, since, what)

    async def wait_audio_until(self, t: float, timeout: float) -> None:
        """Wait until audio analysed up to loop time ``t`` (frames keep arriving)."""
        await self.hearing.wait_until(t, timeout, f"call {self.sip_call_id}")

    async def listen(self, seconds: float, timeout: float | None = None) -> tuple[float, float]:
        """Let ``seconds`` of received audio be analysed; returns the window (t0, t1)."""
        t0 = asyncio.get_running_loop().time()
        t1 = t0 + seconds
        await self.wait_audio_until(t1, timeout if timeout is not None else seconds + 5.0)
        return t0, t1

    def presence(self, name: str, t0: float = 0.0, t1: float = math.inf) -> float:
        """Share of the frames that should have arrived in [t0, t1) (lost and late frames
        count) in which signature ``name`` was present."""
        return self.hearing.presence(name, t0, t1)

    def heard_names(self, t0: float = 0.0, t1: float = math.inf, share: float = 0.8) -> set[str]:
        """Signatures present in at least ``share`` of the window's frames."""
        return self.hearing.heard_names(t0, t1, share)

    def loud_share(
        self, quiet_dbfs: float, besides: Sequence[str] = (), t0: float = 0.0, t1: float = math.inf
    ) -> float:
        """Share of the window's frames louder than ``quiet_dbfs`` with none of ``besides``."""
        return self.hearing.loud_share(quiet_dbfs, besides, t0, t1)

    def frame_counts(self, t0: float = 0.0, t1: float = math.inf) -> tuple[int, int]:
        """(frames that should have arrived in [t0, t1), of which lost or late)."""
        return self.hearing.counts(t0, t1)

    def audio(self, t0: float = -math.inf, t1: float = math.inf) -> NDArray[np.float32]:
        """The received samples (48 kHz mono float32) of loop times [t0, t1) still kept: the
        sound that ``presence(name, t0, t1)`` judged."""
        return self.hearing.audio(t0, t1)

    def recording(self) -> NDArray[np.float32]:
        """All the received audio still kept (the last ``keep_audio`` seconds)."""
        return self.audio()

    def __repr__(self) -> str:
        hold = " held" if self.local_held else ""
        hold += " remote-held" if self.remote_held else ""
        return f"<Call {self.topic.value} {self.sip_call_id} {self.state.value}{hold}>"
