"""SIP header container and the structured header values Via and CSeq (RFC 3261 §7.3, §20).

``Headers`` is an immutable, ordered, case-insensitive multi-map with compact forms expanded.
Must stay sans-IO: stdlib and ``xctest.errors`` only.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace

from xctest.errors import SipParseError
from xctest.sip.grammar import TOKEN, WSP, split_outside
from xctest.sip.uri import Params, find_param, format_host, format_params, parse_hostport
from xctest.sip.uri import parse_params as _parse_params
from xctest.sip.uri import set_param as _set_param

# RFC 3261 §7.3.3 compact forms, plus RFC 3265 (o, u), RFC 3515 (r), RFC 3892 (b),
# RFC 4028 (x), RFC 3841 (a, j, d), RFC 4474 (y, n).
COMPACT_FORMS: dict[str, str] = {
    "i": "Call-ID",
    "m": "Contact",
    "f": "From",
    "t": "To",
    "v": "Via",
    "l": "Content-Length",
    "c": "Content-Type",
    "k": "Supported",
    "s": "Subject",
    "e": "Content-Encoding",
    "o": "Event",
    "r": "Refer-To",
    "b": "Referred-By",
    "u": "Allow-Events",
    "x": "Session-Expires",
    "a": "Accept-Contact",
    "j": "Reject-Contact",
    "d": "Request-Disposition",
    "y": "Identity",
    "n": "Identity-Info",
}

_KNOWN_NAMES = (
    "Accept Accept-Contact Accept-Encoding Accept-Language Alert-Info Allow Allow-Events "
    "Answer-Mode Authentication-Info Authorization Call-ID Call-Info Contact "
    "Content-Disposition Content-Encoding Content-Language Content-Length Content-Type CSeq "
    "Date Error-Info Event Expires Flow-Timer From History-Info Identity Identity-Info "
    "In-Reply-To Max-Forwards MIME-Version Min-Expires Min-SE Organization "
    "P-Asserted-Identity P-Preferred-Identity Path Priority Privacy Proxy-Authenticate "
    "Proxy-Authorization Proxy-Require RAck Reason Record-Route Refer-To Referred-By "
    "Reject-Contact Replaces Reply-To Request-Disposition Require Retry-After Route RSeq "
    "Server Service-Route Session-Expires SIP-ETag SIP-If-Match Subject Subscription-State "
    "Supported Timestamp To Unsupported User-Agent Via Warning WWW-Authenticate"
)
KNOWN_NAMES: dict[str, str] = {name.lower(): name for name in _KNOWN_NAMES.split()}

# Headers whose grammar is a comma-separated list (RFC 3261 §7.3.1, §20); never the
# authentication headers, whose values contain commas of their own (§20.7, §20.27, §20.44).
LIST_HEADERS = frozenset(
    [
        "Accept",
        "Accept-Encoding",
        "Accept-Language",
        "Allow",
        "Allow-Events",
        "Contact",
        "Content-Encoding",
        "In-Reply-To",
        "Path",
        "Proxy-Require",
        "Record-Route",
        "Require",
        "Route",
        "Service-Route",
        "Supported",
        "Unsupported",
        "Via",
    ]
)

_TOKEN_NAME = re.compile(TOKEN)


def canonical_name(name: str) -> str:
    """Expand compact forms and restore the canonical case of known names (RFC 3261 §7.3.3)."""
    lowered = name.strip(WSP).lower()
    if lowered in COMPACT_FORMS:
        return COMPACT_FORMS[lowered]
    return KNOWN_NAMES.get(lowered, name.strip(WSP))


class Headers:
    """Immutable ordered header list; lookups are case-insensitive, names stored canonical."""

    __slots__ = ("_items",)

    def __init__(self, items: Iterable[tuple[str, str]] = ()) -> None:
        self._items: tuple[tuple[str, str], ...] = tuple(
            (canonical_name(name), value) for name, value in items
        )

    @classmethod
    def _from_canonical(cls, items: tuple[tuple[str, str], ...]) -> Headers:
        new = cls.__new__(cls)
        new._items = items
        return new

    def get(self, name: str, default: str | None = None) -> str | None:
        """Raw value of the first header called ``name``."""
        key = canonical_name(name).lower()
        for item_name, value in self._items:
            if item_name.lower() == key:
                return value
        return default

    def get_all(self, name: str) -> list[str]:
        """Every value of ``name``; comma lists (Via, Contact, Allow ...) split into elements."""
        canonical = canonical_name(name)
        key = canonical.lower()
        values = [value for item_name, value in self._items if item_name.lower() == key]
        if canonical not in LIST_HEADERS:
            return values
        out: list[str] = []
        for value in values:
            out.extend(part.strip(WSP) for part in split_outside(value, ",") if part.strip(WSP))
        return out

    def items(self) -> tuple[tuple[str, str], ...]:
        return self._items

    def add(self, name: str, value: str) -> Headers:
        """A copy with ``name: value`` appended."""
        return Headers._from_canonical((*self._items, (canonical_name(name), value)))

    def prepend(self, name: str, value: str) -> Headers:
        """A copy with ``name: value`` inserted before the first ``name`` (or at the top)."""
        canonical = canonical_name(name)
        key = canonical.lower()
        items = list(self._items)
        index = next((i for i, (n, _) in enumerate(items) if n.lower() == key), 0)
        items.insert(index, (canonical, value))
        return Headers._from_canonical(tuple(items))

    def set(self, name: str, value: str) -> Headers:
        """A copy where ``name`` occurs once, with ``value``, where it first was (else last)."""
        canonical = canonical_name(name)
        key = canonical.lower()
        items: list[tuple[str, str]] = []
        done = False
        for item in self._items:
            if item[0].lower() == key:
                if not done:
                    items.append((canonical, value))
                    done = True
            else:
                items.append(item)
        if not done:
            items.append((canonical, value))
        return Headers._from_canonical(tuple(items))

    def remove(self, name: str) -> Headers:
        """A copy without any ``name`` header."""
        key = canonical_name(name).lower()
        return Headers._from_canonical(tuple(i for i in self._items if i[0].lower() != key))

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self.get(name) is not None

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return iter(self._items)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Headers):
            return NotImplemented
        return self._items == other._items

    def __hash__(self) -> int:
        return hash(self._items)

    def __repr__(self) -> str:
        return f"Headers({list(self._items)!r})"


# RFC 3261 §25.1: via-parm = sent-protocol LWS sent-by *( SEMI via-params ) ;
# sent-protocol = protocol-name SLASH protocol-version SLASH transport ; SLASH = SWS "/" SWS
_SENT_PROTOCOL = re.compile(
    r"^(" + TOKEN + r")[ \t]*/[ \t]*(" + TOKEN + r")[ \t]*/[ \t]*(" + TOKEN + r")?(?:[ \t]+|$)"
)


@dataclass(frozen=True)
class Via:
    """One Via value (RFC 3261 §20.42); parameter values kept as written."""

    transport: str
    host: str
    port: int | None = None
    params: Params = ()

    @property
    def branch(self) -> str | None:
        return self.param("branch")

    def param(self, name: str) -> str | None:
        """Value of ``name``; ``""`` for a flag such as a bare ``rport``; None if absent."""
        return find_param(self.params, name)

    def with_param(self, name: str, value: str | None = None) -> Via:
        return replace(self, params=_set_param(self.params, name, value))

    @property
    def sent_by(self) -> str:
        """``host[:port]`` (RFC 3261 §18.2.2 ``sent-by``)."""
        host = format_host(self.host)
        return host if self.port is None else f"{host}:{self.port}"

    def __str__(self) -> str:
        return f"SIP/2.0/{self.transport} {self.sent_by}{format_params(self.params)}"


def parse_via(text: str) -> Via:
    """Parse one Via value (RFC 3261 §20.42, §25.1 ``via-parm``)."""
    what = f"bad Via header {text!r}"
    value = text.strip(WSP)
    match = _SENT_PROTOCOL.match(value)
    if match is None:
        raise SipParseError(f"{what}: missing transport", frame=text)
    name, version, transport = match.groups()
    if name.upper() != "SIP" or version != "2.0":
        raise SipParseError(f"{what}: protocol is not SIP/2.0", frame=text)
    if transport is None:
        raise SipParseError(f"{what}: missing transport", frame=text)
    rest = value[match.end() :]
    sent_by, semi, param_text = rest.partition(";")
    sent_by = sent_by.strip(WSP)
    if not sent_by:
        raise SipParseError(f"{what}: missing sent-by host", frame=text)
    host, port = parse_hostport(sent_by, what)
    params = _parse_params(semi + param_text, what, quoted=True)
    return Via(transport.upper(), host, port, params)


@dataclass(frozen=True)
class CSeq:
    """CSeq value (RFC 3261 §20.16): sequence number and method."""

    seq: int
    method: str

    def __str__(self) -> str:
        return f"{self.seq} {self.method}"


def parse_cseq(text: str) -> CSeq:
    """Parse ``1*DIGIT LWS Method`` (RFC 3261 §20.16); the number must be below 2**31."""
    parts = text.split()
    if len(parts) != 2:
        raise SipParseError(f"bad CSeq header {text!r}: expected '<number> <method>'", frame=text)
    number, method = parts
    if not number.isascii() or not number.isdigit():
        raise SipParseError(f"bad CSeq header {text!r}: {number!r} is not an integer", frame=text)
    if int(number) >= 2**31:
        raise SipParseError(f"bad CSeq header {text!r}: number is 2**31 or more", frame=text)
    if not _TOKEN_NAME.fullmatch(method):
        raise SipParseError(f"bad CSeq header {text!r}: bad method {method!r}", frame=text)
    return CSeq(int(number), method)
