"""SDP parsing and formatting over captured and hand-written WebRTC bodies."""

from __future__ import annotations

from pathlib import Path

import pytest

from xctest.errors import SipParseError
from xctest.sip.message import parse_message
from xctest.sip.sdp import Codec, Direction, MediaSection, SessionDescription, parse_sdp

DATA = Path(__file__).resolve().parents[2] / "data" / "sip"
SDP_FILES = [
    "jssip-invite-offer.sip",
    "baresip-200-answer.sip",
    "kamailio-invite-to-browser.sip",
    "jssip-200-answer.sip",
    "sipml5-invite-offer.sip",
    "asterisk-200-answer.sip",
]


def body(name: str) -> str:
    return parse_message((DATA / name).read_bytes()).text


@pytest.mark.parametrize("name", SDP_FILES)
def test_round_trip_is_exact(name: str) -> None:
    text = body(name)
    sdp = parse_sdp(text)
    assert str(sdp) == text
    assert parse_sdp(str(sdp)) == sdp


def test_chromium_offer_from_jssip() -> None:
    sdp = parse_sdp(body("jssip-invite-offer.sip"))
    assert sdp.origin == "- 3706172660388354369 2 IN IP4 127.0.0.1"
    assert sdp.attribute("group") == "BUNDLE 0"
    assert sdp.attribute("extmap-allow-mixed") == ""
    assert sdp.attribute("msid-semantic") == " WMS bfb116e3-b17d-4ee9-beb0-6b3b2494fbb0"
    assert sdp.connection_address is None
    (audio,) = sdp.media
    assert (audio.kind, audio.port, audio.proto) == ("audio", 34660, "UDP/TLS/RTP/SAVPF")
    assert audio.formats == ("111", "63", "9", "0", "8", "13", "110", "126")
    assert audio.connection_address == "127.0.0.1"
    assert audio.direction is Direction.SENDRECV
    assert audio.attribute("rtcp-mux") == ""
    assert audio.attribute("ice-ufrag") == "dXGQ"
    assert audio.attribute("setup") == "actpass"
    assert audio.attribute(
        "fingerprint",
    ) == (
        "sha-256 72:FA:38:BF:8A:3C:1D:34:2E:53:BA:D5:1F:3B:7D:F5:D6:B9:5E:E3:0F:93:B9:0B:2A:5B:E6:"
        "CF:5D:6B:33:50"
    )
    assert audio.attributes("candidate") == [
        "1566360196 1 udp 2122260223 127.0.0.1 34660 typ host generation 0 network-id 1 "
        "network-cost 50",
        "596844572 1 tcp 1518280447 127.0.0.1 9 typ host tcptype active generation 0 "
        "network-id 1 network-cost 50",
    ]
    assert len(audio.attributes("ssrc")) == 2
    assert audio.attribute("bundle-only") is None
    codecs = audio.codecs
    assert codecs[0] == Codec(111, "opus", 48000, 2, "minptime=10;useinbandfec=1")
    assert codecs[3] == Codec(0, "PCMU", 8000)
    assert codecs[-1] == Codec(126, "telephone-event", 8000)
    assert [c.name for c in codecs] == [
        "opus",
        "red",
        "G722",
        "PCMU",
        "PCMA",
        "CN",
        "telephone-event",
        "telephone-event",
    ]


def test_baresip_answer_session_level_connection() -> None:
    sdp = parse_sdp(body("baresip-200-answer.sip"))
    assert sdp.connection_address == "127.0.0.1"
    assert sdp.attribute("tool") == "baresip 1.0.0"
    audio = sdp.media[0]
    assert audio.connection_address is None
    assert audio.attribute("setup") == "active"
    assert audio.attribute("end-of-candidates") == ""
    assert audio.codecs == [
        Codec(0, "PCMU", 8000),
        Codec(8, "PCMA", 8000),
        Codec(126, "telephone-event", 8000, 1, "0-15"),
    ]


