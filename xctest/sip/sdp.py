"""SDP session descriptions (RFC 8866, formerly RFC 4566) and offer/answer helpers (RFC 3264).

Lines are kept in order and verbatim, so ICE and DTLS attributes survive a parse/format round
trip untouched.  Must stay sans-IO: stdlib and ``xctest.errors`` only.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace

from xctest.errors import SipParseError

# RFC 8866 §5: <type>=<value>, where <type> is exactly one case-significant character.
_LINE_RE = re.compile(r"^([a-z])=(.*)$", re.DOTALL)

# RFC 3551 §6 Table 4: static audio payload types (name, clock rate, channels).
STATIC_PAYLOAD_TYPES: dict[int, tuple[str, int, int]] = {
    0: ("PCMU", 8000, 1),
    3: ("GSM", 8000, 1),
    4: ("G723", 8000, 1),
    5: ("DVI4", 8000, 1),
    6: ("DVI4", 16000, 1),
    7: ("LPC", 8000, 1),
    8: ("PCMA", 8000, 1),
    9: ("G722", 8000, 1),
    10: ("L16", 44100, 2),
    11: ("L16", 44100, 1),
    12: ("QCELP", 8000, 1),
    13: ("CN", 8000, 1),
    14: ("MPA", 90000, 1),
    15: ("G728", 8000, 1),
    16: ("DVI4", 11025, 1),
    17: ("DVI4", 22050, 1),
    18: ("G729", 8000, 1),
}

Lines = tuple[tuple[str, str], ...]


class Direction(enum.StrEnum):
    """Media direction attributes (RFC 8866 §6.7, RFC 3264 §5.1)."""

    SENDRECV = "sendrecv"
    SENDONLY = "sendonly"
    RECVONLY = "recvonly"
    INACTIVE = "inactive"

    def answer(self) -> Direction:
        """The direction an answer takes for this offered direction (RFC 3264 §6.1)."""
        if self is Direction.SENDONLY:
            return Direction.RECVONLY
        if self is Direction.RECVONLY:
            return Direction.SENDONLY
        return self


_DIRECTIONS = frozenset(d.value for d in Direction)


@dataclass(frozen=True)
class Codec:
    """One payload format of a media section (RFC 8866 §6.6 rtpmap, §6.15 fmtp)."""

    payload_type: int
    name: str
    clock_rate: int
    channels: int = 1
    fmtp: str | None = None


def _attributes(lines: Lines, name: str) -> list[str]:
    """Values of every ``a=name[:value]`` line (RFC 8866 §5.13); ``""`` for flags."""
    out: list[str] = []
    for kind, value in lines:
        if kind != "a":
            continue
        attr, colon, rest = value.partition(":")
        if attr == name:
            out.append(rest if colon else "")
    return out


def _connection_address(lines: Lines) -> str | None:
    """Address of the first ``c=`` line (RFC 8866 §5.7), without a TTL/count suffix."""
    for kind, value in lines:
        if kind == "c":
            parts = value.split()
            return parts[2].split("/", 1)[0] if len(parts) >= 3 else None
    return None


@dataclass(frozen=True)
class MediaSection:
    """An ``m=`` line and the lines that follow it (RFC 8866 §5.14)."""

    kind: str
    port: int
    proto: str
    formats: tuple[str, ...]
    lines: Lines = ()

    @property
    def direction(self) -> Direction:
        """The section's direction attribute; sendrecv when none is given (RFC 3264 §5.1)."""
        for kind, value in self.lines:
            if kind == "a" and value in _DIRECTIONS:
                return Direction(value)
        return Direction.SENDRECV

    def with_direction(self, direction: Direction) -> MediaSection:
        """A copy whose direction line is replaced in place (or appended)."""
        lines = list(self.lines)
        for i, (kind, value) in enumerate(lines):
            if kind == "a" and value in _DIRECTIONS:
                lines[i] = ("a", direction.value)
                break
        else:
            lines.append(("a", direction.value))
        return replace(self, lines=tuple(lines))

    def attribute(self, name: str) -> str | None:
        """First ``a=name[:value]`` value; ``""`` for a flag; None if absent."""
        values = _attributes(self.lines, name)
        return values[0] if values else None

    def attributes(self, name: str) -> list[str]:
        return _attributes(self.lines, name)

    @property
    def codecs(self) -> list[Codec]:
        """Formats in preference order, resolved through rtpmap/fmtp or the static table."""
        rtpmaps: dict[str, str] = {}
        for value in self.attributes("rtpmap"):
            pt, _, encoding = value.partition(" ")
            rtpmaps.setdefault(pt, encoding.strip())
        fmtps: dict[str, str] = {}
        for value in self.attributes("fmtp"):
            pt, _, params = value.partition(" ")
            fmtps.setdefault(pt, params.strip())
        out: list[Codec] = []
        for fmt in self.formats:
            if not fmt.isdigit():
                continue
            payload_type = int(fmt)
            if fmt in rtpmaps:
                name, _, rest = rtpmaps[fmt].partition("/")
                rate_text, _, channel_text = rest.partition("/")
                if not rate_text.isdigit() or (channel_text and not channel_text.isdigit()):
                    raise SipParseError(f"bad SDP rtpmap for payload {fmt}: {rtpmaps[fmt]!r}")
                rate, channels = int(rate_text), int(channel_text or 1)
            elif payload_type in STATIC_PAYLOAD_TYPES:
                name, rate, channels = STATIC_PAYLOAD_TYPES[payload_type]
            else:
                continue
            out.append(Codec(payload_type, name, rate, channels, fmtps.get(fmt)))
        return out

    @property
    def connection_address(self) -> str | None:
        return _connection_address(self.lines)

    def format_lines(self) -> list[str]:
        """Text lines of this section, ``m=`` first."""
        m_line = f"m={self.kind} {self.port} {self.proto}"
        if self.formats:
            m_line += " " + " ".join(self.formats)
        return [m_line, *(f"{kind}={value}" for kind, value in self.lines)]


