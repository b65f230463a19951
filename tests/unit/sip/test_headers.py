"""Headers container, canonical names, Via and CSeq values."""

from __future__ import annotations

import pytest

from xctest.errors import SipParseError
from xctest.sip.headers import CSeq, Headers, Via, canonical_name, parse_cseq, parse_via


@pytest.mark.parametrize(
    ("written", "canonical"),
    [
        ("i", "Call-ID"),
        ("m", "Contact"),
        ("F", "From"),
        ("t", "To"),
        ("v", "Via"),
        ("l", "Content-Length"),
        ("c", "Content-Type"),
        ("k", "Supported"),
        ("s", "Subject"),
        ("e", "Content-Encoding"),
        ("o", "Event"),
        ("r", "Refer-To"),
        ("b", "Referred-By"),
        ("u", "Allow-Events"),
        ("x", "Session-Expires"),
        ("call-id", "Call-ID"),
        ("CALL-ID", "Call-ID"),
        ("cseq", "CSeq"),
        ("www-authenticate", "WWW-Authenticate"),
        ("content-length", "Content-Length"),
        ("alert-info", "Alert-Info"),
        ("user-agent", "User-Agent"),
        ("max-forwards", "Max-Forwards"),
        ("X-Custom-thing", "X-Custom-thing"),
    ],
)
def test_canonical_name(written: str, canonical: str) -> None:
    assert canonical_name(written) == canonical


def _sample() -> Headers:
    return Headers(
        [
            ("v", "SIP/2.0/WS a.invalid;branch=z9hG4bK1"),
            (
                "Via",
                "SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK2, SIP/2.0/UDP 10.0.0.2;branch=z9hG4bK3",
            ),
            ("from", "<sip:a@b>;tag=1"),
            ("Allow", "INVITE,ACK,CANCEL"),
            ("allow", "BYE"),
            ("WWW-Authenticate", 'Digest realm="a,b", nonce="x"'),
            ("Contact", '"Doe, John" <sip:j@h;x=1,2>;q=0.5, <sip:k@h>'),
        ]
    )


def test_names_are_stored_canonical_and_lookups_ignore_case() -> None:
    headers = _sample()
    assert [name for name, _ in headers.items()][:3] == ["Via", "Via", "From"]
    assert headers.get("VIA") == "SIP/2.0/WS a.invalid;branch=z9hG4bK1"
    assert headers.get("f") == "<sip:a@b>;tag=1"
    assert headers.get("Call-ID") is None
    assert headers.get("Call-ID", "dflt") == "dflt"
    assert "from" in headers
    assert "i" not in headers
    assert 42 not in headers
    assert len(headers) == 7


def test_get_all_splits_list_headers_only() -> None:
    headers = _sample()
    assert headers.get_all("via") == [
        "SIP/2.0/WS a.invalid;branch=z9hG4bK1",
        "SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK2",
        "SIP/2.0/UDP 10.0.0.2;branch=z9hG4bK3",
    ]
    assert headers.get_all("Allow") == ["INVITE", "ACK", "CANCEL", "BYE"]
    assert headers.get_all("m") == ['"Doe, John" <sip:j@h;x=1,2>;q=0.5', "<sip:k@h>"]
    assert headers.get_all("WWW-Authenticate") == ['Digest realm="a,b", nonce="x"']
    assert headers.get_all("Date") == []
    assert Headers([("Supported", "")]).get_all("Supported") == []


def test_add_prepend_set_remove_return_new_objects() -> None:
    headers = Headers([("From", "f"), ("Via", "v1"), ("To", "t"), ("Via", "v2")])
    assert headers.add("Max-Forwards", "70").items()[-1] == ("Max-Forwards", "70")
    assert headers.prepend("v", "v0").items() == (
        ("From", "f"),
        ("Via", "v0"),
        ("Via", "v1"),
        ("To", "t"),
        ("Via", "v2"),
    )
    assert headers.prepend("Route", "r").items()[0] == ("Route", "r")
    assert headers.set("via", "only").items() == (("From", "f"), ("Via", "only"), ("To", "t"))
    assert headers.set("Expires", "60").items()[-1] == ("Expires", "60")
    assert headers.remove("VIA").items() == (("From", "f"), ("To", "t"))
    assert headers.items() == (("From", "f"), ("Via", "v1"), ("To", "t"), ("Via", "v2"))


