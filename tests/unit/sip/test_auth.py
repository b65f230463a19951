"""Digest authentication: RFC worked examples, the captured Kamailio exchange, round trips."""

from __future__ import annotations

from pathlib import Path

import pytest

from xctest.errors import LocalProtocolError, SipParseError
from xctest.sip.auth import (
    Challenge,
    Credentials,
    answer_challenge,
    compute_response,
    parse_challenge,
    parse_credentials,
    verify_credentials,
)
from xctest.sip.message import Request, Response, parse_message

DATA = Path(__file__).resolve().parents[2] / "data" / "sip"


def test_rfc2617_section_3_5_example() -> None:
    challenge = parse_challenge(
        'Digest realm="testrealm@host.com", qop="auth,auth-int", '
        'nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", opaque="5ccc069c403ebaf9f0171e9517f40e41"'
    )
    assert challenge.qop == ("auth", "auth-int")
    assert challenge.algorithm == "MD5"
    creds = answer_challenge(
        challenge,
        username="Mufasa",
        password="Circle Of Life",
        method="GET",
        uri="/dir/index.html",
        cnonce="0a4f113b",
    )
    assert creds.response == "6629fae49393a05397450978507c4ef1"
    assert (creds.qop, creds.nc, creds.cnonce) == ("auth", "00000001", "0a4f113b")
    assert creds.opaque == "5ccc069c403ebaf9f0171e9517f40e41"
    assert verify_credentials(creds, password="Circle Of Life", method="GET")
    assert not verify_credentials(creds, password="Circle of Life", method="GET")
    assert not verify_credentials(creds, password="Circle Of Life", method="POST")


def test_rfc2617_authorization_header_parses() -> None:
    creds = parse_credentials(
        'Digest username="Mufasa", realm="testrealm@host.com", '
        'nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", uri="/dir/index.html", qop=auth, '
        'nc=00000001, cnonce="0a4f113b", response="6629fae49393a05397450978507c4ef1", '
        'opaque="5ccc069c403ebaf9f0171e9517f40e41"'
    )
    assert creds.username == "Mufasa"
    assert creds.nc == "00000001"
    assert verify_credentials(creds, password="Circle Of Life", method="GET")


RFC7616_NONCE = "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v"
RFC7616_CNONCE = "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ"


@pytest.mark.parametrize(
    ("algorithm", "expected"),
    [
        ("SHA-256", "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"),
        ("MD5", "8ca523f5e9506fed4657c9700eebdbec"),
    ],
)
def test_rfc7616_section_3_9_1_example(algorithm: str, expected: str) -> None:
    challenge = parse_challenge(
        f'Digest realm="http-auth@example.org", qop="auth, auth-int", algorithm={algorithm}, '
        f'nonce="{RFC7616_NONCE}", opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"'
    )
    assert challenge.algorithm == algorithm
    creds = answer_challenge(
        challenge,
        username="Mufasa",
        password="Circle of Life",
        method="GET",
        uri="/dir/index.html",
        cnonce=RFC7616_CNONCE,
    )
    assert creds.response == expected
    assert creds.algorithm == algorithm
    assert verify_credentials(creds, password="Circle of Life", method="GET")
    assert not verify_credentials(creds, password="wrong", method="GET")


def _load(name: str) -> Request | Response:
    return parse_message((DATA / name).read_bytes())


def test_captured_kamailio_exchange_is_self_consistent() -> None:
    # The line password is not in the capture (its notes only give the user), so the
    # recorded response cannot be recomputed: check every field against the exchange instead.
    challenge_msg = _load("kamailio-401-register.sip")
    request = _load("jssip-register-auth.sip")
    assert isinstance(request, Request)
    challenge_value = challenge_msg.headers.get("WWW-Authenticate")
    auth_value = request.headers.get("Authorization")
    assert challenge_value is not None and auth_value is not None
    challenge = parse_challenge(challenge_value)
    assert challenge == Challenge(realm="127.0.0.1", nonce="aw2/8msNvsZL/QyKnlI5MO4+HQuDC9e1")
    creds = parse_credentials(auth_value)
    assert creds == Credentials(
        username="web",
        realm="127.0.0.1",
        nonce="aw2/8msNvsZL/QyKnlI5MO4+HQuDC9e1",
        uri="sip:127.0.0.1",
        response="a14f346da6217157143b947afe668e6e",
    )
    assert (creds.realm, creds.nonce) == (challenge.realm, challenge.nonce)
    assert creds.uri == str(request.uri)
    assert request.cseq.seq == challenge_msg.cseq.seq + 1
    # an answer built by us has the same shape: RFC 2069 mode, no qop/nc/cnonce
    ours = answer_challenge(
        challenge,
        username="web",
        password="guess",
        method="REGISTER",
        uri="sip:127.0.0.1",
        cnonce="unused",
    )
    assert (ours.qop, ours.nc, ours.cnonce) == (None, None, None)
    assert len(ours.response) == len(creds.response) == 32
    assert verify_credentials(ours, password="guess", method="REGISTER")
    assert not verify_credentials(creds, password="guess", method="REGISTER")


