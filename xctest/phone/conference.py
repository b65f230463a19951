"""xc_webrtc's device conference (PROTOCOL.md §3.5): the phone resumes its calls and mixes
itself: each call's outgoing audio is the microphone plus what the other call receives.
No SIP or CTI message of its own; never imports the simulator.
"""

from __future__ import annotations

from xctest.errors import PhoneStateError
from xctest.media import AudioPipe
from xctest.phone.call import Call, CallState
from xctest.phone.hold import Holds

CONFERENCE_LATENCY = 0.12  # at most this much received audio buffered per direction
CONFERENCE_PREBUFFER = 0.03  # jitter absorbed before the other call's audio is mixed in


class DeviceConference:
    """The device-conference flag of one phone and the audio wiring it implies."""

    def __init__(self, name: str, holds: Holds) -> None:
        self.name = name
        self.holds = holds
        self.active = False
        self.calls: tuple[Call, ...] = ()
        self._wiring: list[tuple[Call, Call, AudioPipe]] = []

    async def start(self) -> None:
        """Flag the conference, resume every held call, then mix (xc_webrtc ``conference``).
        The mix is done as xc_webrtc's patched SIPml5 is described to do it (unconfirmed,
        PROTOCOL.md §3.5 conference #3)."""
        connected = [c for c in self.holds.sessions() if c.state is CallState.CONNECTED]
        if len(connected) < 2:
            raise PhoneStateError(
                f"{self.name}: a conference needs two connected calls, there are {len(connected)}"
            )
        self.active = True
        for call in connected:
            if call.local_held:
                await self.holds.set_held(call, False)
        self._wire(connected)

    def _wire(self, calls: list[Call]) -> None:
        self._unwire()
        for src in calls:
            for dst in calls:
                if src is dst or dst.mix is None:
                    continue
                pipe = AudioPipe(CONFERENCE_LATENCY, prebuffer=CONFERENCE_PREBUFFER)
                src.taps.append(pipe.write)
                dst.mix.inputs.append(pipe.read)
                self._wiring.append((src, dst, pipe))
        self.calls = tuple(calls)

    def _unwire(self) -> None:
        for src, dst, pipe in self._wiring:
            if pipe.write in src.taps:
                src.taps.remove(pipe.write)
            if dst.mix is not None and pipe.read in dst.mix.inputs:
                dst.mix.inputs.remove(pipe.read)
        self._wiring.clear()
        self.calls = ()

    def on_terminated(self, call: Call) -> None:
        """A call ended: the flag is cleared and every call plays its microphone only."""
        if self.active or call in self.calls:
            self.active = False
            self._unwire()

    def __repr__(self) -> str:
        return f"<DeviceConference {self.name} active={self.active} calls={len(self.calls)}>"