def test_equality_hash_and_repr() -> None:
    a = Headers([("i", "x")])
    b = Headers([("Call-ID", "x")])
    assert a == b
    assert hash(a) == hash(b)
    assert a != Headers([("Call-ID", "y")])
    assert a != "Call-ID: x"
    assert repr(a) == "Headers([('Call-ID', 'x')])"
    assert list(a) == [("Call-ID", "x")]


def test_parse_kamailio_via_with_received_and_rport() -> None:
    via = parse_via(
        "SIP/2.0/WS ajf9ba05u4m1.invalid;branch=z9hG4bK7302904;rport=60994;received=127.0.0.1"
    )
    assert via.transport == "WS"
    assert via.host == "ajf9ba05u4m1.invalid"
    assert via.port is None
    assert via.branch == "z9hG4bK7302904"
    assert via.param("rport") == "60994"
    assert via.param("received") == "127.0.0.1"
    assert via.sent_by == "ajf9ba05u4m1.invalid"


def test_parse_via_with_double_space_and_port() -> None:
    via = parse_via(
        "SIP/2.0/WS  127.0.0.1:5039;branch=z9hG4bK3dd3.f5b0699e539955154d735e1b453647ed.0"
    )
    assert (via.transport, via.host, via.port) == ("WS", "127.0.0.1", 5039)
    assert via.sent_by == "127.0.0.1:5039"
    assert via.branch == "z9hG4bK3dd3.f5b0699e539955154d735e1b453647ed.0"


def test_parse_via_lws_around_slashes_and_flag_rport() -> None:
    via = parse_via("SIP / 2.0 / wss df7jal23ls0d.invalid ; branch=z9hG4bKx ; rport")
    assert via.transport == "WSS"
    assert via.param("rport") == ""
    assert via.param("maddr") is None
    assert str(via) == "SIP/2.0/WSS df7jal23ls0d.invalid;branch=z9hG4bKx;rport"


def test_via_format_and_with_param() -> None:
    via = Via("WS", "df7jal23ls0d.invalid", None, (("branch", "z9hG4bKabc"), ("rport", None)))
    assert str(via) == "SIP/2.0/WS df7jal23ls0d.invalid;branch=z9hG4bKabc;rport"
    filled = via.with_param("rport", "52468").with_param("received", "10.0.0.9")
    assert str(filled) == (
        "SIP/2.0/WS df7jal23ls0d.invalid;branch=z9hG4bKabc;rport=52468;received=10.0.0.9"
    )
    v6 = Via("UDP", "2001:db8::5", 5060)
    assert v6.sent_by == "[2001:db8::5]:5060"
    assert parse_via(str(v6)) == v6


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("xyz", "bad Via header 'xyz': missing transport"),
        ("SIP/2.0 host", "bad Via header 'SIP/2.0 host': missing transport"),
        ("SIP/2.0/ host", "missing sent-by host"),  # SLASH allows LWS: "host" is the transport
        ("SIP/3.0/UDP host", "protocol is not SIP/2.0"),
        ("SIP/2.0/UDP", "missing sent-by host"),
        ("SIP/2.0/UDP ;branch=x", "missing sent-by host"),
        ("SIP/2.0/UDP host:port", "port 'port' is not a number"),
        ("SIP/2.0/UDP ho$t", "bad host 'ho$t'"),
        ("SIP/2.0/UDP host;branch=a b", "bad value 'a b' for parameter 'branch'"),
    ],
)
def test_malformed_via(text: str, message: str) -> None:
    with pytest.raises(SipParseError) as info:
        parse_via(text)
    assert message in str(info.value)
    assert info.value.response_hint == 400


def test_cseq() -> None:
    assert parse_cseq("3223 INVITE") == CSeq(3223, "INVITE")
    assert parse_cseq("  1\tREGISTER ") == CSeq(1, "REGISTER")
    assert str(CSeq(38594, "ACK")) == "38594 ACK"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("INVITE", "bad CSeq header 'INVITE': expected '<number> <method>'"),
        ("1 2 INVITE", "expected '<number> <method>'"),
        ("one INVITE", "bad CSeq header 'one INVITE': 'one' is not an integer"),
        ("-1 INVITE", "'-1' is not an integer"),
        ("2147483648 INVITE", "number is 2**31 or more"),
        ("1 INV@TE", "bad method 'INV@TE'"),
    ],
)
def test_malformed_cseq(text: str, message: str) -> None:
    with pytest.raises(SipParseError) as info:
        parse_cseq(text)
    assert message in str(info.value)
