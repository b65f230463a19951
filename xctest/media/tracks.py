"""aiortc tracks: ``SignalTrack`` plays numpy audio paced by the shared media clock;
``AudioSink`` reads a remote track, normalises it to 48 kHz mono float32 and hands it to
listeners (recorder, detectors, bridges).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

import av
import numpy as np
from aiortc import MediaStreamTrack
from aiortc.mediastreams import MediaStreamError
from numpy.typing import NDArray

from xctest.errors import MediaError
from xctest.media.clock import MediaClock
from xctest.media.frames import RATE, Resampler, to_frame

log = logging.getLogger(__name__)

Source = Callable[[int], NDArray[np.float32]]
Listener = Callable[[NDArray[np.float32]], None]


class SignalTrack(MediaStreamTrack):
    """An outgoing audio track: each 20 ms tick it pulls ``n`` samples from ``source``.

    ``muted`` (the microphone toggle) and ``held`` (the call is on hold) each send silence and
    are kept apart, so resuming a call does not unmute it; ``source=None`` also sends silence.
    """

    kind = "audio"

    def __init__(self, source: Source | None = None, clock: MediaClock | None = None) -> None:
        super().__init__()
        self.source = source
        self.muted = False
        self.held = False
        self._clock = clock
        self._start: float | None = None
        self._n = 0
        self.frames_sent = 0

    async def recv(self) -> av.AudioFrame:
        if self.readyState != "live":
            raise MediaStreamError
        clock = self._clock or MediaClock.current()
        self._clock = clock
        samples_per_frame = int(RATE * clock.ptime)
        if self._start is None:
            self._start = clock.next_tick_time()
        await clock.wait_until(self._start + self._n * clock.ptime)
        if self.source is None or self.muted or self.held:
            samples = np.zeros(samples_per_frame, dtype=np.float32)
        else:
            samples = self.source(samples_per_frame)
        frame = to_frame(samples, pts=self._n * samples_per_frame)
        self._n += 1
        self.frames_sent += 1
        return frame

    def __repr__(self) -> str:
        return (
            f"<SignalTrack {self.readyState} muted={self.muted} held={self.held} "
            f"sent={self.frames_sent}>"
        )


class ParkedTrack(MediaStreamTrack):
    """The track aiortc's sender is given when the media engine carries the leg: it yields no
    frame, so aiortc never sends RTP on the SSRC the engine uses.  ``release(track)`` hands
    aiortc a real track after all (the engine could not take the leg)."""

    kind = "audio"

    def __init__(self) -> None:
        super().__init__()
        self._go = asyncio.Event()
        self._target: MediaStreamTrack | None = None

    def release(self, track: MediaStreamTrack) -> None:
        self._target = track
        self._go.set()

    async def recv(self) -> av.AudioFrame:
        await self._go.wait()  # released, or stopped
        if self._target is None or self.readyState != "live":
            raise MediaStreamError
        frame = await self._target.recv()
        assert isinstance(frame, av.AudioFrame)
        return frame

    def stop(self) -> None:
        super().stop()
        if self._target is not None:
            self._target.stop()
        self._go.set()


class AudioSink:
    """Consumes a remote audio track in one task; listeners get 48 kHz mono float32 chunks."""

    def __init__(self, track: MediaStreamTrack, name: str = "") -> None:
        self.track = track
        self.name = name
        self.listeners: list[Listener] = []
        self.samples_received = 0
        self._resample = Resampler()
        self._waiters: list[tuple[int, asyncio.Future[None]]] = []
        self._task: asyncio.Task[None] | None = asyncio.get_running_loop().create_task(
            self._run(), name=f"sink {name}"
        )
        self.ended = asyncio.Event()

    @property
    def seconds_received(self) -> float:
        return self.samples_received / RATE

    async def wait_samples(self, total: int) -> None:
        """Return once ``total`` samples have been received (in all)."""
        if self.samples_received >= total:
            return
        fut = asyncio.get_running_loop().create_future()
        self._waiters.append((total, fut))
        await fut

    async def _run(self) -> None:
        try:
            while True:
                frame = await self.track.recv()
                if not isinstance(frame, av.AudioFrame):
                    continue
                samples = self._resample(frame)
                if not samples.size:
                    continue
                self.samples_received += samples.size
                for listener in list(self.listeners):
                    listener(samples)
                self._wake()
        except MediaStreamError:
            pass
        finally:
            self.ended.set()
            for _, fut in self._waiters:
                if not fut.done():
                    fut.set_exception(MediaError(f"{self.name}: remote audio track ended"))
            self._waiters.clear()

    def _wake(self) -> None:
        still = []
        for total, fut in self._waiters:
            if fut.done():
                continue
            if self.samples_received >= total:
                fut.set_result(None)
            else:
                still.append((total, fut))
        self._waiters = still

    async def aclose(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, MediaStreamError):
                await self._task
            self._task = None

    def __repr__(self) -> str:
        return f"<AudioSink {self.name} received={self.seconds_received:.2f}s>"
