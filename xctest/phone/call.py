"""One call of a virtual phone: its SIP dialog, its WebRTC peer, its hold state, and what was
heard on it (signatures, DTMF digits)."""

from __future__ import annotations

import asyncio
import bisect
import enum
import math
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from xctest.audio.detector import FrameAnalysis, SignatureDetector
from xctest.audio.signature import Signature
from xctest.errors import CallFailed, MediaError, StepTimeout
from xctest.media import AudioSink, MixSource, Peer
from xctest.media.frames import RATE
from xctest.phone.dtmf import Digit, InbandReceiver
from xctest.phone.events import Topic
from xctest.sip.dialog import Dialog
from xctest.sip.message import Request


class CallState(enum.Enum):
    ESTABLISHING = "Establishing"  # outgoing, INVITE sent
    RINGING = "Ringing"  # outgoing, 180/183 received
    SETUP = "Setup"  # incoming, ringing here
    CONNECTED = "Connected"
    TERMINATED = "Terminated"


@dataclass(frozen=True)
class Heard:
    """One analysed 20 ms frame, stamped with loop time."""

    t: float
    analysis: FrameAnalysis


Tap = Callable[[NDArray[np.float32]], None]


def _time(heard: Heard) -> float:
    return heard.t


def _share(window: list[Heard], name: str) -> float:
    if not window:
        return 0.0
    return sum(name in h.analysis.present for h in window) / len(window)