@dataclass(frozen=True)
class SessionDescription:
    """A whole SDP body: session-level lines then media sections (RFC 8866 §5)."""

    lines: Lines
    media: tuple[MediaSection, ...] = ()

    def attribute(self, name: str) -> str | None:
        """First session-level ``a=name[:value]``; ``""`` for a flag; None if absent."""
        values = _attributes(self.lines, name)
        return values[0] if values else None

    def with_media(self, media: Sequence[MediaSection]) -> SessionDescription:
        return replace(self, media=tuple(media))

    @property
    def origin(self) -> str | None:
        """The raw ``o=`` value (RFC 8866 §5.2)."""
        return next((value for kind, value in self.lines if kind == "o"), None)

    @property
    def connection_address(self) -> str | None:
        """Session-level ``c=`` address, if any."""
        return _connection_address(self.lines)

    def __str__(self) -> str:
        text = [f"{kind}={value}" for kind, value in self.lines]
        for section in self.media:
            text.extend(section.format_lines())
        return "\r\n".join(text) + "\r\n"


def _parse_m_line(value: str, number: int) -> tuple[str, int, str, tuple[str, ...]]:
    """``m=<media> <port>[/<count>] <proto> <fmt> ...`` (RFC 8866 §5.14)."""
    parts = value.split(" ")
    if len(parts) < 3 or not all(parts):
        raise SipParseError(f"bad SDP line {number}: m-line {value!r} needs media, port and proto")
    if not parts[1].isdigit() or int(parts[1]) > 65535:
        raise SipParseError(f"bad SDP line {number}: m-line port {parts[1]!r} is not a number")
    return parts[0], int(parts[1]), parts[2], tuple(parts[3:])


def parse_sdp(text: str) -> SessionDescription:
    """Parse an SDP body (RFC 8866 §5); LF or CRLF line ends; blank lines are skipped."""
    session: list[tuple[str, str]] = []
    sections: list[MediaSection] = []
    current: tuple[str, int, str, tuple[str, ...]] | None = None
    current_lines: list[tuple[str, str]] = []
    for number, line in enumerate(re.split(r"\r?\n", text), start=1):
        if not line:
            continue
        match = _LINE_RE.match(line)
        if match is None:
            raise SipParseError(
                f"bad SDP line {number}: {line!r} is not of the form <type>=<value>"
            )
        kind, value = match.group(1), match.group(2)
        if kind == "m":
            if current is not None:
                sections.append(MediaSection(*current, lines=tuple(current_lines)))
            current = _parse_m_line(value, number)
            current_lines = []
        elif current is None:
            session.append((kind, value))
        else:
            current_lines.append((kind, value))
    if current is not None:
        sections.append(MediaSection(*current, lines=tuple(current_lines)))
    if not session or session[0][0] != "v":
        raise SipParseError("bad SDP: the first line must be v=0 (RFC 8866 §5.1)")
    return SessionDescription(tuple(session), tuple(sections))
