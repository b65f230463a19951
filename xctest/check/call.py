"""``xctest check``'s test call between two logged-in accounts: dial, ring, answer, the media
path ICE selected, audio verified both ways by the parties' signatures, and hang-up through
CTI as XiVO's front-ends do it.  Each step's line says what it saw, or what to change.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable

from xctest.check.lines import CheckReport, Outcome, Section
from xctest.cti.messages import PhoneEvent, PhoneEventType
from xctest.errors import MediaError, StepTimeout, XctestError
from xctest.phone import Call
from xctest.results import TimelineEvent
from xctest.scenario.xivo import Party

__all__ = ["check_call"]

CALL_WAIT = 10.0  # seconds for each signalling step
AUDIO_WAIT = 5.0  # seconds for a party's signature to be heard
AUDIO_WINDOW = 1.0  # seconds measured once it is heard
HEARD = 0.8  # share of frames, as a scenario's `hears`
_MEDIA_FIX = (
    "the far end's candidates must be reachable over UDP from here (XiVO's media address, a "
    "firewall?), or set media (addresses or interface) in the target"
)


def answer_facts(sdp: str) -> str:
    """The DTLS role (``a=setup``) and the codec (first payload type of the audio m-line) of
    an SDP answer."""
    setup = re.search(r"^a=setup:(\S+)", sdp, re.M)
    media = re.search(r"^m=audio \S+ \S+ (\d+)", sdp, re.M)
    codec = None
    if media is not None:
        codec = re.search(rf"^a=rtpmap:{media.group(1)} (\S+)", sdp, re.M)
    return (
        f"a=setup:{setup.group(1) if setup else '(none)'}, codec "
        f"{codec.group(1) if codec else '(none)'}"
    )


def _marks(party: Party) -> tuple[int, int, int]:
    """Where the call starts: timeline entries, PhoneEvents, CTI messages so far."""
    received = len(party.phone.xuc.cti.received) if party.phone.xuc is not None else 0
    return len(party.phone.timeline), len(party.phone.phone_events), received


def _event(name: str, call_id: str | None = None) -> Callable[[TimelineEvent], bool]:
    def match(e: TimelineEvent) -> bool:
        return e.name == name and (call_id is None or e.fields.get("sipCallId") == call_id)

    return match


async def _hears(listener: Party, call: Call, speaker: Party, section: Section) -> None:
    step = f"{listener.name} hears {speaker.name}"
    name = speaker.phone.signature.name
    try:
        await call.wait_heard(name, AUDIO_WAIT)
        t0, t1 = await call.listen(AUDIO_WINDOW)
    except (StepTimeout, MediaError):
        heard = sorted(call.heard_names(share=0.5)) or ["no known signal"]
        section.add(
            step,
            Outcome.FAIL,
            f"{speaker.name}'s signature not heard within {AUDIO_WAIT:g} s (heard: "
            f"{', '.join(heard)})",
            "audio crossed the PBX one way only? check the XiVO's media (NAT, codecs)",
        )
        return
    share = call.presence(name, t0, t1)
    outcome = Outcome.OK if share >= HEARD else Outcome.FAIL
    section.add(step, outcome, f"in {share:.0%} of {AUDIO_WINDOW:g} s (needs {HEARD:.0%})")


async def check_call(a: Party, b: Party, report: CheckReport) -> Section:
    """``a`` calls ``b``; both are logged in and registered."""
    section = Section(f"test call {a.name} -> {b.name} ({b.number or 'no number'})")
    steps = ("dial", "answer", "media", f"{b.name} hears {a.name}", f"{a.name} hears {b.name}")
    if not b.number:
        section.add("dial", Outcome.FAIL, f"{b.name}'s number is unknown", f"users.{b.name}.number")
        section.skip(*steps[1:], "hang-up")
        return section
    loop = asyncio.get_running_loop()
    marks = {p.name: _marks(p) for p in (a, b)}
    began = loop.time()
    call_a: Call | None = None
    try:
        call_a = await a.phone.dial(b.number)
        await b.phone.timeline.wait_for(
            _event("incoming/Setup"), CALL_WAIT, since=marks[b.name][0], what="incoming Setup"
        )
    except XctestError as exc:
        ended = f" (call ended: {call_a.final_status} {call_a.reason})" if call_a else ""
        section.add("dial", Outcome.FAIL, f"{exc}{ended}", "is the number routed to the user?")
        section.skip(*steps[1:], "hang-up")
        return section
    rang = (loop.time() - began) * 1000
    section.add("dial", Outcome.OK, f"{b.number}: {b.name} rang {rang:.0f} ms after the dial")
    try:
        call_b = await b.phone.answer()
        await a.phone.timeline.wait_for(
            _event("outgoing/Connected", call_a.sip_call_id),
            CALL_WAIT,
            since=marks[a.name][0],
            what=f"{a.name} outgoing Connected",
        )
    except XctestError as exc:
        section.add("answer", Outcome.FAIL, str(exc))
        section.skip(*steps[2:], "hang-up")
        return section
    section.add("answer", Outcome.OK, f"connected {(loop.time() - began) * 1000:.0f} ms after dial")
    try:
        await asyncio.wait_for(
            asyncio.gather(call_a.peer.wait_connected(), call_b.peer.wait_connected()), CALL_WAIT
        )
        paths = [f"{p.name} {c.peer.ice_path().selected}" for p, c in ((a, call_a), (b, call_b))]
        section.add("media", Outcome.OK, "; ".join(paths))
        report.note("Q15 the XiVO's SDP answer to a call", answer_facts(call_a.peer.remote_sdp))
        await _hears(b, call_b, a, section)
        await _hears(a, call_a, b, section)
    except (TimeoutError, MediaError):
        paths = [f"{p.name}: {c.peer.ice_path().describe()}" for p, c in ((a, call_a), (b, call_b))]
        section.add("media", Outcome.FAIL, "not connected: " + " | ".join(paths), _MEDIA_FIX)
        section.skip(*steps[3:])
    await _hang_up(a, b, call_a, call_b, marks, section)
    _note_events(a, b, marks, report)
    return section


async def _hang_up(
    a: Party, b: Party, call_a: Call, call_b: Call, marks: dict[str, tuple[int, int, int]],
    section: Section,
) -> None:  # fmt: skip
    loop = asyncio.get_running_loop()
    began = loop.time()
    try:
        await a.phone.hangup(call_a.sip_call_id)  # through CTI when the session is up
        for party, call, topic in ((a, call_a, "outgoing"), (b, call_b, "incoming")):
            await party.phone.timeline.wait_for(
                _event(f"{topic}/Terminated", call.sip_call_id),
                CALL_WAIT,
                since=marks[party.name][0],
                what=f"{party.name} {topic} Terminated",
            )
    except XctestError as exc:
        section.add("hang-up", Outcome.FAIL, str(exc), "CTI hangup should end both SIP dialogs")
        return
    how = "CTI hangup" if a.phone.xuc is not None and a.phone.xuc.is_open else "SIP"
    took = (loop.time() - began) * 1000
    missing = []
    for party in (a, b):
        if party.phone.xuc is None:
            continue
        try:
            await party.phone.xuc.cti.wait_for(
                PhoneEvent,
                lambda e: e.event_type == PhoneEventType.RELEASED,
                timeout=CALL_WAIT,
                since=marks[party.name][2],
            )
        except StepTimeout:
            missing.append(party.name)
    detail = f"{how}: both ends Terminated within {took:.0f} ms"
    if missing:
        section.add(
            "hang-up",
            Outcome.WARN,
            f"{detail}; no PhoneEvent EventReleased for {', '.join(missing)}",
            "XUC should send EventReleased when a call ends",
        )
        return
    section.add("hang-up", Outcome.OK, detail + ", EventReleased on both")


def _note_events(
    a: Party, b: Party, marks: dict[str, tuple[int, int, int]], report: CheckReport
) -> None:
    """The PhoneEvents and Terminated reasons of the test call, for the open points."""
    for party in (a, b):
        events = party.phone.phone_events[marks[party.name][1] :]
        seen = [f"{e.event_type}({e.call_direction or '-'})" for e in events]
        report.note(f"Q1/Q3 PhoneEvents of {party.name} (type(callDirection))", " ".join(seen))
        ended = party.phone.timeline.find(
            lambda e: e.name.endswith("/Terminated"), since=marks[party.name][0]
        )
        if ended is not None:
            reason = ended.fields.get("data", {}).get("reason", "")
            report.note("Q22 Terminated reasons", f"{party.name}: {reason!r}")
