"""SIP URIs (RFC 3261 §19.1) and name-addr values (§20.10): ``SipUri``, ``NameAddr``, parsers.

Values are frozen and keep every part as written (escapes and quoted parameter values are not
decoded), so formatting a parsed value gives the original text back.  Must stay sans-IO:
stdlib and ``xctest.errors`` only.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from xctest.errors import SipParseError
from xctest.sip.grammar import (
    HOSTNAME_RE,
    IPV6_RE,
    PORT_RE,
    QUOTED_STRING_RE,
    SCHEME_RE,
    UNQUOTED_DISPLAY_RE,
    WSP,
    is_token,
    quote,
    split_outside,
    unquote,
)

Params = tuple[tuple[str, str | None], ...]

_SIP_SCHEMES = ("sip", "sips")
_FORBIDDEN_IN_URI = set(' \t\r\n"<>')


def find_param(params: Params, name: str) -> str | None:
    """Value of the first parameter called ``name`` (case-insensitive); ``""`` for a flag."""
    wanted = name.lower()
    for key, value in params:
        if key.lower() == wanted:
            return "" if value is None else value
    return None


def set_param(params: Params, name: str, value: str | None) -> Params:
    """Replace the first ``name`` parameter (dropping later duplicates) or append it."""
    wanted = name.lower()
    out: list[tuple[str, str | None]] = []
    done = False
    for key, old in params:
        if key.lower() == wanted:
            if not done:
                out.append((key, value))
                done = True
        else:
            out.append((key, old))
    if not done:
        out.append((name, value))
    return tuple(out)


def format_params(params: Params) -> str:
    """``;name=value;flag`` text for a parameter tuple."""
    return "".join(f";{key}" if value is None else f";{key}={value}" for key, value in params)


def parse_params(text: str, what: str, *, quoted: bool) -> Params:
    """Parse ``;a=b;c`` (RFC 3261 §25.1 ``generic-param`` / ``uri-parameter``).

    ``text`` is what follows the value the parameters belong to; ``what`` names that value in
    error messages.  ``quoted`` allows quoted-string values (header parameters, not URIs).
    """
    if not text.strip(WSP):
        return ()
    pieces = split_outside(text, ";") if quoted else text.split(";")
    if pieces[0].strip(WSP):
        raise SipParseError(f"{what}: unexpected text {pieces[0].strip(WSP)!r} before parameters")
    out: list[tuple[str, str | None]] = []
    for piece in pieces[1:]:
        name, eq, value = piece.partition("=")
        name = name.strip(WSP)
        if not is_token(name):
            raise SipParseError(f"{what}: bad parameter name {name!r}")
        if not eq:
            out.append((name, None))
            continue
        value = value.strip(WSP)
        if value.startswith('"'):
            if not quoted or not QUOTED_STRING_RE.match(value):
                raise SipParseError(f"{what}: bad quoted value for parameter {name!r}")
        elif any(ch in _FORBIDDEN_IN_URI for ch in value):
            raise SipParseError(f"{what}: bad value {value!r} for parameter {name!r}")
        out.append((name, value))
    return tuple(out)


def format_host(host: str) -> str:
    """Bracket IPv6 literals (RFC 3261 §25.1 ``IPv6reference``)."""
    return f"[{host}]" if ":" in host else host


def parse_hostport(text: str, what: str) -> tuple[str, int | None]:
    """Split RFC 3261 §25.1 ``hostport`` into host (IPv6 unbracketed) and port."""
    if text.startswith("["):
        end = text.find("]")
        if end < 0 or not IPV6_RE.match(text[1:end]):
            raise SipParseError(f"{what}: bad IPv6 reference {text!r}")
        host, rest = text[1:end], text[end + 1 :]
        if rest and not rest.startswith(":"):
            raise SipParseError(f"{what}: unexpected {rest!r} after host")
        port_text = rest[1:] if rest else None
    else:
        host, colon, port_text_raw = text.partition(":")
        port_text = port_text_raw if colon else None
        if not host:
            raise SipParseError(f"{what}: empty host")
        if not HOSTNAME_RE.match(host):
            raise SipParseError(f"{what}: bad host {host!r}")
    if port_text is None:
        return host, None
    if not PORT_RE.match(port_text) or int(port_text) > 65535:
        raise SipParseError(f"{what}: port {port_text!r} is not a number in 0..65535")
    return host, int(port_text)


@dataclass(frozen=True)
class SipUri:
    """A SIP/SIPS URI (RFC 3261 §19.1.1); other schemes keep their opaque part in ``host``.

    For ``tel:`` URIs (RFC 3966) the number is ``user`` and ``host`` is empty.
    """

    scheme: str = "sip"
    user: str | None = None
    password: str | None = None
    host: str = ""
    port: int | None = None
    params: Params = ()
    headers: tuple[tuple[str, str], ...] = ()

    def param(self, name: str) -> str | None:
        """Value of URI parameter ``name``; ``""`` for a flag such as ``lr``; None if absent."""
        return find_param(self.params, name)

    def has_param(self, name: str) -> bool:
        return self.param(name) is not None

    def with_param(self, name: str, value: str | None = None) -> SipUri:
        """A copy with parameter ``name`` replaced or appended (``None`` makes a flag)."""
        return replace(self, params=set_param(self.params, name, value))

    def without_params(self) -> SipUri:
        """A copy with no URI parameters and no headers."""
        return replace(self, params=(), headers=())

    def __str__(self) -> str:
        if self.scheme == "tel":
            return f"tel:{self.user or ''}{format_params(self.params)}"
        if self.scheme not in _SIP_SCHEMES:
            return f"{self.scheme}:{self.host}"
        userinfo = ""
        if self.user is not None:
            userinfo = self.user
            if self.password is not None:
                userinfo += ":" + self.password
            userinfo += "@"
        port = "" if self.port is None else f":{self.port}"
        headers = "&".join(f"{k}={v}" for k, v in self.headers)
        tail = f"?{headers}" if self.headers else ""
        hostport = format_host(self.host) + port
        return f"{self.scheme}:{userinfo}{hostport}{format_params(self.params)}{tail}"


def parse_uri(text: str) -> SipUri:
    """Parse a URI (RFC 3261 §19.1.1 and §25.1 ``SIP-URI``); raises SipParseError."""
    what = f"bad URI {text!r}"
    match = SCHEME_RE.match(text)
    if match is None:
        raise SipParseError(f"{what}: missing scheme", frame=text)
    scheme, rest = match.group(1).lower(), match.group(2)
    if not rest:
        raise SipParseError(f"{what}: nothing after the scheme", frame=text)
    if any(ch in _FORBIDDEN_IN_URI for ch in rest):
        raise SipParseError(f"{what}: contains a space, quote or angle bracket", frame=text)
    if scheme == "tel":
        number, _, params = rest.partition(";")
        tel_params = parse_params(";" + params, what, quoted=False) if params else ()
        return SipUri(scheme="tel", user=number, params=tel_params)
    if scheme not in _SIP_SCHEMES:
        return SipUri(scheme=scheme, host=rest)
    user: str | None = None
    password: str | None = None
    userinfo, at, remainder = rest.partition("@")
    if at:
        user, colon, pwd = userinfo.partition(":")
        password = pwd if colon else None
        if not user:
            raise SipParseError(f"{what}: empty user part", frame=text)
    else:
        remainder = rest
    remainder, qmark, header_text = remainder.partition("?")
    hostport, semi, param_text = remainder.partition(";")
    host, port = parse_hostport(hostport, what)
    params = parse_params(";" + param_text, what, quoted=False) if semi else ()
    headers: list[tuple[str, str]] = []
    if qmark:
        for item in header_text.split("&"):
            name, eq, value = item.partition("=")
            if not name or not eq:
                raise SipParseError(f"{what}: bad URI header {item!r}", frame=text)
            headers.append((name, value))
    return SipUri(scheme, user, password, host, port, params, tuple(headers))


@dataclass(frozen=True)
class NameAddr:
    """``[display-name] <uri>;params`` as used by From, To, Contact, Route (RFC 3261 §20.10).

    Formatting always quotes the display name and always uses the ``<...>`` form.

    Header parameter values are kept as written, quotes included (``+sip.instance="<urn:..>"``).
    """

    uri: SipUri
    display_name: str | None = None
    params: Params = ()

    @property
    def tag(self) -> str | None:
        return self.param("tag")

    def param(self, name: str) -> str | None:
        """Value of header parameter ``name``; ``""`` for a flag; None if absent."""
        return find_param(self.params, name)

    def with_tag(self, tag: str) -> NameAddr:
        return self.with_param("tag", tag)

    def with_param(self, name: str, value: str | None = None) -> NameAddr:
        return replace(self, params=set_param(self.params, name, value))

    def __str__(self) -> str:
        name = "" if self.display_name is None else quote(self.display_name) + " "
        return f"{name}<{self.uri}>{format_params(self.params)}"


def _parse_quoted_prefix(text: str, what: str) -> tuple[str, str]:
    """Split a leading quoted-string off ``text``; returns (unquoted value, rest)."""
    i = 1
    while i < len(text):
        if text[i] == "\\":
            i += 2
            continue
        if text[i] == '"':
            return unquote(text[: i + 1]), text[i + 1 :]
        i += 1
    raise SipParseError(f"{what}: unterminated quoted display name")


def parse_name_addr(text: str) -> NameAddr:
    """Parse ``name-addr`` or bare ``addr-spec`` plus header parameters (RFC 3261 §20.10).

    In the bare form everything after the first ``;`` is a header parameter, never a URI one.
    """
    what = f"bad address {text!r}"
    value = text.strip(WSP)
    if not value:
        raise SipParseError(f"{what}: empty", frame=text)
    display: str | None = None
    if value.startswith('"'):
        display, value = _parse_quoted_prefix(value, what)
        value = value.lstrip(WSP)
        if not value.startswith("<"):
            raise SipParseError(f"{what}: expected '<' after the display name", frame=text)
    elif "<" in value.split(";", 1)[0]:
        before, _, after = value.partition("<")
        before = before.strip(WSP)
        if before:
            if not UNQUOTED_DISPLAY_RE.match(" ".join(before.split())):
                raise SipParseError(f"{what}: bad display name {before!r}", frame=text)
            display = before
        value = "<" + after
    if value.startswith("<"):
        end = value.find(">")
        if end < 0:
            raise SipParseError(f"{what}: missing '>'", frame=text)
        uri = parse_uri(value[1:end])
        rest = value[end + 1 :]
    else:
        uri_text, semi, param_text = value.partition(";")
        if "?" in uri_text or "," in uri_text:
            raise SipParseError(f"{what}: URI with headers or commas needs <...>", frame=text)
        uri = parse_uri(uri_text.strip(WSP))
        rest = semi + param_text
    return NameAddr(uri, display, parse_params(rest, what, quoted=True))
