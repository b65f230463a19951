"""Request/Response parsing and serialising, over captured and hand-written messages.

The captured files come from the team's SIP-over-WebSocket traces (JsSIP, Kamailio, baresip);
the ``sipml5-*``/``asterisk-*`` files are hand-written in the SIPml5/Asterisk style.  Every file
must serialise back to the same bytes: each one carries a correct Content-Length, so the
Content-Length normalisation of ``serialize`` changes nothing.  The one exception is
``compact-folded-options.sip``, whose folded lines are unfolded by parsing (tested apart).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from xctest.errors import LocalProtocolError, SipParseError
from xctest.sip.headers import CSeq, Headers, Via
from xctest.sip.message import (
    REASONS,
    Request,
    Response,
    make_response,
    parse_message,
    serialize,
)
from xctest.sip.uri import SipUri

DATA = Path(__file__).resolve().parents[2] / "data" / "sip"
EXACT_FILES = sorted(p.name for p in DATA.glob("*.sip") if p.name != "compact-folded-options.sip")


def load(name: str) -> bytes:
    return (DATA / name).read_bytes()


def test_data_files_are_present_and_use_crlf() -> None:
    assert len(EXACT_FILES) >= 20
    for name in EXACT_FILES:
        head = load(name).split(b"\r\n\r\n", 1)[0]
        assert b"\n" not in head.replace(b"\r\n", b""), name


@pytest.mark.parametrize("name", EXACT_FILES)
def test_round_trip_is_byte_exact(name: str) -> None:
    data = load(name)
    msg = parse_message(data)
    assert serialize(msg) == data
    assert bytes(msg) == data
    assert parse_message(serialize(msg)) == msg


def test_jssip_register() -> None:
    msg = parse_message(load("jssip-register.sip"))
    assert isinstance(msg, Request)
    assert msg.is_request
    assert msg.method == "REGISTER"
    assert msg.uri == SipUri(host="127.0.0.1")
    assert msg.call_id == "la0uj5nk6qp7gpuob6ncmo"
    assert msg.cseq == CSeq(1, "REGISTER")
    assert msg.top_via == Via("WS", "ajf9ba05u4m1.invalid", None, (("branch", "z9hG4bK7302904"),))
    assert msg.from_.tag == "35a459v7dr"
    assert msg.to.tag is None
    assert str(msg.to.uri) == "sip:web@127.0.0.1"
    contact = msg.contact
    assert contact is not None
    assert contact.uri.user == "nmdkr0na"
    assert contact.param("reg-id") == "1"
    assert contact.param("+sip.ice") == ""
    assert contact.param("expires") == "300"
    assert msg.headers.get("Max-Forwards") == "69"
    assert msg.headers.get_all("Supported") == ["path", "gruu", "outbound"]
    assert len(msg.headers.get_all("Allow")) == 11
    assert msg.body == b""
    assert msg.content_type is None


def test_kamailio_401_carries_the_challenge() -> None:
    msg = parse_message(load("kamailio-401-register.sip"))
    assert isinstance(msg, Response)
    assert not msg.is_request
    assert (msg.status, msg.reason) == (401, "Unauthorized")
    assert msg.is_final and not msg.is_success and not msg.is_provisional
    assert msg.headers.get("WWW-Authenticate") == (
        'Digest realm="127.0.0.1", nonce="aw2/8msNvsZL/QyKnlI5MO4+HQuDC9e1"'
    )
    via = msg.top_via
    assert via.param("rport") == "60994"
    assert via.param("received") == "127.0.0.1"
    assert msg.to.tag == "9dd61ff61e802d8e2bef5f14621ef3c2.fd0a0000"
    assert msg.headers.get("Server") == "kamailio (5.6.3 (x86_64/linux))"


def test_kamailio_100_with_free_text_reason() -> None:
    msg = parse_message(load("kamailio-100-trying.sip"))
    assert isinstance(msg, Response)
    assert msg.status == 100
    assert msg.reason == "trying -- your call is important to us"
    assert msg.is_provisional and not msg.is_final


def test_jssip_invite_offer_body_cut_to_content_length() -> None:
    msg = parse_message(load("jssip-invite-offer.sip"))
    assert isinstance(msg, Request)
    assert msg.method == "INVITE"
    assert str(msg.uri) == "sip:bs@127.0.0.1"
    assert msg.cseq == CSeq(3223, "INVITE")
    assert msg.content_type == "application/sdp"
    assert len(msg.body) == 1551
    assert msg.text.startswith("v=0\r\no=- 3706172660388354369 2 IN IP4 127.0.0.1\r\n")
    assert msg.text.endswith("0d670872-6bc1-4dd9-acc3-7c8ccc076419\r\n")
    assert msg.headers.get("Session-Expires") == "90"


def test_baresip_180_record_routes_in_order() -> None:
    msg = parse_message(load("baresip-180-ringing.sip"))
    assert msg.headers.get_all("Record-Route") == [
        "<sip:127.0.0.1;r2=on;lr;ftag=h63fkgq0du>",
        "<sip:127.0.0.1:5039;transport=ws;r2=on;lr;ftag=h63fkgq0du>",
    ]
    assert msg.top_via.branch == "z9hG4bK3131610"
    contact = msg.contact
    assert contact is not None
    assert (contact.uri.user, contact.uri.port) == ("bs-0x55716b17e4a0", 5070)


def test_kamailio_invite_to_browser_two_vias_and_empty_header() -> None:
    msg = parse_message(load("kamailio-invite-to-browser.sip"))
    assert isinstance(msg, Request)
    assert msg.uri.param("transport") == "ws"
    assert msg.uri.user == "6mt5moir"
    vias = msg.vias
    assert [(v.transport, v.host, v.port) for v in vias] == [
        ("WS", "127.0.0.1", 5039),
        ("UDP", "127.0.0.1", 5070),
    ]
    assert vias[1].param("rport") == "5070"
    assert msg.headers.get("Supported") == ""
    assert len(msg.body) == 1699
    assert "a=crypto:12 NULL_HMAC_SHA1_32" in msg.text


def test_sipml5_register() -> None:
    msg = parse_message(load("sipml5-register.sip"))
    assert isinstance(msg, Request)
    assert str(msg.uri) == "sip:default"
    via = msg.top_via
    assert via.host == "df7jal23ls0d.invalid"
    assert via.param("rport") == ""
    assert via.branch == "z9hG4bKsFd8mcyzsIsS2Dkr6W1Iqbj0nwYDnFDv"
    contact = msg.contact
    assert contact is not None
    assert contact.uri.param("rtcweb-breaker") == "no"
    assert contact.uri.param("transport") == "ws"
    assert contact.param("language") == '"en,fr"'
    assert contact.param("click2call") == "no"
    assert msg.headers.get("User-Agent") == "XiVO XC WebRTC 2024.05"
    assert msg.headers.get("Organization") == "Doubango Telecom"
    # SIPml5 writes Content-Length in the middle: serialising keeps it there
    names = [name for name, _ in msg.headers.items()]
    assert names[6] == "Content-Length"


def test_sipml5_invite_display_name_and_split_supported() -> None:
    msg = parse_message(load("sipml5-invite-offer.sip"))
    assert msg.from_.display_name == "Alice Martin"
    assert msg.from_.tag == "nL2pXo8dRkFw3mQa7vZc"
    assert msg.headers.get_all("Supported") == ["timer", "norefersub"]
    assert msg.headers.get_all("Allow")[0] == "ACK"
    assert msg.content_type == "application/sdp"


def test_asterisk_200_and_info_body() -> None:
    ok = parse_message(load("asterisk-200-answer.sip"))
    assert isinstance(ok, Response)
    assert ok.is_success
    assert ok.to.tag == "as6e1f0b4a"
    assert ok.top_via.param("received") == "10.20.0.15"
    info = parse_message(load("sipml5-info-dtmf.sip"))
    assert info.content_type == "application/dtmf-relay"
    assert info.text == "Signal=5\r\nDuration=120\r\n"


def test_compact_forms_and_folding() -> None:
    msg = parse_message(load("compact-folded-options.sip"))
    assert isinstance(msg, Request)
    assert msg.method == "OPTIONS"
    assert msg.call_id == "compact-1234@df7jal23ls0d.invalid"
    assert msg.from_.display_name == "Bob"
    assert msg.to.uri.user == "1001"
    assert msg.top_via.branch == "z9hG4bKc0mpact1"
    assert msg.headers.get("Supported") == "path, outbound"
    assert msg.headers.get_all("k") == ["path", "outbound"]
    assert msg.headers.get("Subject") == "folded subject line"
    assert msg.content_type == "text/plain"
    assert msg.body == b"hello\n"
    out = serialize(msg)
    # normalisation: full names, unfolded values
    assert b"\r\nCall-ID: compact-1234@df7jal23ls0d.invalid\r\n" in out
    assert b"\r\nSupported: path, outbound\r\n" in out
    assert b"\r\nContent-Length: 6\r\n\r\nhello\n" in out
    assert parse_message(out) == msg


def test_lf_only_line_ends_and_leading_crlf() -> None:
    text = (
        "\r\nBYE sip:a@b SIP/2.0\nVia: SIP/2.0/WS x.invalid;branch=z9hG4bK1\n"
        "From: <sip:c@d>;tag=1\nTo: <sip:a@b>;tag=2\n"
        "Call-ID: abc\nCSeq: 2 BYE\nContent-Length: 0\n\n"
    )
    msg = parse_message(text)
    assert isinstance(msg, Request)
    assert msg.method == "BYE"
    assert msg.cseq == CSeq(2, "BYE")
    assert serialize(msg).startswith(b"BYE sip:a@b SIP/2.0\r\nVia: ")


def test_missing_content_length_takes_the_rest_of_the_frame() -> None:
    msg = parse_message("SIP/2.0 200 OK\r\nCSeq: 1 INFO\r\n\r\nrest of frame")
    assert msg.body == b"rest of frame"
    assert (
        serialize(msg)
        == b"SIP/2.0 200 OK\r\nCSeq: 1 INFO\r\nContent-Length: 13\r\n\r\nrest of frame"
    )


def test_extra_bytes_after_content_length_are_dropped() -> None:
    msg = parse_message(b"SIP/2.0 200 OK\r\nContent-Length: 2\r\n\r\nabcdef")
    assert msg.body == b"ab"


def test_serialize_recomputes_content_length_in_place() -> None:
    req = Request(
        "MESSAGE",
        SipUri(user="a", host="b"),
        Headers([("Content-Length", "999"), ("Call-ID", "x")]),
        "héllo".encode(),
    )
    assert serialize(req) == (
        "MESSAGE sip:a@b SIP/2.0\r\nContent-Length: 6\r\nCall-ID: x\r\n\r\nhéllo".encode()
    )
    resp = Response(486, "Busy Here", Headers([("Call-ID", "x")]))
    assert serialize(resp) == b"SIP/2.0 486 Busy Here\r\nCall-ID: x\r\nContent-Length: 0\r\n\r\n"


def test_serialize_refuses_line_breaks_in_values() -> None:
    resp = Response(200, "OK", Headers([("Subject", "a\r\nInjected: yes")]))
    with pytest.raises(LocalProtocolError, match="contains a line break"):
        serialize(resp)


def _invite() -> Request:
    msg = parse_message(load("sipml5-invite-offer.sip"))
    assert isinstance(msg, Request)
    return msg


def test_make_response_copies_rfc3261_8_2_6_2_headers() -> None:
    invite = parse_message(load("kamailio-invite-to-browser.sip"))
    assert isinstance(invite, Request)
    ringing = make_response(invite, 180, to_tag="sps11f3sso", headers=[("Contact", "<sip:web@h>")])
    assert ringing.reason == "Ringing"
    assert ringing.headers.items() == (
        ("Via", "SIP/2.0/WS  127.0.0.1:5039;branch=z9hG4bK3dd3.f5b0699e539955154d735e1b453647ed.0"),
        (
            "Via",
            "SIP/2.0/UDP 127.0.0.1:5070;received=127.0.0.1;"
            "branch=z9hG4bKf16151bf8623b087;rport=5070",
        ),
        ("From", "<sip:bs@127.0.0.1>;tag=d6d299624004d3f3"),
        ("To", "<sip:web@127.0.0.1>;tag=sps11f3sso"),
        ("Call-ID", "df718b7bae45757b"),
        ("CSeq", "38594 INVITE"),
        ("Contact", "<sip:web@h>"),
        ("Content-Length", "0"),
    )
    assert parse_message(serialize(ringing)) == ringing


def test_make_response_keeps_an_existing_to_tag_and_sets_body() -> None:
    bye = parse_message(load("jssip-bye.sip"))
    assert isinstance(bye, Request)
    ok = make_response(bye, 200, to_tag="ignored")
    assert ok.to.tag == "f87b3fe0fcf2606f"
    answer = make_response(_invite(), 200, "Fine", body=b"v=0\r\n", content_type="application/sdp")
    assert answer.reason == "Fine"
    assert answer.content_type == "application/sdp"
    assert answer.headers.get("Content-Length") == "5"
    assert answer.to.tag is None
    assert make_response(_invite(), 299).reason == "Unknown"
    with pytest.raises(LocalProtocolError, match="status 700 is not in 100..699"):
        make_response(_invite(), 700)


def test_reason_table() -> None:
    assert REASONS[183] == "Session Progress"
    assert REASONS[481] == "Call/Transaction Does Not Exist"
    assert REASONS[487] == "Request Terminated"
    assert REASONS[603] == "Decline"


def test_with_headers_and_with_body() -> None:
    invite = _invite()
    bare = invite.with_body(b"")
    assert bare.body == b""
    assert bare.headers.get("Content-Length") == "0"
    assert bare.content_type == "application/sdp"
    dtmf = invite.with_body(b"Signal=1\r\nDuration=120\r\n", "application/dtmf-relay")
    assert dtmf.content_type == "application/dtmf-relay"
    assert dtmf.headers.get("Content-Length") == "24"
    assert isinstance(dtmf, Request)
    moved = invite.with_headers(
        invite.headers.prepend("Via", "SIP/2.0/WS p.invalid;branch=z9hG4bKp")
    )
    assert isinstance(moved, Request)
    assert moved.top_via.host == "p.invalid"
    assert len(moved.vias) == 2
    assert invite.top_via.host == "df7jal23ls0d.invalid"


def test_accessors_raise_on_missing_or_bad_headers() -> None:
    resp = Response(200, "OK", Headers([("CSeq", "1 BYE")]))
    with pytest.raises(SipParseError, match="missing Call-ID header"):
        _ = resp.call_id
    with pytest.raises(SipParseError, match="missing Via header"):
        _ = resp.top_via
    assert resp.vias == []
    assert resp.contact is None
    with pytest.raises(SipParseError, match="missing From header"):
        _ = resp.from_
    with pytest.raises(SipParseError, match="body is not valid UTF-8"):
        _ = Response(200, "OK", Headers(), b"\xff").text


REQUEST_HEAD = (
    "INVITE sip:bob@example.com SIP/2.0\r\n"
    "Via: SIP/2.0/WS x.invalid;branch=z9hG4bK1\r\n"
    "From: <sip:alice@example.com>;tag=1\r\n"
    "To: <sip:bob@example.com>\r\n"
    "Call-ID: c1\r\n"
    "CSeq: 1 INVITE\r\n"
)


@pytest.mark.parametrize(
    ("frame", "message"),
    [
        (b"", "empty SIP frame"),
        (b"\r\n\r\n", "empty SIP frame"),
        (b"HELLO\r\n\r\n", "bad start line 'HELLO': expected '<METHOD> <URI> SIP/2.0'"),
        (b"INVITE sip:a@b SIP/3.0\r\n\r\n", "bad start line 'INVITE sip:a@b SIP/3.0'"),
        (b"SIP/2.0 OK\r\n\r\n", "bad start line 'SIP/2.0 OK': expected 'SIP/2.0 <code> <reason>'"),
        (b"SIP/2.0 099 Low\r\n\r\n", "bad start line 'SIP/2.0 099 Low': status 99 not in 100..699"),
        (b"SIP/2.0 700 High\r\n\r\n", "status 700 not in 100..699"),
        (
            b"SIP/2.0 200 OK\r\nNoColonHere\r\n\r\n",
            "line 2: header line without colon: 'NoColonHere'",
        ),
        (b"SIP/2.0 200 OK\r\nBad Name: x\r\n\r\n", "line 2: bad header name 'Bad Name'"),
        (b"SIP/2.0 200 OK\r\n folded\r\n\r\n", "line 2: continuation line before any header"),
        (
            b"SIP/2.0 200 OK\r\nCSeq: x INVITE\r\n\r\n",
            "bad CSeq header 'x INVITE': 'x' is not an integer",
        ),
        (b"SIP/2.0 200 OK\r\nContent-Length: ten\r\n\r\n", "bad Content-Length header 'ten'"),
        (b"SIP/2.0 200 OK\r\nl: -1\r\n\r\n", "bad Content-Length header '-1'"),
        (
            b"SIP/2.0 200 OK\r\nContent-Length: 10\r\n\r\nshort",
            "body shorter than Content-Length (5 < 10)",
        ),
        (
            b"SIP/2.0 200 OK\r\nVia: nonsense\r\n\r\n",
            "bad Via header 'nonsense': missing transport",
        ),
        (b"SIP/2.0 200 OK\r\nFrom: <sip:a@b\r\n\r\n", "bad address '<sip:a@b': missing '>'"),
        (b"SIP/2.0 200 OK\r\n\xff: x\r\n\r\n", "header section is not valid UTF-8"),
        (b"INVITE sip:a@ SIP/2.0\r\n\r\n", "missing mandatory header Via"),
        (REQUEST_HEAD.replace("Call-ID: c1\r\n", "").encode(), "missing mandatory header Call-ID"),
        (REQUEST_HEAD.replace("CSeq: 1 INVITE\r\n", "").encode(), "missing mandatory header CSeq"),
        (
            REQUEST_HEAD.replace("To: <sip:bob@example.com>\r\n", "").encode(),
            "missing mandatory header To",
        ),
        (
            REQUEST_HEAD.replace("1 INVITE", "1 BYE").encode(),
            "CSeq method 'BYE' does not match request method 'INVITE'",
        ),
        (
            REQUEST_HEAD.replace("sip:bob@example.com SIP", "bob SIP").encode(),
            "bad Request-URI: bad URI 'bob': missing scheme",
        ),
    ],
)
def test_malformed_messages(frame: bytes, message: str) -> None:
    with pytest.raises(SipParseError) as info:
        parse_message(frame)
    assert message in str(info.value)
    assert info.value.response_hint == 400
    assert info.value.frame == frame


def test_request_without_blank_line_still_parses() -> None:
    msg = parse_message(REQUEST_HEAD)
    assert msg.body == b""
    assert msg.cseq == CSeq(1, "INVITE")