def test_asterisk_challenge_header() -> None:
    msg = _load("asterisk-401-register.sip")
    value = msg.headers.get("WWW-Authenticate")
    assert value == 'Digest algorithm=MD5, realm="asterisk", nonce="5a1b9c3e"'
    challenge = parse_challenge(value)
    assert challenge == Challenge(realm="asterisk", nonce="5a1b9c3e")
    assert str(challenge) == 'Digest realm="asterisk", nonce="5a1b9c3e", algorithm=MD5'


@pytest.mark.parametrize("algorithm", ["MD5", "SHA-256", "MD5-sess", "SHA-256-sess"])
@pytest.mark.parametrize("qop", [(), ("auth",)])
def test_compute_and_verify(algorithm: str, qop: tuple[str, ...]) -> None:
    challenge = Challenge(realm="asterisk", nonce="n0nce", algorithm=algorithm, qop=qop)
    creds = answer_challenge(
        challenge,
        username="1000",
        password="s3cret",
        method="REGISTER",
        uri="sip:default",
        cnonce="c1",
        nc=3,
    )
    assert creds.nc == ("00000003" if qop else None)
    assert len(creds.response) == (32 if algorithm.startswith("MD5") else 64)
    assert verify_credentials(creds, password="s3cret", method="REGISTER")
    assert not verify_credentials(creds, password="s3cret!", method="REGISTER")
    assert parse_credentials(str(creds)) == creds


def test_md5_without_qop_matches_rfc2069_formula() -> None:
    import hashlib

    def md5(text: str) -> str:
        return hashlib.md5(text.encode()).hexdigest()

    ha1 = md5("1000:asterisk:pw")
    ha2 = md5("INVITE:sip:1001@default")
    expected = md5(f"{ha1}:abc:{ha2}")
    creds = answer_challenge(
        Challenge("asterisk", "abc"),
        username="1000",
        password="pw",
        method="INVITE",
        uri="sip:1001@default",
        cnonce="x",
    )
    assert creds.response == expected


def test_challenge_round_trip_and_stale() -> None:
    challenge = Challenge("r", "n", "SHA-256", ("auth",), opaque="o", stale=True)
    text = str(challenge)
    assert (
        text == 'Digest realm="r", nonce="n", algorithm=SHA-256, qop="auth", opaque="o", stale=true'
    )
    assert parse_challenge(text) == challenge
    assert parse_challenge('digest realm="r", nonce="n", algorithm=sha-256-SESS').algorithm == (
        "SHA-256-sess"
    )


def test_credentials_format() -> None:
    creds = Credentials(
        "web",
        "127.0.0.1",
        "n",
        "sip:127.0.0.1",
        "abc",
        qop="auth",
        nc="00000001",
        cnonce="c",
        opaque="o",
    )
    assert str(creds) == (
        'Digest username="web", realm="127.0.0.1", nonce="n", uri="sip:127.0.0.1", '
        'response="abc", algorithm=MD5, cnonce="c", opaque="o", qop=auth, nc=00000001'
    )


def test_unsupported_answers() -> None:
    with pytest.raises(LocalProtocolError, match="only 'auth' is supported"):
        answer_challenge(
            Challenge("r", "n", qop=("auth-int",)),
            username="u",
            password="p",
            method="M",
            uri="u",
            cnonce="c",
        )
    with pytest.raises(LocalProtocolError, match="unsupported digest algorithm 'SHA-1'"):
        answer_challenge(
            Challenge("r", "n", "SHA-1"),
            username="u",
            password="p",
            method="M",
            uri="u",
            cnonce="c",
        )
    with pytest.raises(LocalProtocolError, match="qop=auth needs nc and cnonce"):
        compute_response(
            algorithm="MD5",
            username="u",
            realm="r",
            password="p",
            nonce="n",
            method="M",
            uri="u",
            qop="auth",
            nc=None,
            cnonce=None,
        )
    bad = Credentials("u", "r", "n", "u", "x", algorithm="SHA-1")
    assert not verify_credentials(bad, password="p", method="M")


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("", "bad Digest challenge '': empty value"),
        ('Basic realm="x"', "bad Digest challenge 'Basic realm=\"x\"': unsupported scheme 'Basic'"),
        ('Digest nonce="n"', "missing realm"),
        ('Digest realm="r"', "missing nonce"),
        ('Digest realm="r", nonce', "bad parameter 'nonce'"),
        ('Digest realm="r, nonce=n', "unterminated quoted value for 'realm'"),
    ],
)
def test_malformed_challenges(value: str, message: str) -> None:
    with pytest.raises(SipParseError) as info:
        parse_challenge(value)
    assert message in str(info.value)


def test_malformed_credentials() -> None:
    with pytest.raises(SipParseError, match="bad Digest credentials .*: missing response"):
        parse_credentials('Digest username="u", realm="r", nonce="n", uri="sip:x"')
