"""The media engine on real loopback legs (aiortc negotiates, the engine carries RTP): every
codec both ways, interop with aiortc's own media path, the aiortc internals it needs, and the
accounting of every frame through a relay that drops and delays packets on purpose."""

from __future__ import annotations

import asyncio
import threading
from importlib import metadata

import pytest
from lossy import candidate_port, start_relay, through

from xctest.audio.signature import SignatureSource, signature_for
from xctest.media import MixSource, Peer, PeerConfig, SignalTrack, hooks
from xctest.phone.hearing import Hearing

pytestmark = pytest.mark.integration

A, B = signature_for(0, "a"), signature_for(1, "b")


def leg(name: str, sig, **config) -> tuple[Peer, Hearing]:
    peer = Peer(PeerConfig(**config), SignalTrack(MixSource(SignatureSource(sig))), name=name)
    hearing = Hearing([A, B], lambda *digit: None)
    peer.on_frames = hearing.on_frames
    loop = asyncio.get_running_loop()

    def on_track(sink):  # aiortc's own path
        sink.listeners.append(lambda samples: hearing.on_audio(samples, loop.time()))

    peer.on_remote_track = on_track
    return peer, hearing


@pytest.fixture
async def relays():
    opened = []
    yield opened
    for relay in opened:
        relay.close()


async def connect(a: Peer, b: Peer, relay_options=None, opened=None):
    offer = await a.make_offer()
    answer = await b.accept_offer(offer)
    relay = None
    if relay_options is not None:  # a reaches b through the relay: a's view of b's candidate
        relay = await start_relay(candidate_port(answer), **relay_options)
        opened.append(relay)
        answer = through(answer, relay.port)
    await a.accept_answer(answer)
    await asyncio.wait_for(asyncio.gather(a.wait_connected(), b.wait_connected()), 10)
    return relay


async def heard_for(hearing: Hearing, name: str, seconds: float) -> tuple[float, float]:
    t0 = await hearing.wait_heard(name, 5, 0.0, f"{name} heard")
    await hearing.wait_until(t0 + seconds, seconds + 5, "audio")
    return t0, t0 + seconds


@pytest.mark.parametrize("codec", ["PCMU", "PCMA", "opus"])
async def test_the_engine_carries_both_directions(codec):
    a, ha = leg("a", A, codecs=(codec,))
    b, hb = leg("b", B, codecs=(codec,))
    try:
        await connect(a, b)
        assert a.fast is not None and b.fast is not None
        assert a.fast.codec.name == codec.lower()
        t0, t1 = await heard_for(ha, "b", 1.0)
        assert ha.presence("b", t0, t1) >= 0.95 and ha.presence("a", t0, t1) == 0.0
        t0, t1 = await heard_for(hb, "a", 1.0)
        assert hb.presence("a", t0, t1) >= 0.95
        stats = a.stats()
        assert stats is not None and stats.received >= 50 and stats.lost == 0
    finally:
        await a.aclose()
        await b.aclose()


@pytest.mark.parametrize("codec", ["PCMU", "opus"])
async def test_an_engine_leg_and_an_aiortc_leg_understand_each_other(codec):
    a, ha = leg("a", A, codecs=(codec,))  # the engine
    b, hb = leg("b", B, codecs=(codec,), engine=False)  # stock aiortc, decoder thread and all
    try:
        await connect(a, b)
        assert a.fast is not None and b.fast is None
        t0, t1 = await heard_for(hb, "a", 1.0)  # aiortc decodes what the engine sends
        assert hb.presence("a", t0, t1) >= 0.9
        t0, t1 = await heard_for(ha, "b", 1.0)  # the engine decodes what aiortc sends
        assert ha.presence("b", t0, t1) >= 0.9
    finally:
        await a.aclose()
        await b.aclose()


async def test_the_aiortc_internals_the_engine_uses_are_there():
    # aiortc is pinned to the series the hooks were read from; a new one must be checked
    assert metadata.version("aiortc").startswith(hooks.AIORTC_SERIES + ".")
    a, _ = leg("a", A)
    b, _ = leg("b", B)
    try:
        await connect(a, b)
        wire = hooks.wire_of(a._pc)  # each hook, or HookMissing naming the one that moved
        assert wire.local_ssrc == a._pc.getTransceivers()[0].sender._ssrc
        assert wire.protocols and wire.selected.startswith("127.0.0.1:")
    finally:
        await a.aclose()
        await b.aclose()


