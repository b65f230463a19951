"""SipUri and NameAddr: parsing real-world values, formatting, and malformed input."""

from __future__ import annotations

import pytest

from xctest.errors import SipParseError
from xctest.sip.uri import NameAddr, SipUri, parse_name_addr, parse_uri


def test_parse_sipml5_contact_uri() -> None:
    uri = parse_uri("sip:1000@df7jal23ls0d.invalid;rtcweb-breaker=no;transport=ws")
    assert uri.scheme == "sip"
    assert uri.user == "1000"
    assert uri.password is None
    assert uri.host == "df7jal23ls0d.invalid"
    assert uri.port is None
    assert uri.params == (("rtcweb-breaker", "no"), ("transport", "ws"))
    assert uri.param("TRANSPORT") == "ws"
    assert uri.has_param("rtcweb-breaker")
    assert not uri.has_param("lr")


def test_parse_record_route_uri_with_flag_param() -> None:
    uri = parse_uri("sip:127.0.0.1:5039;transport=ws;r2=on;lr;ftag=h63fkgq0du")
    assert uri.user is None
    assert uri.host == "127.0.0.1"
    assert uri.port == 5039
    assert uri.param("lr") == ""
    assert uri.param("ftag") == "h63fkgq0du"
    assert uri.param("maddr") is None


def test_gruu_param_value_keeps_colons() -> None:
    uri = parse_uri("sip:web@127.0.0.1;gr=urn:uuid:779dae9b-4a19-4ff2-bd5b-34b59af2538b")
    assert uri.param("gr") == "urn:uuid:779dae9b-4a19-4ff2-bd5b-34b59af2538b"


def test_password_headers_and_ipv6() -> None:
    uri = parse_uri("sips:alice:secret@[2001:db8::1]:5061;transport=tls?Subject=hi&Priority=urgent")
    assert uri.scheme == "sips"
    assert (uri.user, uri.password) == ("alice", "secret")
    assert uri.host == "2001:db8::1"
    assert uri.port == 5061
    assert uri.headers == (("Subject", "hi"), ("Priority", "urgent"))
    assert (
        str(uri) == "sips:alice:secret@[2001:db8::1]:5061;transport=tls?Subject=hi&Priority=urgent"
    )


def test_tel_and_opaque_schemes() -> None:
    tel = parse_uri("tel:+33123456789;phone-context=example.com")
    assert (tel.scheme, tel.user, tel.host) == ("tel", "+33123456789", "")
    assert tel.param("phone-context") == "example.com"
    assert str(tel) == "tel:+33123456789;phone-context=example.com"
    urn = parse_uri("urn:uuid:33c19fb5-a4ad-426b-9c88-6dbad0cac2a6")
    assert urn.scheme == "urn"
    assert str(urn) == "urn:uuid:33c19fb5-a4ad-426b-9c88-6dbad0cac2a6"


@pytest.mark.parametrize(
    "text",
    [
        "sip:127.0.0.1",
        "sip:bs-0x55716b17e4a0@127.0.0.1:5070",
        "sip:6mt5moir@8oagn03via4r.invalid;transport=ws",
        "sip:127.0.0.1:5039;transport=ws;r2=on;lr;ftag=d6d299624004d3f3",
        "sip:uloc-6b0dbec3-3f3a-1-bcc997@127.0.0.1;gr",
        "sip:%2B33@x.example;user=phone;empty=",
    ],
)
def test_str_gives_the_text_back(text: str) -> None:
    assert str(parse_uri(text)) == text


def test_with_param_replaces_in_place_or_appends() -> None:
    uri = SipUri(user="a", host="h", params=(("transport", "ws"), ("lr", None)))
    assert str(uri.with_param("transport", "wss")) == "sip:a@h;transport=wss;lr"
    assert str(uri.with_param("ob")) == "sip:a@h;transport=ws;lr;ob"
    assert str(uri.without_params()) == "sip:a@h"
    assert uri.params == (("transport", "ws"), ("lr", None))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("alice@example.com", "bad URI 'alice@example.com': missing scheme"),
        ("sip:", "bad URI 'sip:': nothing after the scheme"),
        ("sip:alice@", "bad URI 'sip:alice@': empty host"),
        ("sip:@host", "bad URI 'sip:@host': empty user part"),
        ("sip:alice@host:50x0", "bad URI 'sip:alice@host:50x0': port '50x0' is not a number"),
        ("sip:alice@host:70000", "port '70000' is not a number in 0..65535"),
        ("sip:alice@ho st", "contains a space, quote or angle bracket"),
        ("sip:alice@h;=x", "bad parameter name ''"),
        ("sip:alice@[::1", "bad IPv6 reference '[::1'"),
        ("sip:a@h?Subject", "bad URI header 'Subject'"),
    ],
)
def test_malformed_uris(text: str, message: str) -> None:
    with pytest.raises(SipParseError, match=None) as info:
        parse_uri(text)
    assert message in str(info.value)
    assert info.value.response_hint == 400


