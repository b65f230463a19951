"""SIP requests and responses (RFC 3261 §7): frozen values, one parser, one serialiser.

Also owns the default reason phrases and ``make_response`` (§8.2.6).  Must stay sans-IO: stdlib
and ``xctest.errors`` only; one WebSocket frame in, one message out (RFC 7118 §4).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Self

from xctest.errors import LocalProtocolError, SipParseError
from xctest.sip.grammar import REQUEST_LINE_RE, SIP_VERSION, STATUS_LINE_RE, WSP, is_token
from xctest.sip.headers import CSeq, Headers, Via, parse_cseq, parse_via
from xctest.sip.uri import NameAddr, SipUri, parse_name_addr, parse_uri

# RFC 3261 §21 (and RFC 3262, 3265, 3311, 3329, 4028, 6665) default reason phrases.
REASONS: dict[int, str] = {
    100: "Trying",
    180: "Ringing",
    181: "Call Is Being Forwarded",
    182: "Queued",
    183: "Session Progress",
    199: "Early Dialog Terminated",
    200: "OK",
    202: "Accepted",
    204: "No Notification",
    300: "Multiple Choices",
    301: "Moved Permanently",
    302: "Moved Temporarily",
    305: "Use Proxy",
    380: "Alternative Service",
    400: "Bad Request",
    401: "Unauthorized",
    402: "Payment Required",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    406: "Not Acceptable",
    407: "Proxy Authentication Required",
    408: "Request Timeout",
    410: "Gone",
    413: "Request Entity Too Large",
    414: "Request-URI Too Long",
    415: "Unsupported Media Type",
    416: "Unsupported URI Scheme",
    420: "Bad Extension",
    421: "Extension Required",
    422: "Session Interval Too Small",
    423: "Interval Too Brief",
    480: "Temporarily Unavailable",
    481: "Call/Transaction Does Not Exist",
    482: "Loop Detected",
    483: "Too Many Hops",
    484: "Address Incomplete",
    485: "Ambiguous",
    486: "Busy Here",
    487: "Request Terminated",
    488: "Not Acceptable Here",
    489: "Bad Event",
    491: "Request Pending",
    493: "Undecipherable",
    500: "Server Internal Error",
    501: "Not Implemented",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Server Time-out",
    505: "Version Not Supported",
    513: "Message Too Large",
    600: "Busy Everywhere",
    603: "Decline",
    604: "Does Not Exist Anywhere",
    606: "Not Acceptable",
}

# RFC 3261 §8.1.1: every request carries these; §8.2.6.2: responses copy them.
MANDATORY_REQUEST_HEADERS = ("Via", "From", "To", "Call-ID", "CSeq")

_LINE_SPLIT = re.compile(r"\r?\n")


class _MessageMixin:
    """Accessors shared by Request and Response; each parses its header on access."""

    headers: Headers
    body: bytes

    def _required(self, name: str) -> str:
        value = self.headers.get(name)
        if value is None:
            raise SipParseError(f"missing {name} header")
        return value

    @property
    def call_id(self) -> str:
        return self._required("Call-ID")

    @property
    def cseq(self) -> CSeq:
        return parse_cseq(self._required("CSeq"))

    @property
    def from_(self) -> NameAddr:
        return parse_name_addr(self._required("From"))

    @property
    def to(self) -> NameAddr:
        return parse_name_addr(self._required("To"))

    @property
    def vias(self) -> list[Via]:
        """Every Via value, top (most recent hop) first."""
        return [parse_via(value) for value in self.headers.get_all("Via")]

    @property
    def top_via(self) -> Via:
        values = self.headers.get_all("Via")
        if not values:
            raise SipParseError("missing Via header")
        return parse_via(values[0])

    @property
    def contact(self) -> NameAddr | None:
        values = self.headers.get_all("Contact")
        return parse_name_addr(values[0]) if values else None

    @property
    def content_type(self) -> str | None:
        """Media type of the body, lower-cased, parameters stripped (RFC 3261 §20.15)."""
        value = self.headers.get("Content-Type")
        if value is None:
            return None
        return value.split(";", 1)[0].strip(WSP).lower()

    @property
    def text(self) -> str:
        try:
            return self.body.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise SipParseError(f"body is not valid UTF-8: {exc}") from exc

    def with_headers(self, headers: Headers) -> Self:
        return replace(self, headers=headers)  # type: ignore[type-var]

    def with_body(self, body: bytes, content_type: str | None = None) -> Self:
        """A copy with ``body``; Content-Length updated, Content-Type set when given."""
        headers = self.headers.set("Content-Length", str(len(body)))
        if content_type is not None:
            headers = headers.set("Content-Type", content_type)
        return replace(self, headers=headers, body=body)  # type: ignore[type-var]

    def __bytes__(self) -> bytes:
        return serialize(self)  # type: ignore[arg-type]


@dataclass(frozen=True)
class Request(_MessageMixin):
    """A SIP request (RFC 3261 §7.1)."""

    method: str
    uri: SipUri
    headers: Headers
    body: bytes = b""

    @property
    def is_request(self) -> bool:
        return True


@dataclass(frozen=True)
class Response(_MessageMixin):
    """A SIP response (RFC 3261 §7.2)."""

    status: int
    reason: str
    headers: Headers
    body: bytes = b""

    @property
    def is_request(self) -> bool:
        return False

    @property
    def is_provisional(self) -> bool:
        return 100 <= self.status < 200

    @property
    def is_success(self) -> bool:
        return 200 <= self.status < 300

    @property
    def is_final(self) -> bool:
        return self.status >= 200


def _split_frame(data: bytes) -> tuple[bytes, bytes]:
    """Split at the first empty line (CRLF CRLF or LF LF); no empty line means no body."""
    ends = [(data.find(sep), sep) for sep in (b"\r\n\r\n", b"\n\n")]
    found = [(pos, sep) for pos, sep in ends if pos >= 0]
    if not found:
        return data.rstrip(b"\r\n"), b""
    pos, sep = min(found)
    return data[:pos], data[pos + len(sep) :]


def _parse_header_lines(lines: list[str], frame: bytes) -> Headers:
    """Unfold (RFC 3261 §7.3.1) and split ``name: value`` lines."""
    items: list[tuple[str, str]] = []
    for number, line in enumerate(lines, start=2):
        if line[:1] in (" ", "\t"):
            if not items:
                raise SipParseError(
                    f"line {number}: continuation line before any header", frame=frame
                )
            name, value = items[-1]
            items[-1] = (name, f"{value} {line.strip(WSP)}".strip(WSP))
            continue
        name, colon, value = line.partition(":")
        if not colon:
            raise SipParseError(f"line {number}: header line without colon: {line!r}", frame=frame)
        name = name.rstrip(WSP)
        if not is_token(name):
            raise SipParseError(f"line {number}: bad header name {name!r}", frame=frame)
        items.append((name, value.strip(WSP)))
    return Headers(items)


def parse_message(data: bytes | str) -> Request | Response:
    """Parse one SIP message (RFC 3261 §7); raises SipParseError (response hint 400)."""
    frame = data.encode("utf-8") if isinstance(data, str) else data
    stripped = frame.lstrip(b"\r\n")
    if not stripped.strip():
        raise SipParseError("empty SIP frame", frame=frame)
    head, rest = _split_frame(stripped)
    try:
        head_text = head.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SipParseError(f"header section is not valid UTF-8: {exc}", frame=frame) from exc
    lines = _LINE_SPLIT.split(head_text)
    start = lines[0]
    headers = _parse_header_lines(lines[1:], frame)

    length_text = headers.get("Content-Length")
    if length_text is None:
        body = rest
    else:
        if not length_text.isascii() or not length_text.isdigit():
            raise SipParseError(f"bad Content-Length header {length_text!r}", frame=frame)
        length = int(length_text)
        if len(rest) < length:
            raise SipParseError(
                f"body shorter than Content-Length ({len(rest)} < {length})", frame=frame
            )
        body = rest[:length]

    msg: Request | Response
    if start.upper().startswith("SIP/"):
        match = STATUS_LINE_RE.match(start)
        if match is None:
            raise SipParseError(
                f"bad start line {start!r}: expected 'SIP/2.0 <code> <reason>'", frame=frame
            )
        status = int(match.group(1))
        if not 100 <= status <= 699:
            raise SipParseError(
                f"bad start line {start!r}: status {status} not in 100..699", frame=frame
            )
        msg = Response(status, match.group(2) or "", headers, body)
    else:
        match = REQUEST_LINE_RE.match(start)
        if match is None:
            raise SipParseError(
                f"bad start line {start!r}: expected '<METHOD> <URI> SIP/2.0'", frame=frame
            )
        for name in MANDATORY_REQUEST_HEADERS:
            if name not in headers:
                raise SipParseError(f"missing mandatory header {name}", frame=frame)
        try:
            uri = parse_uri(match.group(2))
        except SipParseError as exc:
            raise SipParseError(f"bad Request-URI: {exc}", frame=frame) from None
        msg = Request(match.group(1), uri, headers, body)
    _check_structured(msg, frame)
    return msg


def _check_structured(msg: Request | Response, frame: bytes) -> None:
    """Parse the headers every layer relies on, so a bad one fails here with a 400."""
    try:
        if "CSeq" in msg.headers:
            cseq = msg.cseq
            if isinstance(msg, Request) and cseq.method != msg.method:
                raise SipParseError(
                    f"CSeq method {cseq.method!r} does not match request method {msg.method!r}"
                )
        if "Via" in msg.headers:
            _ = msg.vias
        if "From" in msg.headers:
            _ = msg.from_
        if "To" in msg.headers:
            _ = msg.to
    except SipParseError as exc:
        raise SipParseError(str(exc), response_hint=400, frame=frame) from None


def _header_line(name: str, value: str) -> str:
    if any(ch in "\r\n" for ch in name + value):
        raise LocalProtocolError(f"header {name!r} contains a line break: {value!r}")
    return f"{name}: {value}" if value else f"{name}:"


def serialize(msg: Request | Response) -> bytes:
    """Bytes of ``msg`` with CRLF line ends and a recomputed Content-Length (RFC 3261 §20.14)."""
    if isinstance(msg, Request):
        start = f"{msg.method} {msg.uri} {SIP_VERSION}"
    else:
        start = f"{SIP_VERSION} {msg.status} {msg.reason}"
    headers = msg.headers.set("Content-Length", str(len(msg.body)))
    lines = [start, *(_header_line(name, value) for name, value in headers.items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8") + msg.body


def make_response(
    request: Request,
    status: int,
    reason: str | None = None,
    *,
    to_tag: str | None = None,
    headers: Iterable[tuple[str, str]] = (),
    body: bytes = b"",
    content_type: str | None = None,
) -> Response:
    """Build a response to ``request`` (RFC 3261 §8.2.6.2).

    Copies every Via in order, From, To (adding ``tag=to_tag`` when To has none), Call-ID and
    CSeq; then ``headers``; then Content-Type (when given with a body) and Content-Length.
    """
    if not 100 <= status <= 699:
        raise LocalProtocolError(f"status {status} is not in 100..699")
    items: list[tuple[str, str]] = [("Via", value) for value in request.headers.get_all("Via")]
    items.append(("From", request._required("From")))
    to_value = request._required("To")
    if to_tag is not None and request.to.tag is None:
        to_value = f"{to_value};tag={to_tag}"
    items.append(("To", to_value))
    items.append(("Call-ID", request._required("Call-ID")))
    items.append(("CSeq", request._required("CSeq")))
    items.extend(headers)
    if body and content_type is not None:
        items.append(("Content-Type", content_type))
    items.append(("Content-Length", str(len(body))))
    phrase = REASONS.get(status, "Unknown") if reason is None else reason
    return Response(status, phrase, Headers(items), body)