async def test_an_engine_leg_starts_no_decoder_thread():
    a, _ = leg("a", A)
    b, _ = leg("b", B)
    try:
        await connect(a, b)
        assert a.fast is not None and b.fast is not None
        decoders = [t.name for t in threading.enumerate() if t.name.endswith("-decoder")]
        assert decoders == [], f"aiortc receivers started: {decoders}"
    finally:
        await a.aclose()
        await b.aclose()


def test_a_hook_that_moved_is_named():
    class Dtls:  # a DTLS transport without its SRTP sessions
        transport = None

    class Sender:
        transport = Dtls()

    class Transceiver:
        sender = Sender()

    class Connection:
        def getTransceivers(self):
            return [Transceiver()]

    with pytest.raises(hooks.HookMissing) as info:
        hooks.wire_of(Connection())
    assert info.value.hook == "RTCDtlsTransport._tx_srtp"
    assert "written against aiortc 1.16" in str(info.value)


async def test_a_codec_the_engine_does_not_carry_is_left_to_aiortc(monkeypatch):
    from xctest.media import peer as peer_module

    monkeypatch.setattr(peer_module, "codec_for", lambda name, payload_type: None)
    a, ha = leg("a", A)
    b, hb = leg("b", B)
    try:
        await connect(a, b)
        assert a.fast is None and b.fast is None
        t0, t1 = await heard_for(ha, "b", 1.0)
        assert ha.presence("b", t0, t1) >= 0.9
        assert a.stats() is None  # no frame statistics on aiortc's path
    finally:
        await a.aclose()
        await b.aclose()


async def test_every_frame_is_accounted_for_through_a_lossy_relay(relays):
    # towards b: 10 % of the RTP dropped, and one packet in 25 held back 200 ms (past the
    # 60 ms play-out deadline)
    a, _ = leg("a", A, codecs=("PCMU",))
    b, hb = leg("b", B, codecs=("PCMU",))
    try:
        options = {"loss": 0.10, "delay_every": 25, "delay": 0.200}
        relay = await connect(a, b, options, relays)
        t0 = await hb.wait_heard("a", 5, 0.0, "a heard")
        await hb.wait_until(t0 + 4.0, 10, "audio")
        stats = b.stats()
        assert stats is not None
        # the relay's own counts, to a packet or two still in flight
        assert abs(stats.lost - relay.dropped) <= 2, (stats, relay.dropped)
        assert abs(stats.late - relay.delayed) <= 2, (stats, relay.delayed)
        assert stats.concealed >= stats.lost + stats.late - 4
        assert stats.jitter_ms > 0.5  # the held-back packets show
        # a missing frame is a frame where a was not heard
        frames, missing = hb.counts(t0, t0 + 4.0)
        share = hb.presence("a", t0, t0 + 4.0)
        assert missing >= 0.08 * frames
        assert share == pytest.approx(1 - missing / frames, abs=0.02)
    finally:
        await a.aclose()
        await b.aclose()


@pytest.mark.parametrize(("loss", "heard"), [(0.30, False), (0.005, True)])
async def test_hears_is_judged_over_the_frames_that_should_have_arrived(loss, heard, relays):
    a, _ = leg("a", A, codecs=("PCMU",))
    b, hb = leg("b", B, codecs=("PCMU",))
    try:
        await connect(a, b, {"loss": loss, "seed": 11}, relays)
        t0 = await hb.wait_heard("a", 5, 0.0, "a heard")
        await hb.wait_until(t0 + 3.0, 8, "audio")
        share = hb.presence("a", t0, t0 + 3.0)
        assert (share >= 0.8) is heard, share
        frames, missing = hb.counts(t0, t0 + 3.0)
        assert share == pytest.approx(1 - missing / frames, abs=0.02)  # lost = not heard
        assert missing / frames == pytest.approx(loss, abs=0.1)
    finally:
        await a.aclose()
        await b.aclose()
