"""Hypothesis properties: parse(format(x)) == x for URIs, addresses, messages, SDP and digest."""

from __future__ import annotations

import string

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from xctest.sip.auth import (
    Challenge,
    answer_challenge,
    parse_challenge,
    parse_credentials,
    verify_credentials,
)
from xctest.sip.headers import CSeq, Headers, Via, parse_via
from xctest.sip.message import Request, Response, parse_message, serialize
from xctest.sip.sdp import MediaSection, SessionDescription, parse_sdp
from xctest.sip.uri import NameAddr, SipUri, parse_name_addr, parse_uri

# no deadline: CI machines are slow; set per test so other suites keep their own profile
PROPERTY = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])

TOKEN_CHARS = string.ascii_letters + string.digits + "-.!%*_+`'~"
tokens = st.text(TOKEN_CHARS, min_size=1, max_size=12)
# RFC 3261 §25.1 user-unreserved / unreserved, minus nothing that the grammar forbids
user_text = st.text(
    string.ascii_letters + string.digits + "-_.!~*'()&=+$,;?/", min_size=1, max_size=12
)
param_values = st.text(string.ascii_letters + string.digits + "-_.!~*'()/:&+$", max_size=12)
labels = st.text(string.ascii_lowercase + string.digits + "-", min_size=1, max_size=10)
hostnames = st.lists(labels, min_size=1, max_size=4).map(".".join)
ipv4 = st.tuples(*[st.integers(0, 255)] * 4).map(lambda t: ".".join(map(str, t)))
ipv6 = st.lists(st.integers(0, 0xFFFF), min_size=1, max_size=8).map(
    lambda groups: ":".join(f"{g:x}" for g in groups) + ("::" if len(groups) < 8 else "")
)
hosts = st.one_of(hostnames, ipv4, ipv6)
ports = st.none() | st.integers(0, 65535)
uri_params = st.lists(st.tuples(tokens, st.none() | param_values), max_size=4).map(tuple)
# generic text without control characters (so no CR/LF) and without surrogates
free_text = st.text(st.characters(blacklist_categories=("Cc", "Cs")), max_size=30)


@st.composite
def sip_uris(draw: st.DrawFn) -> SipUri:
    user = draw(st.none() | user_text)
    password = draw(st.none() | user_text.filter(lambda s: ":" not in s)) if user else None
    if user is not None:
        user = user.replace(":", "")
        user = user or "u"
    headers = draw(
        st.lists(
            st.tuples(
                st.text(string.ascii_letters + "-", min_size=1, max_size=8),
                st.text(string.ascii_letters + string.digits + "-_.!~*'()/:+$[]", max_size=10),
            ),
            max_size=2,
        )
    )
    return SipUri(
        scheme=draw(st.sampled_from(["sip", "sips"])),
        user=user,
        password=password,
        host=draw(hosts),
        port=draw(ports),
        params=draw(uri_params),
        headers=tuple(headers),
    )


quoted_values = st.text(
    st.characters(blacklist_categories=("Cc", "Cs"), blacklist_characters='"\\'), max_size=20
).map(lambda s: f'"{s}"')
header_params = st.lists(st.tuples(tokens, st.none() | tokens | quoted_values), max_size=4).map(
    tuple
)


@st.composite
def name_addrs(draw: st.DrawFn) -> NameAddr:
    return NameAddr(
        uri=draw(sip_uris()),
        display_name=draw(st.none() | free_text),
        params=draw(header_params),
    )


@st.composite
def vias(draw: st.DrawFn) -> Via:
    params = (("branch", "z9hG4bK" + draw(tokens)),) + draw(
        st.lists(st.tuples(tokens, st.none() | tokens), max_size=3).map(tuple)
    )
    return Via(
        draw(st.sampled_from(["WS", "WSS", "UDP", "TCP", "TLS"])), draw(hosts), draw(ports), params
    )


header_values = free_text.filter(lambda s: s == s.strip(" \t"))
extra_headers = st.lists(st.tuples(tokens.map(lambda t: "X-" + t), header_values), max_size=5)
bodies = st.text(st.characters(blacklist_categories=("Cs", "Cn")), max_size=80).map(str.encode)


@st.composite
def header_sets(draw: st.DrawFn, method: str, body: bytes) -> Headers:
    items = [("Via", str(v)) for v in draw(st.lists(vias(), min_size=1, max_size=3))]
    items.append(("From", str(draw(name_addrs()).with_tag(draw(tokens)))))
    items.append(("To", str(draw(name_addrs()))))
    items.append(("Call-ID", draw(tokens) + "@" + draw(hostnames)))
    items.append(("CSeq", str(CSeq(draw(st.integers(0, 2**31 - 1)), method))))
    if draw(st.booleans()):
        items.append(("Contact", str(draw(name_addrs()))))
    if body and draw(st.booleans()):
        items.append(("Content-Type", "text/plain;charset=utf-8"))
    items.extend(draw(extra_headers))
    position = draw(st.integers(0, len(items)))
    items.insert(position, ("Content-Length", str(len(body))))
    return Headers(items)


