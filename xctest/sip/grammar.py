"""RFC 3261 §25 grammar pieces shared by the SIP codec modules, plus quote-aware splitting.

Owns token/regex constants (each citing its ABNF rule) and tiny pure helpers.  Must stay
sans-IO: stdlib only, no asyncio, sockets or clocks.
"""

from __future__ import annotations

import re

# RFC 3261 §25.1: token = 1*(alphanum / "-" / "." / "!" / "%" / "*" / "_" / "+" / "`" / "'" / "~")
TOKEN = r"[A-Za-z0-9\-.!%*_+`'~]+"
TOKEN_RE = re.compile(TOKEN)

# RFC 3261 §25.1: LWS = [*WSP CRLF] 1*WSP ; SWS = [LWS]  (after unfolding only WSP is left)
WSP = " \t"

# RFC 3261 §25.1: SIP-Version = "SIP" "/" 1*DIGIT "." 1*DIGIT  (only 2.0 is spoken)
SIP_VERSION = "SIP/2.0"

# RFC 3261 §25.1: Status-Code = 3DIGIT ; Reason-Phrase = *(reserved / unreserved / ... / SP / HTAB)
STATUS_LINE_RE = re.compile(r"^SIP/2\.0 ([0-9]{3})(?: (.*))?$", re.IGNORECASE)

# RFC 3261 §25.1: Request-Line = Method SP Request-URI SP SIP-Version CRLF
REQUEST_LINE_RE = re.compile(r"^(" + TOKEN + r") (\S+) (SIP/2\.0)$", re.IGNORECASE)

# RFC 3261 §25.1: hostname = *( domainlabel "." ) toplabel [ "." ] ; IPv4address ;
# IPv6reference = "[" IPv6address "]".  Underscore is tolerated (seen in the wild).
HOSTNAME_RE = re.compile(r"^[A-Za-z0-9\-_.]+$")
IPV6_RE = re.compile(r"^[0-9A-Fa-f:.]+$")

# RFC 3261 §25.1: scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )  (RFC 3986 §3.1)
SCHEME_RE = re.compile(r"^([A-Za-z][A-Za-z0-9+\-.]*):(.*)$", re.DOTALL)

# RFC 3261 §25.1: port = 1*DIGIT
PORT_RE = re.compile(r"^[0-9]{1,5}$")

# RFC 3261 §25.1: quoted-string = SWS DQUOTE *(qdtext / quoted-pair ) DQUOTE
QUOTED_STRING_RE = re.compile(r'^"(?:[^"\\]|\\.)*"$', re.DOTALL)

# RFC 3261 §25.1: display-name = *(token LWS) / quoted-string  (unquoted form)
UNQUOTED_DISPLAY_RE = re.compile(r"^" + TOKEN + r"(?: " + TOKEN + r")*$")


def is_token(text: str) -> bool:
    """True when ``text`` matches RFC 3261 §25.1 ``token``."""
    return TOKEN_RE.fullmatch(text) is not None


def split_outside(text: str, sep: str) -> list[str]:
    """Split ``text`` on ``sep`` where it is outside quoted strings and ``<...>``.

    Used for header lists (RFC 3261 §7.3.1: comma-separated values) and parameters
    (``;`` in §25.1 ``generic-param``).  Pieces are returned as written (not stripped).
    """
    parts: list[str] = []
    start = 0
    in_quotes = False
    in_angle = False
    i = 0
    while i < len(text):
        ch = text[i]
        if in_quotes:
            if ch == "\\":
                i += 1
            elif ch == '"':
                in_quotes = False
        elif ch == '"':
            in_quotes = True
        elif ch == "<":
            in_angle = True
        elif ch == ">":
            in_angle = False
        elif ch == sep and not in_angle:
            parts.append(text[start:i])
            start = i + 1
        i += 1
    parts.append(text[start:])
    return parts


def quote(text: str) -> str:
    """Render ``text`` as an RFC 3261 §25.1 quoted-string (escaping ``"`` and ``\\``)."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def unquote(text: str) -> str:
    """Inverse of :func:`quote`; returns ``text`` unchanged when it is not quoted."""
    if len(text) >= 2 and text[0] == '"' and text[-1] == '"':
        return re.sub(r"\\(.)", r"\1", text[1:-1], flags=re.DOTALL)
    return text
