"""DTMF on a phone's calls (PROTOCOL.md §5.5): the SIP INFO ``application/dtmf-relay`` body
SIPml5 sends, the in-band tones a phone may play, and what a call received (INFO digits and
in-band digits found by a streaming detector).  Never imports the simulator.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

import numpy as np
from numpy.typing import NDArray

from xctest.audio.dtmf import DTMF_TABLE, DtmfDetector, dtmf_tones
from xctest.sip.message import Request, make_response

if TYPE_CHECKING:
    from xctest.phone.call import Call
    from xctest.phone.context import PhoneContext

DTMF_RELAY = "application/dtmf-relay"
DTMF_DURATION_MS = 120  # SIPml5's INFO body (PROTOCOL.md §5.5)
INBAND_TONE_MS = 100.0
INBAND_PAUSE_MS = 60.0  # silence after each in-band tone so that queued digits stay apart
INBAND_LEVEL_DBFS = -10.0


class Digit(NamedTuple):
    """One digit a call received: ``source`` is ``"info"`` or ``"inband"``, ``t`` loop time
    (receipt of the INFO, or the tone's start)."""

    source: str
    digit: str
    t: float


def info_body(key: str) -> bytes:
    """The INFO body SIPml5 sends for one key."""
    return f"Signal={key}\r\nDuration={DTMF_DURATION_MS}\r\n".encode()


def relay_digit(content_type: str | None, body: str) -> str | None:
    """The digit of an ``application/dtmf-relay`` INFO (``Signal=5``), or None."""
    if (content_type or "").split(";")[0].strip().lower() != DTMF_RELAY:
        return None
    for line in body.splitlines():
        name, _, value = line.partition("=")
        if name.strip().lower() == "signal" and len(value.strip()) == 1:
            return value.strip()
    return None


def inband_tone(key: str) -> NDArray[np.float32]:
    """One key's Q.23 tone pair, then a short silence (48 kHz).  An xctest addition: xc_webrtc
    only sends INFO (PROTOCOL.md §5.5).  The tone replaces the microphone rather than being
    mixed over it, as keypads do; over a -16 dBFS signature the tones would hold too little of
    the frame's power for a Q.24-style receiver."""
    if key.upper() not in DTMF_TABLE:
        raise ValueError(f"not a DTMF key: {key!r}")
    return dtmf_tones(
        key, tone_ms=INBAND_TONE_MS, pause_ms=INBAND_PAUSE_MS, level_dbfs=INBAND_LEVEL_DBFS
    )


class InbandReceiver:
    """A streaming DTMF detector on a call's received audio, with detector time mapped to
    loop time (the last sample fed was received ``now``).

    Audio is analysed in batches of ``batch`` seconds: the detector's cost is mostly per call,
    so 100 ms batches cost a fifth of 20 ms ones, and digits are reported at most that late.
    """

    def __init__(self, rate: int = 48000, batch: float = 0.1) -> None:
        self._detector = DtmfDetector(rate)
        self._batch = int(batch * rate)
        self._pending: list[NDArray[np.float32]] = []
        self._queued = 0

    def feed(self, samples: NDArray[np.float32], now: float) -> list[tuple[str, float, float]]:
        """(digit, start, end) in loop time for every digit found so far."""
        self._pending.append(samples)
        self._queued += samples.size
        if self._queued < self._batch:
            return []
        block = np.concatenate(self._pending) if len(self._pending) > 1 else self._pending[0]
        self._pending, self._queued = [], 0
        found = self._detector.feed(block)
        if not found:
            return []
        offset = now - self._detector.time
        return [(d.digit, d.start + offset, d.end + offset) for d in found]

    def __repr__(self) -> str:
        return f"<InbandReceiver {self._detector!r}>"


class Keypad:
    """DTMF of one phone: INFO (and optionally in-band tones) out on every connected call;
    INFO digits in; every received digit recorded on the call and the phone's timeline."""

    def __init__(self, ctx: PhoneContext) -> None:
        self.ctx = ctx

    async def send(self, key: str, inband: bool = False) -> bool:
        """One INFO per connected call (not awaited, as SIPml5); False when ``key`` is not one
        character or no call is connected."""
        live = [c for c in self.ctx.calls.values() if c.is_connected and c.dialog is not None]
        if len(key) != 1 or not live:
            return False
        channel, identity = self.ctx.channel(), self.ctx.identity()
        tone = inband_tone(key) if inband else None
        for call in live:
            assert call.dialog is not None
            if tone is not None and call.mix is not None:
                call.mix.insert(tone)
            info = call.dialog.create_request(  # each request its own branch (RFC 3261 §8.1.1.7)
                "INFO", via=identity.via(), body=info_body(key), content_type=DTMF_RELAY
            )
            self.ctx.spawn(channel.request(info))
        return True

    async def on_info(self, call: Call, req: Request) -> None:
        """200 to any INFO; a dtmf-relay digit is recorded."""
        await self.ctx.channel().send_response(make_response(req, 200))
        digit = relay_digit(req.headers.get("Content-Type"), req.text)
        if digit is not None:
            call.add_digit("info", digit, self.ctx.timeline.now())

    def record(self, call: Call, digit: Digit, extra: dict[str, float]) -> None:
        """``Call.on_digit``: the digit on the timeline (kind ``dtmf``, name = source)."""
        self.ctx.timeline.add(
            "dtmf", digit.source, digit=digit.digit, sipCallId=call.sip_call_id, **extra
        )