class Call:
    """Handle on one SIP session.  ``sip_call_id`` is the key shared with CTI PhoneEvents.

    ``local_held``: this phone holds the call (its re-INVITE was accepted); ``remote_held``:
    the PBX's last re-INVITE offered sendonly/inactive.  ``digits`` lists the DTMF received
    (SIP INFO and in-band); ``taps`` get every chunk of received audio (conference mixing).
    The last ``keep_audio`` seconds of received samples (read by loop time with ``audio``: MOS,
    tones, WAV evidence) and the last ``keep_frames`` seconds of analysed frames (``heard``:
    who is heard) are kept as rolling buffers, so a check late in a long call measures what
    it just heard and a soak run does not grow without bound (at the defaults, 23 MB of
    samples and, listening for 4 signatures, 23 MB of frames per call).
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
        self.taps: list[Tap] = []
        self.heard: list[Heard] = []
        self.keep_audio = 120.0
        self.keep_frames = 600.0
        self._chunks: deque[tuple[float, NDArray[np.float32]]] = deque()  # (end time, samples)
        self._kept = 0
        self._detector = SignatureDetector(listen_for)
        self._inband = InbandReceiver()
        self._changed = asyncio.Event()
        self._audio_waiters: list[tuple[float, asyncio.Future[None]]] = []
        self._name_waiters: list[tuple[str, float, asyncio.Future[float]]] = []
        peer.on_remote_track = self._listen

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

    def _listen(self, sink: AudioSink) -> None:
        sink.listeners.append(self._on_audio)

    def _on_audio(self, samples: NDArray[np.float32]) -> None:
        now = asyncio.get_running_loop().time()
        self._keep(now, samples)
        for tap in list(self.taps):
            tap(samples)
        for digit, start, end in self._inband.feed(samples, now):
            self.add_digit("inband", digit, start, start=start, end=end)
        frames = self._detector.feed(samples)
        n = len(frames)
        for i, analysis in enumerate(frames):
            # the last completed frame ended "now"; earlier ones 20 ms apart
            self.heard.append(Heard(now - (n - i) * 0.020, analysis))
        self._forget(now)
        if frames and self._name_waiters:
            self._wake_names(self.heard[-n:])
        if frames:
            t_last = self.heard[-1].t
            still = []
            for until, fut in self._audio_waiters:
                if fut.done():
                    continue
                if t_last >= until:
                    fut.set_result(None)
                else:
                    still.append((until, fut))
            self._audio_waiters = still

    def _wake_names(self, fresh: list[Heard]) -> None:
        still = []
        for name, since, fut in self._name_waiters:
            if fut.done():
                continue
            hit = next((h for h in fresh if h.t >= since and name in h.analysis.present), None)
            if hit is not None:
                fut.set_result(hit.t)
            else:
                still.append((name, since, fut))
        self._name_waiters = still

    async def wait_heard(self, name: str, timeout: float = 5.0, since: float = 0.0) -> float:
        """Wait for the first frame (at or after loop time ``since``) where signature ``name``
        is present; returns its time."""
        hit = next((h for h in self.heard if h.t >= since and name in h.analysis.present), None)
        if hit is not None:
            return hit.t
        fut: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        self._name_waiters.append((name, since, fut))
        try:
            return await asyncio.wait_for(fut, timeout)
        except TimeoutError:
            raise StepTimeout(
                f"call {self.sip_call_id}: signature {name!r} in received audio",
                sorted(self.heard_names()),
                timeout,
            ) from None

    async def wait_audio_until(self, t: float, timeout: float) -> None:
        """Wait until audio analysed up to loop time ``t`` (frames keep arriving)."""
        if self.heard and self.heard[-1].t >= t:
            return
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._audio_waiters.append((t, fut))
        try:
            await asyncio.wait_for(fut, timeout)
        except TimeoutError:
            raise MediaError(
                f"call {self.sip_call_id}: no audio analysed up to the window end "
                f"({len(self.heard)} frames heard)"
            ) from None

    async def listen(self, seconds: float, timeout: float | None = None) -> tuple[float, float]:
        """Let ``seconds`` of received audio be analysed; returns the window (t0, t1)."""
        t0 = asyncio.get_running_loop().time()
        t1 = t0 + seconds
        await self.wait_audio_until(t1, timeout if timeout is not None else seconds + 5.0)
        return t0, t1

    def frames(self, t0: float = 0.0, t1: float = math.inf) -> list[Heard]:
        """The analysed frames of loop times [t0, t1).  Frames are stamped back from their
        chunk's arrival, so they are in order to within a chunk: a bisection with a second
        of margin finds the stretch, an exact filter cuts it."""
        lo = bisect.bisect_left(self.heard, t0 - 1.0, key=_time)
        hi = bisect.bisect_right(self.heard, t1 + 1.0, key=_time)
        return [h for h in self.heard[lo:hi] if t0 <= h.t < t1]

    def presence(self, name: str, t0: float = 0.0, t1: float = math.inf) -> float:
        """Fraction of analysed frames in [t0, t1) where signature ``name`` was present."""
        return _share(self.frames(t0, t1), name)

    def heard_names(self, t0: float = 0.0, t1: float = math.inf, share: float = 0.8) -> set[str]:
        """Signatures present in at least ``share`` of the frames of the window."""
        window = self.frames(t0, t1)
        names = {n for h in window for n in h.analysis.present}
        return {n for n in names if _share(window, n) >= share}

    def _forget(self, now: float) -> None:
        """Drop analysed frames older than ``keep_frames`` (in batches of a minute's worth)."""
        if self.heard and self.heard[0].t < now - self.keep_frames - 60.0:
            del self.heard[: bisect.bisect_left(self.heard, now - self.keep_frames, key=_time)]

    def _keep(self, now: float, samples: NDArray[np.float32]) -> None:
        self._chunks.append((now, samples))
        self._kept += samples.size
        limit = int(self.keep_audio * RATE)
        while self._chunks and self._kept - self._chunks[0][1].size >= limit:
            self._kept -= self._chunks.popleft()[1].size

    def audio(self, t0: float = -math.inf, t1: float = math.inf) -> NDArray[np.float32]:
        """The received samples (48 kHz mono float32) of loop times [t0, t1) still kept.

        A chunk's samples are stamped back from its arrival time, as the analysed frames are,
        so ``audio(t0, t1)`` is the sound that ``presence(name, t0, t1)`` judged."""
        parts = []
        for end, chunk in self._chunks:
            start = end - chunk.size / RATE  # loop time of the chunk's first sample
            if end <= t0 or start >= t1:
                continue
            first = max(0, round((t0 - start) * RATE)) if t0 > start else 0
            last = min(chunk.size, round((t1 - start) * RATE)) if t1 < end else chunk.size
            parts.append(chunk[first:last])
        return np.concatenate(parts) if parts else np.zeros(0, dtype=np.float32)

    def recording(self) -> NDArray[np.float32]:
        """All the received audio still kept (the last ``keep_audio`` seconds)."""
        return self.audio()

    def __repr__(self) -> str:
        hold = " held" if self.local_held else ""
        hold += " remote-held" if self.remote_held else ""
        return f"<Call {self.topic.value} {self.sip_call_id} {self.state.value}{hold}>"
