"""What each party step does to its phone: ``dial`` places a call, ``answer`` waits for the
call ringing in and answers it, and so on.  Every wait has the step's deadline (the runner
adds a backstop); nothing here sleeps except the keypad's pace between digits.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable

import numpy as np
from numpy.typing import NDArray

from xctest.audio.signals import sine
from xctest.audio.signature import SignatureSource
from xctest.errors import XctestError
from xctest.media.frames import RATE
from xctest.phone import Call, CallState, Phone
from xctest.scenario import model as m
from xctest.scenario.checks import current_call
from xctest.scenario.values import Template
from xctest.scenario.words import Signal

__all__ = ["KEY_INTERVAL", "perform"]

KEY_INTERVAL = 0.25
"""Seconds between two DTMF keys of one ``dtmf`` step, like a person on a keypad (each INFO
is answered at once; the PBX then plays a 100 ms tone, so digits stay apart in-band)."""

Resolve = Callable[[Template], str]


async def perform(
    action: m.Action, phone: Phone, resolve: Resolve, timeout: float
) -> dict[str, object]:
    """Carry out ``action`` on ``phone``; returns what the report keeps about it.
    (``wait_for`` is the runner's: it knows where the party's last step left off.)"""
    if isinstance(action, m.Dial):
        number = resolve(action.dial)
        call = await phone.dial(number)
        return {"number": number, "call": call.sip_call_id}
    if isinstance(action, m.Answer | m.Reject):
        deadline = asyncio.get_running_loop().time() + timeout  # one deadline for every wait
        call = await _ringing(phone, timeout)
        if isinstance(action, m.Answer):
            mark = len(phone.timeline)
            await phone.answer(call.sip_call_id)
            await _established(phone, call.sip_call_id, mark, deadline)
        else:
            await phone.hangup(call.sip_call_id)
        return {"call": call.sip_call_id}
    if isinstance(action, m.Hangup):
        call = current_call(phone)
        await phone.hangup(call.sip_call_id)
        return {"call": call.sip_call_id}
    if isinstance(action, m.Hold | m.Resume):
        return await _hold(phone, hold=isinstance(action, m.Hold))
    if isinstance(action, m.Conference):
        await phone.conference()
        return {}
    if isinstance(action, m.AttendedTransfer):
        number = resolve(action.attended_transfer)
        await phone.attended_transfer(number)
        return {"number": number}
    if isinstance(action, m.CompleteTransfer):
        await phone.complete_transfer()
        return {}
    if isinstance(action, m.CancelTransfer):
        await phone.cancel_transfer()
        return {}
    if isinstance(action, m.DirectTransfer):
        number = resolve(action.direct_transfer)
        await phone.direct_transfer(number)
        return {"number": number}
    if isinstance(action, m.SendDtmf):
        return await _keys(phone, action.dtmf)
    if isinstance(action, m.ToggleMicrophone):
        call = current_call(phone)
        return {"call": call.sip_call_id, "muted": phone.toggle_microphone(call.sip_call_id)}
    if isinstance(action, m.Play):
        return _play(phone, action.play)
    raise XctestError(f"no way to perform {action.word!r}")  # the model lists every action


async def _ringing(phone: Phone, timeout: float) -> Call:
    """The call ringing in (waits for one to arrive)."""

    def ringing() -> Call | None:
        return next((c for c in phone.calls.values() if c.state is CallState.SETUP), None)

    await phone.timeline.wait_for(
        lambda _: ringing() is not None, timeout, what="a call ringing in"
    )
    call = ringing()
    if call is None:  # answered or ended by someone else in between
        raise XctestError(f"{phone.name}: the call ringing in is gone")
    return call


async def _established(phone: Phone, sip_call_id: str, mark: int, deadline: float) -> None:
    """Until the PBX confirmed the answer (by loop time ``deadline``): the ACK, and with XUC
    the PhoneEvent EventEstablished of this call (what a XiVO front-end shows as "in call")."""
    loop = asyncio.get_running_loop()
    await phone.timeline.wait_for(
        lambda e: e.kind == "sip" and e.name == "ACK" and e.fields.get("call_id") == sip_call_id,
        max(0.0, deadline - loop.time()),
        since=mark,
        what="the ACK of the answer",
    )
    if phone.xuc is None:
        return
    await phone.timeline.wait_for(
        lambda e: (
            e.kind == "cti"
            and e.name == "PhoneEvent"
            and e.fields.get("eventType") == "EventEstablished"
            and (e.fields.get("userData") or {}).get("SIPCALLID") == sip_call_id
        ),
        max(0.0, deadline - loop.time()),
        since=mark,
        what="PhoneEvent EventEstablished of the answered call",
    )


async def _hold(phone: Phone, *, hold: bool) -> dict[str, object]:
    if phone.device_conference.active:
        held = await phone.hold()
        if held != hold:  # toggled the wrong way: put it back and say so
            await phone.hold()
            raise XctestError(
                f"{phone.name}: the conference is {'already' if hold else 'not'} held"
            )
        return {"conference": True}
    live = [c for c in phone.calls.values() if c.is_connected]
    pick = [c for c in live if c.local_held != hold]
    if not pick:
        state = "no connected call to hold" if hold else "no held call to resume"
        raise XctestError(f"{phone.name}: {state}")
    call = pick[-1]
    await phone.hold(call.sip_call_id)
    return {"call": call.sip_call_id}


async def _keys(phone: Phone, keys: str) -> dict[str, object]:
    for i, key in enumerate(keys):
        if not await phone.dtmf(key):
            raise XctestError(f"{phone.name}: no connected call to send DTMF {key!r} on")
        if i < len(keys) - 1:
            await asyncio.sleep(KEY_INTERVAL)  # keypad pace, not a wait for an event
    return {"keys": keys}


def _play(phone: Phone, what: m.Signal | m.Tone) -> dict[str, object]:
    """Change what the party's microphone sends on its calls in progress."""
    live = [c for c in phone.calls.values() if c.state is not CallState.TERMINATED]
    if not live:
        raise XctestError(f"{phone.name}: no call to play into")
    for call in live:
        if call.mix is None:
            continue
        if isinstance(what, m.Tone):
            if what.for_ is not None:
                call.mix.insert(_tone(what.tone, what.level)(int(what.for_ * RATE)))
            else:
                call.mix.mic = _tone(what.tone, what.level)
        elif what is Signal.SILENCE:
            call.mix.mic = _silence
        else:
            call.mix.mic = SignatureSource(phone.signature)
    if isinstance(what, m.Tone):
        return {"tone_hz": what.tone, "level_dbfs": what.level}
    return {"signal": str(what)}


def _silence(n: int) -> NDArray[np.float32]:
    return np.zeros(n, dtype=np.float32)


def _tone(freq: float, level_dbfs: float) -> Callable[[int], NDArray[np.float32]]:
    """A continuous-phase sine source at ``level_dbfs`` RMS."""
    position = 0

    def read(n: int) -> NDArray[np.float32]:
        nonlocal position
        phase = 2.0 * math.pi * ((freq * position / RATE) % 1.0)  # where the last read ended
        position += n
        return sine(freq, n / RATE, RATE, level_dbfs, phase)

    return read
