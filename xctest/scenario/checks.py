"""The audio, timing and MOS parts of ``expect``, measured on live calls.

Each check waits on what it needs (frames analysed up to the end of its window, a signature's
onset, digits) with a deadline, never on a bare sleep, and returns its evidence (shares of
frames per signature, digits with times, the measured delay or score).  A check that does not
hold raises ``CheckFailed`` carrying that same evidence.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from xctest.audio.moh import MOH_NAME
from xctest.audio.mos import pesq_mos
from xctest.audio.signature import Signature, render
from xctest.audio.tones import EU_TONES, NA_TONES, ProgressToneDetector
from xctest.errors import ExpectationFailed, MediaError, StepTimeout, XctestError
from xctest.media.frames import RATE
from xctest.phone import Call, CallState, Phone
from xctest.scenario.expect import AudioCheck, HearsDtmf, MosCheck, TimingCheck
from xctest.scenario.words import Sound
from xctest.timeline import Timeline

__all__ = ["AudioRules", "CheckFailed", "current_call", "check_audio", "check_mos", "check_timing"]

TONE_WINDOW = 6.0  # at least one cycle and a half of the slowest cadence (EU ringback 1+4 s)


class CheckFailed(ExpectationFailed):
    """An expectation did not hold; ``evidence`` is what was measured, ``recordings`` what
    the parties received (16-bit PCM, mono, 48 kHz, by party)."""

    def __init__(
        self, message: str, evidence: dict[str, Any], recordings: dict[str, bytes] | None = None
    ):
        self.evidence = evidence
        self.recordings = dict(recordings or {})
        super().__init__(message, observed=evidence)


def pcm16(call: Call, seconds: float) -> bytes:
    """The last ``seconds`` received on ``call`` as 16-bit PCM (for a failure's evidence)."""
    audio = call.recording()[-int(seconds * RATE) :]
    return (np.clip(audio, -1.0, 1.0) * 32767.0).astype("<i2").tobytes()


@dataclass(frozen=True)
class AudioRules:
    """Thresholds of the audio checks (shares of 20 ms frames in the window)."""

    heard: float = 0.8  # "hears X": X present in at least this share of the frames
    silent: float = 0.05  # "does not hear X": X present in at most this share
    settle: float = 0.3  # after X is first heard, old audio drains for this long
    default_window: float = 1.0  # "for" when the step does not say
    moh_mode: str = "signature"  # or "any-audio" (a real XiVO's music)
    mos_window: float = 4.0


def current_call(phone: Phone) -> Call:
    """The call a step means, most recent first: a connected call not held here, else a call
    still being set up, else a held one.  ``XctestError`` when the party has none."""
    live = [c for c in phone.calls.values() if c.state is not CallState.TERMINATED]
    for group in (
        [c for c in live if c.is_connected and not c.local_held],
        [c for c in live if not c.local_held],
        live,
    ):
        if group:
            return group[-1]
    raise XctestError(f"{phone.name} has no call in progress")


def _shares(call: Call, names: Sequence[str], t0: float, t1: float) -> dict[str, float]:
    return {name: round(call.presence(name, t0, t1), 3) for name in names}


def _any_audio_share(call: Call, parties: Sequence[str], t0: float, t1: float) -> float:
    """Share of frames with sound that is none of the parties' signatures (real MOH)."""
    window = [h for h in call.heard if t0 <= h.t < t1]
    if not window:
        return 0.0
    music = [
        h for h in window if h.analysis.rms_dbfs > -45.0 and not (h.analysis.present & set(parties))
    ]
    return len(music) / len(window)


async def check_audio(
    check: AudioCheck,
    phone: Phone,
    names: Mapping[str, str],
    onset: float,
    rules: AudioRules,
    since: float,
) -> dict[str, Any]:
    """``X hears Y`` / ``nothing`` / ``music-on-hold`` / DTMF / a progress tone, on X's
    current call.  ``names`` maps each party to the signature name it plays; ``onset`` is how
    long the sound may take to start; ``since`` is the loop time the expect step began."""
    call = current_call(phone)
    try:
        return await _check_audio(check, phone, call, names, onset, rules, since)
    except MediaError:
        raise CheckFailed(
            f"{phone.name} heard no audio on call {call.sip_call_id} in "
            f"{_window_of(check, rules):g} s (no media received)",
            {"call": call.sip_call_id, "frames": len(call.heard)},
        ) from None


def _window_of(check: AudioCheck, rules: AudioRules) -> float:
    seconds = check.for_ or rules.default_window
    if check.hears in (Sound.RINGBACK, Sound.BUSY):
        return max(seconds, TONE_WINDOW)
    return seconds


async def _check_audio(
    check: AudioCheck,
    phone: Phone,
    call: Call,
    names: Mapping[str, str],
    onset: float,
    rules: AudioRules,
    since: float,
) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    seconds = _window_of(check, rules)
    heard = check.hears
    if isinstance(heard, HearsDtmf):
        return await _hears_dtmf(call, heard.dtmf, onset + seconds, since)
    if heard in (Sound.RINGBACK, Sound.BUSY):
        return await _hears_tone(call, str(heard), seconds)
    signatures = [*names.values(), MOH_NAME]
    wanted: str | None = None
    if heard == Sound.MUSIC_ON_HOLD:
        wanted = MOH_NAME
    elif heard != Sound.NOTHING:
        wanted = names[str(heard)]
    evidence: dict[str, Any] = {"call": call.sip_call_id, "window_s": seconds}
    if wanted is not None and not (wanted == MOH_NAME and rules.moh_mode == "any-audio"):
        try:
            first = await call.wait_heard(wanted, onset, since=since)
        except StepTimeout:
            t1 = loop.time()
            evidence["shares"] = _shares(call, signatures, since, t1)
            raise CheckFailed(
                f"{phone.name} should hear {heard}: not heard within {onset:g} s "
                f"(heard instead: {_heard_text(evidence['shares'])})",
                evidence,
            ) from None
        evidence["onset_s"] = round(first - since, 3)
    t0 = loop.time() + rules.settle
    t1 = t0 + seconds
    await call.wait_audio_until(t1, seconds + rules.settle + 5.0)
    shares = _shares(call, signatures, t0, t1)
    evidence["shares"] = shares
    if heard == Sound.MUSIC_ON_HOLD and rules.moh_mode == "any-audio":
        share = _any_audio_share(call, list(names.values()), t0, t1)
        evidence["music_share"] = round(share, 3)
        if share < rules.heard:
            raise CheckFailed(
                f"{phone.name} should hear music on hold: sound other than a party in "
                f"{share:.0%} of frames (needs {rules.heard:.0%})",
                evidence,
            )
        return evidence
    if wanted is None:
        loud = {n: s for n, s in shares.items() if s > rules.silent}
        if loud:
            raise CheckFailed(
                f"{phone.name} should hear nothing, but heard {_heard_text(loud)}", evidence
            )
        return evidence
    if shares[wanted] < rules.heard:
        raise CheckFailed(
            f"{phone.name} should hear {heard}: present in {shares[wanted]:.0%} of frames "
            f"(needs {rules.heard:.0%}; heard: {_heard_text(shares)})",
            evidence,
        )
    return evidence


def _heard_text(shares: Mapping[str, float]) -> str:
    parts = [f"{n} {s:.0%}" for n, s in sorted(shares.items(), key=lambda i: -i[1]) if s > 0]
    return ", ".join(parts) or "no known signal"


async def _hears_dtmf(call: Call, digits: str, timeout: float, since: float) -> dict[str, Any]:
    """The digits, detected in-band in the received audio since the step began, in order."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout

    def got() -> str:
        return "".join(d.digit for d in call.digits if d.source == "inband" and d.t >= since)

    while digits not in got() and loop.time() < deadline:
        await call.wait_audio_until(loop.time() + 0.1, 5.0)
    evidence = {
        "call": call.sip_call_id,
        "inband": got(),
        "info": "".join(d.digit for d in call.digits if d.source == "info" and d.t >= since),
    }
    if digits not in evidence["inband"]:
        raise CheckFailed(
            f"{call.sip_call_id}: DTMF {digits!r} not heard in-band within {timeout:g} s "
            f"(heard {evidence['inband']!r}; SIP INFO carried {evidence['info']!r})",
            evidence,
        )
    return evidence


async def _hears_tone(call: Call, which: str, seconds: float) -> dict[str, Any]:
    """A call-progress tone (EU or NA plan) in the next ``seconds`` of received audio."""
    await call.listen(seconds)
    audio = call.recording()[-int(seconds * RATE) :]
    detector = ProgressToneDetector((*EU_TONES, *NA_TONES), rate=RATE)
    found = sorted({m.name for m in detector.feed(audio)})
    evidence = {"call": call.sip_call_id, "tones": found, "window_s": seconds}
    if not any(name.endswith("-" + which) for name in found):
        raise CheckFailed(
            f"{which} tone not heard in {seconds:g} s (tones found: {', '.join(found) or 'none'})",
            evidence,
        )
    return evidence


def check_timing(check: TimingCheck, timeline: Timeline, since: int) -> dict[str, Any]:
    """Setup time (INVITE sent -> call connected) and post-dial delay (INVITE sent -> first
    180/183) of the party's latest outgoing call placed at or after timeline index ``since``
    (else its latest outgoing call)."""
    invites = [
        (i, e)
        for i, e in enumerate(timeline.entries)
        if e.kind == "sip" and e.name == "INVITE" and e.fields.get("direction") == ">>>"
    ]
    calls: dict[str, float] = {}
    for _, e in invites:
        calls.setdefault(str(e.fields.get("call_id")), e.t)  # first INVITE of each call
    if not calls:
        raise CheckFailed(f"{timeline.party} placed no call to time", {})
    recent = [e for i, e in invites if i >= since] or [e for _, e in invites]
    call_id = str(recent[-1].fields.get("call_id"))
    start = calls[call_id]
    evidence: dict[str, Any] = {"call": call_id}
    after = [e for e in timeline.entries if e.t >= start]
    connected = next(
        (e for e in after if e.kind == "xc" and e.name.endswith("/Connected")
         and e.fields.get("sipCallId") == call_id),
        None,
    )  # fmt: skip
    ringing = next(
        (e for e in after if e.kind == "sip" and e.fields.get("direction") == "<<<"
         and e.fields.get("call_id") == call_id and e.name[:3] in ("180", "183")),
        None,
    )  # fmt: skip
    problems = []
    for label, bound, event in (
        ("setup_time", check.setup_time, connected),
        ("post_dial_delay", check.post_dial_delay, ringing),
    ):
        if bound is None:
            continue
        if event is None:
            problems.append(f"{label}: the call never got there")
            continue
        value = event.t - start
        evidence[label + "_s"] = round(value, 4)
        if value >= bound.below:
            problems.append(f"{label} {value * 1000:.0f} ms, not below {bound.below * 1000:.0f} ms")
    if problems:
        raise CheckFailed(f"{timeline.party}: " + "; ".join(problems), evidence)
    return evidence


async def check_mos(
    check: MosCheck, phone: Phone, signatures: Sequence[Signature], rules: AudioRules
) -> dict[str, Any]:
    """PESQ (wide-band) of the next ``mos_window`` seconds the party receives, against the
    signature of the party it hears most (what that party's microphone sent)."""
    call = current_call(phone)
    t0, t1 = await call.listen(rules.mos_window)
    shares = _shares(call, [s.name for s in signatures], t0, t1)
    source = max(signatures, key=lambda s: shares[s.name])
    if shares[source.name] < rules.heard:
        raise CheckFailed(
            f"{phone.name}: no MOS without a far party speaking: the strongest signal, "
            f"{source.name}'s, is in {shares[source.name]:.0%} of frames "
            f"(needs {rules.heard:.0%})",
            {"call": call.sip_call_id, "shares": shares},
        )
    audio = call.recording()[-int(rules.mos_window * RATE) :]
    reference = render(source, rules.mos_window, RATE)
    result = await asyncio.get_running_loop().run_in_executor(
        None, lambda: pesq_mos(reference, np.asarray(audio, dtype=np.float32), RATE)
    )
    evidence = {
        "call": call.sip_call_id,
        "reference": source.name,
        "mos": round(result.mos, 2),
        "shares": shares,
    }
    if result.mos < check.at_least:
        raise CheckFailed(
            f"{phone.name}: MOS {result.mos:.2f} below {check.at_least} (reference: "
            f"{source.name}'s signal, present in {shares[source.name]:.0%} of frames)",
            evidence,
        )
    return evidence
