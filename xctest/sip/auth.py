"""HTTP Digest authentication for SIP (RFC 3261 §22, RFC 2617, RFC 7616, RFC 8760).

Owns challenge and credential values, their parsing and formatting, and the digest computation
on both sides.  Must stay sans-IO: stdlib and ``xctest.errors`` only; the cnonce is an argument.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from dataclasses import dataclass

from xctest.errors import LocalProtocolError, SipParseError
from xctest.sip.grammar import QUOTED_STRING_RE, WSP, is_token, quote, split_outside, unquote

# RFC 7616 §3.2 / RFC 8760 §2: algorithm names and their hash functions.
_HASHES: dict[str, Callable[[bytes], str]] = {
    "MD5": lambda data: hashlib.md5(data).hexdigest(),
    "SHA-256": lambda data: hashlib.sha256(data).hexdigest(),
    "SHA-512-256": lambda data: hashlib.new("sha512_256", data).hexdigest(),
}


def _normalise_algorithm(name: str) -> str:
    if name.lower().endswith("-sess"):
        return name[: -len("-sess")].upper() + "-sess"
    return name.upper()


def _parse_auth_params(value: str, what: str) -> dict[str, str]:
    """Parse ``Digest a=b, c="d"`` (RFC 3261 §25.1 ``digest-cln`` / ``dig-resp``)."""
    text = value.strip(WSP)
    scheme, _, rest = text.partition(" ")
    if not scheme:
        raise SipParseError(f"{what}: empty value", response_hint=400, frame=value)
    if scheme.lower() != "digest":
        raise SipParseError(f"{what}: unsupported scheme {scheme!r}", frame=value)
    params: dict[str, str] = {}
    for piece in split_outside(rest, ","):
        if not piece.strip(WSP):
            continue
        name, eq, raw = piece.partition("=")
        name = name.strip(WSP).lower()
        raw = raw.strip(WSP)
        if not eq or not is_token(name):
            raise SipParseError(f"{what}: bad parameter {piece.strip(WSP)!r}", frame=value)
        if raw.startswith('"') and not QUOTED_STRING_RE.match(raw):
            raise SipParseError(f"{what}: unterminated quoted value for {name!r}", frame=value)
        params[name] = unquote(raw)
    return params


def _require(params: dict[str, str], name: str, what: str, value: str) -> str:
    if name not in params:
        raise SipParseError(f"{what}: missing {name}", frame=value)
    return params[name]


@dataclass(frozen=True)
class Challenge:
    """A Digest challenge from WWW-Authenticate or Proxy-Authenticate (RFC 3261 §22.1)."""

    realm: str
    nonce: str
    algorithm: str = "MD5"
    qop: tuple[str, ...] = ()
    opaque: str | None = None
    stale: bool = False

    def __str__(self) -> str:
        parts = [
            f"realm={quote(self.realm)}",
            f"nonce={quote(self.nonce)}",
            f"algorithm={self.algorithm}",
        ]
        if self.qop:
            parts.append(f"qop={quote(','.join(self.qop))}")
        if self.opaque is not None:
            parts.append(f"opaque={quote(self.opaque)}")
        if self.stale:
            parts.append("stale=true")
        return "Digest " + ", ".join(parts)


def parse_challenge(value: str) -> Challenge:
    """Parse a WWW-Authenticate / Proxy-Authenticate value (RFC 7616 §3.3)."""
    what = f"bad Digest challenge {value!r}"
    params = _parse_auth_params(value, what)
    qop = tuple(q.strip(WSP) for q in params.get("qop", "").split(",") if q.strip(WSP))
    return Challenge(
        realm=_require(params, "realm", what, value),
        nonce=_require(params, "nonce", what, value),
        algorithm=_normalise_algorithm(params.get("algorithm", "MD5")),
        qop=qop,
        opaque=params.get("opaque"),
        stale=params.get("stale", "").lower() == "true",
    )


@dataclass(frozen=True)
class Credentials:
    """A Digest answer for Authorization / Proxy-Authorization (RFC 3261 §22.2, §22.3)."""

    username: str
    realm: str
    nonce: str
    uri: str
    response: str
    algorithm: str = "MD5"
    qop: str | None = None
    nc: str | None = None
    cnonce: str | None = None
    opaque: str | None = None

    def __str__(self) -> str:
        parts = [
            f"username={quote(self.username)}",
            f"realm={quote(self.realm)}",
            f"nonce={quote(self.nonce)}",
            f"uri={quote(self.uri)}",
            f"response={quote(self.response)}",
            f"algorithm={self.algorithm}",
        ]
        if self.cnonce is not None:
            parts.append(f"cnonce={quote(self.cnonce)}")
        if self.opaque is not None:
            parts.append(f"opaque={quote(self.opaque)}")
        if self.qop is not None:
            parts.append(f"qop={self.qop}")
        if self.nc is not None:
            parts.append(f"nc={self.nc}")
        return "Digest " + ", ".join(parts)


def parse_credentials(value: str) -> Credentials:
    """Parse an Authorization / Proxy-Authorization value (RFC 7616 §3.4)."""
    what = f"bad Digest credentials {value!r}"
    params = _parse_auth_params(value, what)
    return Credentials(
        username=_require(params, "username", what, value),
        realm=_require(params, "realm", what, value),
        nonce=_require(params, "nonce", what, value),
        uri=_require(params, "uri", what, value),
        response=_require(params, "response", what, value),
        algorithm=_normalise_algorithm(params.get("algorithm", "MD5")),
        qop=params.get("qop"),
        nc=params.get("nc"),
        cnonce=params.get("cnonce"),
        opaque=params.get("opaque"),
    )


def compute_response(
    *,
    algorithm: str,
    username: str,
    realm: str,
    password: str,
    nonce: str,
    method: str,
    uri: str,
    qop: str | None,
    nc: str | None,
    cnonce: str | None,
) -> str:
    """The ``response`` value (RFC 7616 §3.4.1-§3.4.3; RFC 2617 §3.2.2 without qop)."""
    name = _normalise_algorithm(algorithm)
    session = name.endswith("-sess")
    digest = _HASHES.get(name.removesuffix("-sess"))
    if digest is None:
        raise LocalProtocolError(f"unsupported digest algorithm {algorithm!r}")

    def h(text: str) -> str:
        return digest(text.encode("utf-8"))

    ha1 = h(f"{username}:{realm}:{password}")
    if session:
        if cnonce is None:
            raise LocalProtocolError(f"{name} needs a cnonce")
        ha1 = h(f"{ha1}:{nonce}:{cnonce}")
    if qop not in (None, "auth"):
        raise LocalProtocolError(f"unsupported qop {qop!r} (only 'auth')")
    ha2 = h(f"{method}:{uri}")
    if qop is None:
        return h(f"{ha1}:{nonce}:{ha2}")
    if nc is None or cnonce is None:
        raise LocalProtocolError("qop=auth needs nc and cnonce")
    return h(f"{ha1}:{nonce}:{nc}:{cnonce}:{qop}:{ha2}")


def answer_challenge(
    challenge: Challenge,
    *,
    username: str,
    password: str,
    method: str,
    uri: str,
    cnonce: str,
    nc: int = 1,
) -> Credentials:
    """Credentials answering ``challenge``; uses qop=auth when offered (RFC 7616 §3.4).

    Without a qop offer the RFC 2069 form is used and ``cnonce``/``nc`` are left out.
    """
    if challenge.qop and "auth" not in challenge.qop:
        raise LocalProtocolError(f"cannot answer qop {challenge.qop!r}: only 'auth' is supported")
    qop = "auth" if challenge.qop else None
    nc_text = f"{nc:08x}" if qop else None
    use_cnonce = cnonce if qop or challenge.algorithm.endswith("-sess") else None
    response = compute_response(
        algorithm=challenge.algorithm,
        username=username,
        realm=challenge.realm,
        password=password,
        nonce=challenge.nonce,
        method=method,
        uri=uri,
        qop=qop,
        nc=nc_text,
        cnonce=use_cnonce,
    )
    return Credentials(
        username=username,
        realm=challenge.realm,
        nonce=challenge.nonce,
        uri=uri,
        response=response,
        algorithm=challenge.algorithm,
        qop=qop,
        nc=nc_text,
        cnonce=use_cnonce,
        opaque=challenge.opaque,
    )


def verify_credentials(credentials: Credentials, *, password: str, method: str) -> bool:
    """True when ``credentials.response`` matches ``password`` (constant-time comparison).

    Checking that realm and nonce are the ones the server issued is the caller's job.
    """
    try:
        expected = compute_response(
            algorithm=credentials.algorithm,
            username=credentials.username,
            realm=credentials.realm,
            password=password,
            nonce=credentials.nonce,
            method=method,
            uri=credentials.uri,
            qop=credentials.qop,
            nc=credentials.nc,
            cnonce=credentials.cnonce,
        )
    except LocalProtocolError:
        return False
    return hmac.compare_digest(expected.encode("ascii"), credentials.response.lower().encode())
