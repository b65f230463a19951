"""Requests inside an established call, handled as Asterisk does for a WebRTC line: re-INVITE
hold/resume (music on hold to the held party, PROTOCOL.md §3.5, §5.4) and SIP INFO DTMF relayed
to the other party, also in-band when the lab says so (§5.5).

Works on the ``Switch``'s legs and bridges; never imports the phone.
"""

from __future__ import annotations

import logging

from xctest.audio.dtmf import dtmf_tones
from xctest.errors import XctestError
from xctest.sim.legs import Leg
from xctest.sim.switch import ALLOW, Switch
from xctest.sip.message import Request, make_response
from xctest.sip.sdp import Direction, SessionDescription, parse_sdp

log = logging.getLogger(__name__)

DTMF_RELAY = "application/dtmf-relay"
HOLDING = frozenset({Direction.SENDONLY, Direction.INACTIVE})
INBAND_TONE_MS = 100


def with_direction(sdp: str, direction: Direction) -> str:
    """``sdp`` with every audio section's direction set, and the o= version bumped (RFC 3264
    §8: a changed description carries a higher version)."""
    parsed = parse_sdp(sdp)
    media = [m.with_direction(direction) if m.kind == "audio" else m for m in parsed.media]
    lines = tuple(
        (kind, _bump_version(value) if kind == "o" else value) for kind, value in parsed.lines
    )
    return str(SessionDescription(lines, tuple(media)))


def _bump_version(origin: str) -> str:
    parts = origin.split()
    if len(parts) >= 3 and parts[2].isdigit():
        parts[2] = str(int(parts[2]) + 1)
    return " ".join(parts)


def offered_direction(sdp: str) -> Direction:
    """Direction of the first audio section of an offer (sendrecv when absent)."""
    parsed = parse_sdp(sdp)
    audio = next((m for m in parsed.media if m.kind == "audio"), None)
    return audio.direction if audio is not None else Direction.SENDRECV


def dtmf_signal(body: str) -> str | None:
    """The digit of an ``application/dtmf-relay`` body (``Signal=5``), or None."""
    for line in body.splitlines():
        key, _, value = line.partition("=")
        if key.strip().lower() == "signal" and len(value.strip()) == 1:
            return value.strip()
    return None


class MidCall:
    """re-INVITE and INFO on the legs of one switch."""

    def __init__(self, switch: Switch) -> None:
        self.switch = switch

    async def reinvite(self, leg: Leg, req: Request) -> None:
        """Answer with our SDP mirrored; a sendonly/inactive offer holds the leg."""
        try:
            direction = offered_direction(req.text)
            answer = with_direction(leg.local_sdp, direction.answer())
        except XctestError as exc:
            await leg.conn.respond(req, 488, f"Not acceptable: {exc}")
            return
        ok = make_response(
            req,
            200,
            headers=[("Contact", str(leg.conn.contact())), ("Allow", ALLOW)],
            body=answer.encode(),
            content_type="application/sdp",
        )
        await leg.conn.channel.send_response(ok)
        leg.local_sdp = answer
        held = direction in HOLDING
        if held == leg.held:
            return
        leg.held = held
        # a holding phone sends nothing (SIPml5 removes its stream), and gets nothing back
        leg.peer.track.held = held
        leg.peer.expect_receive(not held)
        self.switch.bus.set_hold(leg.channel, held)
        bridge = self.switch.bridge_of(leg)
        if bridge is not None and bridge.established:
            self.switch.connect_media(bridge)

    async def info(self, leg: Leg, req: Request) -> None:
        """200 to any INFO; a DTMF digit goes on to the bridged party."""
        await leg.conn.respond(req, 200)
        kind = (req.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        digit = dtmf_signal(req.text) if kind == DTMF_RELAY else None
        bridge = self.switch.bridge_of(leg)
        if digit is None or bridge is None or not bridge.established:
            return
        other = bridge.other(leg)
        if self.switch.lab.dtmf_inband:
            tone = dtmf_tones(digit, tone_ms=INBAND_TONE_MS, pause_ms=0)
            other.overlay(tone)
        if other.dialog is None or other.ended:
            return
        relay = other.dialog.create_request(
            "INFO", via=other.conn.via_value(), body=req.body, content_type=DTMF_RELAY
        )
        try:
            await other.conn.channel.request(relay)
        except XctestError as exc:
            log.info("DTMF relay to %s failed: %s", other.channel.user_login, exc)