def test_rtpengine_offer_keeps_crypto_lines() -> None:
    audio = parse_sdp(body("kamailio-invite-to-browser.sip")).media[0]
    crypto = audio.attributes("crypto")
    assert len(crypto) == 12
    assert crypto[0].startswith("1 AEAD_AES_256_GCM inline:/U9jNBfrr0QgKi4SeTgpTUiwxc")


def test_direction_answer_and_replacement() -> None:
    assert Direction.SENDONLY.answer() is Direction.RECVONLY
    assert Direction.RECVONLY.answer() is Direction.SENDONLY
    assert Direction.SENDRECV.answer() is Direction.SENDRECV
    assert Direction.INACTIVE.answer() is Direction.INACTIVE
    sdp = parse_sdp(body("sipml5-invite-offer.sip"))
    audio = sdp.media[0]
    held = audio.with_direction(Direction.SENDONLY)
    assert held.direction is Direction.SENDONLY
    index = audio.lines.index(("a", "sendrecv"))
    assert held.lines[index] == ("a", "sendonly")
    assert len(held.lines) == len(audio.lines)
    new = sdp.with_media([held])
    assert "\r\na=sendonly\r\n" in str(new)
    assert "a=sendrecv" not in str(new)
    assert sdp.media[0].direction is Direction.SENDRECV


def test_direction_appended_when_absent_and_static_codecs() -> None:
    section = MediaSection(
        "audio", 4000, "RTP/AVP", ("0", "8", "18", "96"), (("c", "IN IP4 10.0.0.1/127"),)
    )
    assert section.direction is Direction.SENDRECV
    assert section.connection_address == "10.0.0.1"
    inactive = section.with_direction(Direction.INACTIVE)
    assert inactive.lines[-1] == ("a", "inactive")
    assert [c.name for c in section.codecs] == ["PCMU", "PCMA", "G729"]


def test_hand_written_asterisk_answer() -> None:
    sdp = parse_sdp(body("asterisk-200-answer.sip"))
    assert sdp.lines[2] == ("s", "Asterisk")
    audio = sdp.media[0]
    assert audio.port == 17682
    assert audio.codecs == [Codec(0, "PCMU", 8000), Codec(126, "telephone-event", 8000, 1, "0-16")]
    assert audio.attribute("ptime") == "20"


def test_lf_input_formats_with_crlf() -> None:
    sdp = parse_sdp("v=0\no=- 1 1 IN IP4 1.2.3.4\ns=-\nt=0 0\nm=audio 9 RTP/AVP 0\na=recvonly\n")
    assert sdp.media[0].direction is Direction.RECVONLY
    assert str(sdp) == (
        "v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nt=0 0\r\nm=audio 9 RTP/AVP 0\r\na=recvonly\r\n"
    )
    empty = SessionDescription((("v", "0"),))
    assert str(empty) == "v=0\r\n"
    assert empty.origin is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("v=0\r\nbogus line\r\n", "bad SDP line 2: 'bogus line' is not of the form <type>=<value>"),
        ("v=0\r\ns=-\r\nA=x\r\n", "bad SDP line 3: 'A=x'"),
        ("v=0\r\nm=audio\r\n", "bad SDP line 2: m-line 'audio' needs media, port and proto"),
        ("v=0\r\nm=audio x RTP/AVP 0\r\n", "bad SDP line 2: m-line port 'x' is not a number"),
        ("s=-\r\nv=0\r\n", "the first line must be v=0"),
        ("", "the first line must be v=0"),
    ],
)
def test_malformed_sdp(text: str, message: str) -> None:
    with pytest.raises(SipParseError) as info:
        parse_sdp(text)
    assert message in str(info.value)


def test_bad_rtpmap_is_reported_on_access() -> None:
    section = parse_sdp("v=0\r\nm=audio 9 RTP/AVP 96\r\na=rtpmap:96 opus/fast\r\n").media[0]
    with pytest.raises(SipParseError, match="bad SDP rtpmap for payload 96: 'opus/fast'"):
        _ = section.codecs