@st.composite
def requests(draw: st.DrawFn) -> Request:
    method = draw(st.sampled_from(["INVITE", "ACK", "BYE", "CANCEL", "REGISTER", "INFO"]) | tokens)
    body = draw(bodies)
    return Request(method, draw(sip_uris()), draw(header_sets(method, body)), body)


@st.composite
def responses(draw: st.DrawFn) -> Response:
    body = draw(bodies)
    method = draw(tokens)
    return Response(
        draw(st.integers(100, 699)), draw(free_text), draw(header_sets(method, body)), body
    )


@PROPERTY
@given(sip_uris())
def test_uri_round_trip(uri: SipUri) -> None:
    assert parse_uri(str(uri)) == uri


@PROPERTY
@given(name_addrs())
def test_name_addr_round_trip(addr: NameAddr) -> None:
    assert parse_name_addr(str(addr)) == addr


@PROPERTY
@given(vias())
def test_via_round_trip(via: Via) -> None:
    assert parse_via(str(via)) == via


@PROPERTY
@given(st.one_of(requests(), responses()))
def test_message_round_trip(msg: Request | Response) -> None:
    data = serialize(msg)
    assert parse_message(data) == msg
    assert serialize(parse_message(data)) == data


@PROPERTY
@given(requests())
def test_lf_only_frames_parse_the_same(msg: Request) -> None:
    if b"\r" in msg.body or b"\n" in msg.body:
        return
    data = serialize(msg).replace(b"\r\n", b"\n")
    assert parse_message(data) == msg


sdp_types = st.sampled_from("abcdeiklprstuvwxz")
sdp_values = st.text(st.characters(blacklist_categories=("Cc", "Cs")), max_size=40)
sdp_lines = st.lists(st.tuples(sdp_types, sdp_values), max_size=6).map(tuple)


@st.composite
def media_sections(draw: st.DrawFn) -> MediaSection:
    return MediaSection(
        kind=draw(st.sampled_from(["audio", "video", "application"])),
        port=draw(st.integers(0, 65535)),
        proto=draw(st.sampled_from(["UDP/TLS/RTP/SAVPF", "RTP/AVP", "RTP/SAVPF"])),
        formats=tuple(draw(st.lists(st.integers(0, 127).map(str), max_size=6))),
        lines=draw(sdp_lines),
    )


@st.composite
def sessions(draw: st.DrawFn) -> SessionDescription:
    head = (
        ("v", "0"),
        ("o", f"- {draw(st.integers(0, 2**63))} 2 IN IP4 127.0.0.1"),
        ("s", draw(sdp_values)),
        ("t", "0 0"),
    )
    return SessionDescription(
        head + draw(sdp_lines), tuple(draw(st.lists(media_sections(), max_size=3)))
    )


@PROPERTY
@given(sessions())
def test_sdp_round_trip(sdp: SessionDescription) -> None:
    text = str(sdp)
    assert parse_sdp(text) == sdp
    assert str(parse_sdp(text)) == text


digest_text = st.text(st.characters(blacklist_categories=("Cc", "Cs")), min_size=1, max_size=16)


@PROPERTY
@given(
    realm=digest_text,
    nonce=digest_text,
    username=digest_text,
    password=st.text(max_size=16),
    algorithm=st.sampled_from(["MD5", "SHA-256", "MD5-sess", "SHA-256-sess"]),
    qop=st.sampled_from([(), ("auth",), ("auth", "auth-int")]),
    cnonce=digest_text,
    nc=st.integers(1, 2**32 - 1),
)
def test_digest_answer_verifies_and_round_trips(
    realm: str,
    nonce: str,
    username: str,
    password: str,
    algorithm: str,
    qop: tuple[str, ...],
    cnonce: str,
    nc: int,
) -> None:
    challenge = Challenge(realm, nonce, algorithm, qop, opaque=cnonce)
    assert parse_challenge(str(challenge)) == challenge
    creds = answer_challenge(
        challenge,
        username=username,
        password=password,
        method="REGISTER",
        uri="sip:default",
        cnonce=cnonce,
        nc=nc,
    )
    assert parse_credentials(str(creds)) == creds
    assert verify_credentials(creds, password=password, method="REGISTER")
    assert not verify_credentials(creds, password=password + "x", method="REGISTER")
