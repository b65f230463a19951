"""DTMF on the phone: the INFO body SIPml5 sends, parsing the PBX's INFO, the in-band tones a
phone plays and the receiver that finds them in a call's audio."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest
from phone_fakes import IDENTITY, connected_call, make_context

from xctest.audio.moh import MOH_INDEX
from xctest.audio.signature import SignatureSource, signature_for
from xctest.media import MixSource
from xctest.phone.dtmf import (
    DTMF_RELAY,
    INBAND_PAUSE_MS,
    INBAND_TONE_MS,
    InbandReceiver,
    Keypad,
    inband_tone,
    info_body,
    relay_digit,
)


def test_info_body_is_sipml5s():
    assert info_body("5") == b"Signal=5\r\nDuration=120\r\n"


@pytest.mark.parametrize(
    ("content_type", "body", "digit"),
    [
        (DTMF_RELAY, "Signal=5\r\nDuration=120\r\n", "5"),
        ("Application/DTMF-Relay; x=1", "signal = #\nDuration=100", "#"),
        (DTMF_RELAY, "Duration=120", None),
        (DTMF_RELAY, "Signal=12", None),
        ("application/dtmf", "Signal=5", None),
        (None, "Signal=5", None),
    ],
)
def test_relay_digit(content_type, body, digit):
    assert relay_digit(content_type, body) == digit


def test_inband_tone_shape_and_bad_keys():
    tone = inband_tone("7")
    assert tone.size == 48 * int(INBAND_TONE_MS + INBAND_PAUSE_MS)
    assert not tone[48 * int(INBAND_TONE_MS) :].any()
    with pytest.raises(ValueError):
        inband_tone("x")


def test_the_receiver_finds_tones_over_silence_in_loop_time():
    receiver = InbandReceiver()
    signal = np.concatenate([np.zeros(4800, np.float32)] + [inband_tone(k) for k in "19#"])
    signal = np.concatenate([signal, np.zeros(4800, np.float32)])
    found = []
    t_first = 100.0
    for i in range(0, signal.size, 960):
        now = t_first + (i + 960) / 48000
        found += receiver.feed(signal[i : i + 960], now)
    assert [d for d, _, _ in found] == ["1", "9", "#"]
    step = (INBAND_TONE_MS + INBAND_PAUSE_MS) / 1000
    for n, (_, start, end) in enumerate(found):
        assert start == pytest.approx(t_first + 0.1 + n * step, abs=0.006)
        assert end - start == pytest.approx(INBAND_TONE_MS / 1000, abs=0.006)


def test_the_receiver_ignores_party_signatures():
    """Negative control: signatures (and music on hold) are never taken for digits."""
    receiver = InbandReceiver()
    for index in (0, 1, 2, 3, MOH_INDEX):
        source = SignatureSource(signature_for(index))
        assert [receiver.feed(source.read(960), 1.0) for _ in range(100)] == [[]] * 100


async def test_keypad_records_info_digits_on_the_call_and_the_timeline():
    call, remote = connected_call()
    ctx, channel, _, _ = make_context(call)
    timeline = ctx.timeline
    keypad = Keypad(ctx)
    call.on_digit = keypad.record
    info = remote.create_request(
        "INFO", via=IDENTITY.via(), body=info_body("4"), content_type=DTMF_RELAY
    )
    await keypad.on_info(call, info)
    assert channel.responses[-1].status == 200
    assert [(d.source, d.digit) for d in call.digits] == [("info", "4")]
    (entry,) = [e for e in timeline if e.kind == "dtmf"]
    assert (entry.name, entry.fields) == ("info", {"digit": "4", "sipCallId": call.sip_call_id})


async def test_keypad_sends_info_and_queues_tones_on_every_connected_call():
    first, _ = connected_call("c1")
    second, _ = connected_call("c2")
    second.mix = MixSource(lambda n: np.zeros(n, np.float32))
    ctx, channel, _, spawned = make_context(first, second)
    keypad = Keypad(ctx)
    assert await keypad.send("12") is False
    assert await keypad.send("#", inband=True) is True
    await asyncio.gather(*spawned)
    assert [(r.method, r.call_id, r.body) for r in channel.requests] == [
        ("INFO", "c1", info_body("#")),
        ("INFO", "c2", info_body("#")),
    ]
    assert second.mix.inserting
    # two requests, two transactions: each INFO has its own Via branch (RFC 3261 §8.1.1.7)
    branches = {r.headers.get("Via").split("branch=")[1].split(";")[0] for r in channel.requests}
    assert len(branches) == 2
