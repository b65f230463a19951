"""The audio, timing and MOS parts of ``expect``, measured on live calls.

Each check waits on what it needs (frames analysed up to the end of its window, a signature's
onset, digits) with a deadline, never on a bare sleep, and returns its evidence (shares of
frames per signature, digits with times, the measured delay or score).  A check that does not
hold raises ``CheckFailed`` carrying that same evidence.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from xctest.audio.moh import MOH_NAME
from xctest.audio.mos import pesq_mos
from xctest.audio.signature import Signature, render
from xctest.audio.tones import EU_TONES, NA_TONES, ProgressToneDetector
from xctest.errors import ExpectationFailed, MediaError, StepTimeout, XctestError
from xctest.media.engine import MediaEngine
from xctest.media.frames import RATE
from xctest.phone import Call, CallState, Phone
from xctest.results import TimelineEvent
from xctest.scenario.expect import AudioCheck, HearsDtmf, MosCheck, QualityCheck, TimingCheck
from xctest.scenario.words import Sound
from xctest.timeline import Timeline

__all__ = [
    "AudioRules",
    "CannotMeasure",
    "CheckFailed",
    "current_call",
    "check_audio",
    "check_mos",
    "check_quality",
    "check_timing",
]

TONE_WINDOW = 6.0  # at least one cycle and a half of the slowest cadence (EU ringback 1+4 s)
QUALITY_WINDOW = 3.0  # seconds a quality check measures when the step does not say
QUALITY_CONNECT = 10.0  # seconds a quality check waits for the call's media to connect


class CheckFailed(ExpectationFailed):
    """An expectation did not hold; ``evidence`` is what was measured, ``recordings`` what
    the parties received (16-bit PCM, mono, 48 kHz, by party)."""

    def __init__(
        self, message: str, evidence: dict[str, Any], recordings: dict[str, bytes] | None = None
    ):
        self.evidence = evidence
        self.recordings = dict(recordings or {})
        super().__init__(message, observed=evidence)


class CannotMeasure(CheckFailed):
    """The check could not measure the system under test because of xctest's own side (its
    media on loopback only, say): an error of the run, never a verdict."""


def pcm16(audio: NDArray[np.float32]) -> bytes:
    """Float samples as 16-bit little-endian PCM (for a failure's evidence)."""
    return bytes((np.clip(audio, -1.0, 1.0) * 32767.0).astype("<i2").tobytes())


@dataclass(frozen=True)
class AudioRules:
    """Thresholds of the audio checks (shares of 20 ms frames in the window)."""

    heard: float = 0.8  # "hears X": X present in at least this share of the frames
    silent: float = 0.05  # "hears nothing": known signals, and sound, in at most this share
    quiet_dbfs: float = -45.0  # a frame above this RMS level is sound, not silence
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


def _sound_share(
    call: Call, t0: float, t1: float, quiet_dbfs: float, besides: Sequence[str] = ()
) -> float:
    """Share of frames louder than ``quiet_dbfs`` in which none of ``besides`` is present
    (with ``besides`` the parties' signatures: a real XiVO's music on hold)."""
    return call.loud_share(quiet_dbfs, besides, t0, t1)


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
    began = asyncio.get_running_loop().time()
    try:
        evidence = await _check_audio(check, phone, call, names, onset, rules, since)
        evidence["media_path"] = call.peer.ice_path().selected
        return evidence
    except CheckFailed as exc:
        if call.peer.is_connected:
            _stream_evidence(call, exc.evidence)
            trouble = own_trouble(began - rules.settle, asyncio.get_running_loop().time())
            if trouble:
                raise CannotMeasure(f"{exc}\nnot a verdict: {trouble}", exc.evidence) from None
            raise
        raise _not_connected(phone.name, check, call, rules, exc.evidence) from None
    except MediaError:
        evidence = {"call": call.sip_call_id, "frames": call.frame_counts()[0]}
        raise _not_connected(phone.name, check, call, rules, evidence) from None


def own_trouble(t0: float, t1: float) -> str:
    """xctest's own media trouble in [t0, t1) ("" when none): see ``MediaEngine.own_trouble``."""
    return MediaEngine.current().own_trouble(t0, t1)


def _stream_evidence(call: Call, evidence: dict[str, Any]) -> None:
    """The received stream's counts (lost, late, jitter …), when the media path keeps them."""
    stats = call.peer.stats()
    if stats is not None:
        evidence["stream"] = stats.to_json()


async def check_quality(check: QualityCheck, phone: Phone) -> dict[str, Any]:
    """Loss, lateness and jitter of what the party receives on its current call, over the next
    ``for`` seconds: packets lost and frames late past their play-out deadline, as shares of
    the frames expected (RFC 3550 sequence numbers), and the interarrival jitter at the end."""
    call = current_call(phone)
    seconds = check.for_ or QUALITY_WINDOW
    try:  # the window starts once there is a media path to measure
        await asyncio.wait_for(call.peer.wait_connected(), QUALITY_CONNECT)
    except (TimeoutError, MediaError):
        path = call.peer.ice_path()
        raise CheckFailed(
            f"{phone.name}: quality of call {call.sip_call_id}: media not connected "
            f"({path.describe()})",
            {"call": call.sip_call_id, "ice": path.describe()},
        ) from None
    before = call.peer.stats()
    if before is None:
        raise CannotMeasure(
            f"{phone.name}: quality not measured: call {call.sip_call_id} is on aiortc's own "
            "media path, which keeps no frame statistics",
            {"call": call.sip_call_id},
        )
    t0, t1 = await call.listen(seconds)
    after = call.peer.stats()
    assert after is not None
    expected = after.expected - before.expected
    lost, late = after.lost - before.lost, after.late - before.late
    evidence: dict[str, Any] = {
        "call": call.sip_call_id,
        "window_s": seconds,
        "expected": expected,
        "lost": lost,
        "late": late,
        "jitter_ms": round(after.jitter_ms, 2),
        "stream": after.to_json(),
    }
    if expected <= 0:
        raise CheckFailed(
            f"{phone.name}: no media received on call {call.sip_call_id} in {seconds:g} s",
            evidence,
        )
    loss, late_share = lost / expected, late / expected
    evidence["loss"], evidence["late_share"] = round(loss, 4), round(late_share, 4)
    problems = []
    if check.loss is not None and loss >= check.loss.below:
        problems.append(f"loss {loss:.1%} ({lost} of {expected}), not below {check.loss.below:.1%}")
    if check.late is not None and late_share >= check.late.below:
        problems.append(
            f"late {late_share:.1%} ({late} of {expected}), not below {check.late.below:.1%}"
        )
    if check.jitter is not None and after.jitter_ms >= check.jitter.below * 1000:
        problems.append(
            f"jitter {after.jitter_ms:.1f} ms, not below {check.jitter.below * 1000:.0f} ms"
        )
    if problems:
        message = f"{phone.name}: media quality of call {call.sip_call_id}: " + "; ".join(problems)
        trouble = own_trouble(t0, t1)
        if trouble and (check.late is not None or check.jitter is not None):
            raise CannotMeasure(f"{message}\nnot a verdict: {trouble}", evidence)
        raise CheckFailed(message, evidence)
    return evidence


def _not_connected(
    party: str, check: AudioCheck, call: Call, rules: AudioRules, evidence: dict[str, Any]
) -> CheckFailed:
    """Why nothing could be heard: no media from the far end yet (no SDP: a ringing call
    without early media), or media that never connected.  When our ICE candidates are all
    loopback and the far end's are not, that is xctest's set-up, not the XiVO's doing."""
    path = call.peer.ice_path()
    evidence = {**evidence, "ice": path.describe()}
    if not path.remote:
        return CheckFailed(
            f"{party} heard no audio on call {call.sip_call_id} in "
            f"{_window_of(check, rules):g} s (no media: the far end has sent no SDP yet, the "
            f"call is {call.state.value})",
            evidence,
        )
    if path.state == "connected":
        return CheckFailed(
            f"{party} heard no audio on call {call.sip_call_id} in "
            f"{_window_of(check, rules):g} s (no media received; {path.describe()})",
            evidence,
        )
    message = f"{party} should hear {check.hears}: media not connected ({path.describe()})"
    if path.local_on_loopback_only:
        return CannotMeasure(
            f"{message}: xctest's media is on loopback only and cannot reach the far end; "
            "set media (addresses or interface) in the target",
            evidence,
        )
    return CheckFailed(message, evidence)


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
        return await _hears_dtmf(phone.name, call, heard.dtmf, onset + seconds, seconds, since)
    if heard in (Sound.RINGBACK, Sound.BUSY):
        return await _hears_tone(phone.name, call, str(heard), seconds)
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
        share = _sound_share(call, t0, t1, rules.quiet_dbfs, besides=list(names.values()))
        evidence["music_share"] = round(share, 3)
        if share < rules.heard:
            raise CheckFailed(
                f"{phone.name} should hear music on hold: sound other than a party in "
                f"{share:.0%} of frames (needs {rules.heard:.0%})",
                evidence,
            )
        return evidence
    if wanted is None:
        sound = _sound_share(call, t0, t1, rules.quiet_dbfs)
        evidence["sound_share"] = round(sound, 3)
        loud = {n: s for n, s in shares.items() if s > rules.silent}
        if loud or sound > rules.silent:
            what = _heard_text(loud) if loud else "no known signal"
            raise CheckFailed(
                f"{phone.name} should hear nothing, but heard {what}; sound above "
                f"{rules.quiet_dbfs:g} dBFS in {sound:.0%} of frames (allowed: "
                f"{rules.silent:.0%})",
                evidence,
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


async def _hears_dtmf(
    party: str, call: Call, digits: str, timeout: float, quiet: float, since: float
) -> dict[str, Any]:
    """Exactly ``digits``, detected in-band in the received audio since loop time ``since``,
    then no other digit for ``quiet`` seconds (an extra, missing or wrong digit fails; a
    wrong one at once).  In-band detection runs from the first such check of the call on (it
    costs too much to run on every leg of a load run all the time)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    call.hearing.arm_dtmf(since)

    def got(source: str) -> str:
        return "".join(d.digit for d in call.digits if d.source == source and d.t >= since)

    while digits.startswith(got("inband")) and got("inband") != digits:
        if loop.time() >= deadline:
            break
        await call.wait_audio_until(loop.time() + 0.1, 5.0)
    if got("inband") == digits:  # and nothing after them
        with contextlib.suppress(MediaError):  # the far end may hang up once it has keyed
            await call.wait_audio_until(loop.time() + quiet, quiet + 5.0)
    evidence = {"call": call.sip_call_id, "inband": got("inband"), "info": got("info")}
    if evidence["inband"] != digits:
        raise CheckFailed(
            f"{party} should hear DTMF {digits!r} in-band within {timeout:g} s, heard "
            f"{evidence['inband']!r} (call {call.sip_call_id}; SIP INFO carried "
            f"{evidence['info']!r})",
            evidence,
        )
    return evidence


async def _hears_tone(party: str, call: Call, which: str, seconds: float) -> dict[str, Any]:
    """A call-progress tone (EU or NA plan) in the next ``seconds`` of received audio."""
    t0, t1 = await call.listen(seconds)
    detector = ProgressToneDetector((*EU_TONES, *NA_TONES), rate=RATE)
    found = sorted({m.name for m in detector.feed(call.audio(t0, t1))})
    evidence = {"call": call.sip_call_id, "tones": found, "window_s": seconds}
    if not any(name.endswith("-" + which) for name in found):
        raise CheckFailed(
            f"{party} should hear the {which} tone: not heard in {seconds:g} s (tones found: "
            f"{', '.join(found) or 'none'})",
            evidence,
        )
    return evidence


async def check_timing(check: TimingCheck, timeline: Timeline, since: int) -> dict[str, Any]:
    """Setup time (INVITE sent -> call connected) and post-dial delay (INVITE sent -> first
    180/183) of the party's latest call placed at or after timeline index ``since`` (else its
    latest call).  Only initial INVITEs count (a re-INVITE has a To tag).  An event not seen
    yet is waited for until its bound has passed since the INVITE."""
    invites = [
        (i, e)
        for i, e in enumerate(timeline.entries)
        if e.kind == "sip" and e.name == "INVITE" and e.fields.get("direction") == ">>>"
        and not e.fields.get("to_tag")
    ]  # fmt: skip
    if not invites:
        raise CheckFailed(f"{timeline.party} placed no call to time", {})
    recent = [e for i, e in invites if i >= since] or [e for _, e in invites]
    call_id = str(recent[-1].fields.get("call_id"))
    start = next(e.t for _, e in invites if e.fields.get("call_id") == call_id)  # no resends
    evidence: dict[str, Any] = {"call": call_id}

    def connected(e: TimelineEvent) -> bool:
        return (
            e.t >= start and e.kind == "xc" and e.name.endswith("/Connected")
            and e.fields.get("sipCallId") == call_id
        )  # fmt: skip

    def ringing(e: TimelineEvent) -> bool:
        return (
            e.t >= start and e.kind == "sip" and e.fields.get("direction") == "<<<"
            and e.fields.get("call_id") == call_id and e.name[:3] in ("180", "183")
        )  # fmt: skip

    problems = []
    for label, bound, reached, what in (
        ("setup_time", check.setup_time, connected, "Connected"),
        ("post_dial_delay", check.post_dial_delay, ringing, "180/183"),
    ):
        if bound is None:
            continue
        left = start + bound.below - timeline.now()
        try:
            event = await timeline.wait_for(reached, max(left, 0.0), what=what)
        except StepTimeout:
            problems.append(
                f"{label}: no {what} of call {call_id} within {bound.below * 1000:.0f} ms of "
                f"its INVITE"
            )
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
        strongest = (
            f"the strongest signal, {source.name}'s, is in {shares[source.name]:.0%} of frames"
            if shares[source.name] > 0
            else "no party's signal is heard"
        )
        raise CheckFailed(
            f"{phone.name}: no MOS without a far party speaking: {strongest} "
            f"(needs {rules.heard:.0%})",
            {"call": call.sip_call_id, "shares": shares},
        )
    audio = call.audio(t0, t1)
    reference = render(source, audio.size / RATE, RATE)
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