def test_name_addr_with_quoted_display_and_tag() -> None:
    addr = parse_name_addr('"Alice Martin" <sip:1000@default>;tag=nL2pXo8dRkFw3mQa7vZc')
    assert addr.display_name == "Alice Martin"
    assert addr.uri == SipUri(user="1000", host="default")
    assert addr.tag == "nL2pXo8dRkFw3mQa7vZc"
    assert str(addr) == '"Alice Martin" <sip:1000@default>;tag=nL2pXo8dRkFw3mQa7vZc'


def test_name_addr_contact_with_quoted_params_from_kamailio() -> None:
    text = (
        '<sip:nmdkr0na@ajf9ba05u4m1.invalid;transport=ws>;expires=300;received="sip:127.0.0.1:'
        '60994;transport=ws";pub-gruu="sip:web@127.0.0.1;gr=urn:uuid:33c19fb5-a4ad-426b-9c88-'
        '6dbad0cac2a6";+sip.instance="<urn:uuid:33c19fb5-a4ad-426b-9c88-6dbad0cac2a6>";reg-id=1'
    )
    addr = parse_name_addr(text)
    assert addr.display_name is None
    assert addr.uri.user == "nmdkr0na"
    assert addr.uri.param("transport") == "ws"
    assert addr.param("expires") == "300"
    assert addr.param("received") == '"sip:127.0.0.1:60994;transport=ws"'
    assert addr.param("+sip.instance") == '"<urn:uuid:33c19fb5-a4ad-426b-9c88-6dbad0cac2a6>"'
    assert addr.param("reg-id") == "1"
    assert str(addr) == text


def test_sipml5_contact_flags_and_quoted_language() -> None:
    addr = parse_name_addr(
        "<sip:1000@df7jal23ls0d.invalid;rtcweb-breaker=no;transport=ws>;expires=200;"
        'click2call=no;+g.oma.sip-im;+audio;language="en,fr"'
    )
    assert addr.param("+g.oma.sip-im") == ""
    assert addr.param("+audio") == ""
    assert addr.param("language") == '"en,fr"'
    assert addr.param("expires") == "200"
    assert addr.uri.param("rtcweb-breaker") == "no"


def test_bare_addr_spec_params_belong_to_the_header() -> None:
    addr = parse_name_addr("sip:alice@example.com;tag=x1")
    assert addr.uri == SipUri(user="alice", host="example.com")
    assert addr.tag == "x1"
    assert str(addr) == "<sip:alice@example.com>;tag=x1"


def test_unquoted_display_name_and_escapes() -> None:
    assert parse_name_addr("Bob Smith <sip:bob@h>").display_name == "Bob Smith"
    addr = parse_name_addr(r'"say \"hi\" \\ ok" <sip:bob@h>')
    assert addr.display_name == 'say "hi" \\ ok'
    assert parse_name_addr(str(addr)) == addr
    assert parse_name_addr('"Zoë Müller" <sip:z@h>').display_name == "Zoë Müller"


def test_name_addr_builders() -> None:
    addr = NameAddr(SipUri(user="bs", host="127.0.0.1"))
    assert addr.tag is None
    tagged = addr.with_tag("f87b3fe0fcf2606f")
    assert str(tagged) == "<sip:bs@127.0.0.1>;tag=f87b3fe0fcf2606f"
    assert str(tagged.with_tag("other")) == "<sip:bs@127.0.0.1>;tag=other"
    assert str(tagged.with_param("expires", "0")) == (
        "<sip:bs@127.0.0.1>;tag=f87b3fe0fcf2606f;expires=0"
    )
    assert str(NameAddr(SipUri(host="h"), "")) == '"" <sip:h>'


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "bad address '': empty"),
        ('"Alice <sip:a@b>', "unterminated quoted display name"),
        ('"Alice" sip:a@b', "expected '<' after the display name"),
        ("<sip:a@b", "missing '>'"),
        ("Al@ce <sip:a@b>", "bad display name 'Al@ce'"),
        ("<sip:a@b>;tag", None),
        ("<sip:a@b>junk", "unexpected text 'junk' before parameters"),
        ('<sip:a@b>;x="open', "bad quoted value for parameter 'x'"),
        ("<sip:a@b>;x=a b", "bad value 'a b' for parameter 'x'"),
    ],
)
def test_malformed_name_addrs(text: str, message: str | None) -> None:
    if message is None:
        assert parse_name_addr(text).param("tag") == ""
        return
    with pytest.raises(SipParseError) as info:
        parse_name_addr(text)
    assert message in str(info.value)
