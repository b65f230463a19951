"""The whole xctest exception hierarchy, grouped by what the caller does about it.

Leaf module: imports nothing from xctest.  Anything that escapes a public call and is not an
``XctestError`` is a bug in xctest.
"""

from __future__ import annotations

from dataclasses import dataclass


class XctestError(Exception):
    """Base class of every error xctest raises on purpose."""


# --- the author must fix the file -------------------------------------------------------------


@dataclass(frozen=True)
class SourceLocation:
    """A place in a user's file (1-based line and column)."""

    file: str
    line: int
    column: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


class ScenarioError(XctestError):
    """A scenario or lab file is wrong; the message says where."""

    def __init__(self, message: str, location: SourceLocation | None = None, snippet: str = ""):
        self.location = location
        self.snippet = snippet
        text = f"{location}: {message}" if location else message
        if snippet:
            text = f"{text}\n{snippet}"
        super().__init__(text)


class ScenarioSyntaxError(ScenarioError):
    """A scenario file is not valid YAML."""


class ScenarioSchemaError(ScenarioError):
    """A scenario file is valid YAML but not a valid scenario (wrong shape, value or name)."""


class UnknownStepError(ScenarioSchemaError):
    """A word is not one the language knows; ``allowed`` lists those it does."""

    def __init__(
        self,
        message: str,
        location: SourceLocation | None = None,
        snippet: str = "",
        *,
        word: str = "",
        allowed: tuple[str, ...] = (),
    ):
        self.word = word
        self.allowed = allowed
        super().__init__(message, location, snippet)


class VariableError(ScenarioSchemaError):
    """A ``{name}`` in a scenario names no variable, or a variable or include is misused."""


class LabError(ScenarioError):
    """The lab file (users, lines, options of the simulator or of a real XiVO) is wrong."""


class TargetError(ScenarioError):
    """The target file (which XiVO, which accounts) is wrong or does not fit the run."""


class ReportError(XctestError):
    """A report file cannot be read (not JSON lines as xctest writes them)."""


# --- protocol errors --------------------------------------------------------------------------


class ProtocolError(XctestError):
    """A protocol rule was broken; see the two subclasses for whose fault it is."""


class LocalProtocolError(ProtocolError):
    """We tried to send something illegal: a bug in xctest or in the scenario."""


class RemoteProtocolError(ProtocolError):
    """The peer sent something illegal.

    ``response_hint`` is the SIP status a server should answer with (400, 481, 491 ...),
    ``frame`` the offending data when there is one.
    """

    def __init__(self, message: str, response_hint: int = 400, frame: str | bytes | None = None):
        self.response_hint = response_hint
        self.frame = frame
        super().__init__(message)


class SipParseError(RemoteProtocolError):
    """A SIP message, header, URI or SDP body could not be parsed."""


class CtiProtocolError(RemoteProtocolError):
    """A CTI JSON frame could not be decoded or does not have the documented shape;
    ``problem`` says what is wrong without quoting the frame (which may hold a secret)."""

    def __init__(
        self,
        message: str,
        response_hint: int = 400,
        frame: str | bytes | None = None,
        problem: str | None = None,
    ):
        self.problem = problem or message
        super().__init__(message, response_hint, frame)


# --- transport --------------------------------------------------------------------------------


class CtiFrameNotJson(CtiProtocolError):
    """A CTI frame that is not JSON at all (XUC answers ``InvalidJson``)."""


class TransportError(XctestError):
    """The network let us down."""


class ConnectError(TransportError):
    """A connection could not be opened (refused, TLS failure, rejected upgrade)."""


class ConnectionClosed(TransportError):
    """The connection closed while we still needed it."""


# --- server verdicts about our requests -------------------------------------------------------


class AuthenticationError(XctestError):
    """Credentials were refused (REST login, SIP digest)."""

    def __init__(self, message: str, code: str = "", user: str = ""):
        self.code = code
        self.user = user
        super().__init__(message)


class InvalidCredentials(AuthenticationError):
    """XUC answered ``InvalidCredentials`` to a login."""


class RegistrationFailed(AuthenticationError):
    """The SIP registrar refused our REGISTER (wrong line password, unknown line ...)."""

    def __init__(self, message: str, status: int = 0, user: str = ""):
        self.status = status
        super().__init__(message, code=str(status), user=user)


class LineConfigError(XctestError):
    """XUC's LineConfig describes a line a WebRTC phone cannot use (no line, not WebRTC, a
    desk phone attached): a setting of the XiVO, named in the message."""


class CallFailed(XctestError):
    """A call ended before it was answered; ``status`` is the final SIP status (404, 486 ...)."""

    def __init__(self, message: str, status: int = 0, reason: str = ""):
        self.status = status
        self.reason = reason
        super().__init__(message)


class PhoneStateError(LocalProtocolError):
    """A phone method was called in a state where xc_webrtc refuses it."""


# --- time -------------------------------------------------------------------------------------


class XctestTimeout(XctestError):
    """Something we waited for did not happen in time."""


class StepTimeout(XctestTimeout):
    """A wait ran out; records what we were waiting for and what was seen instead."""

    def __init__(self, waiting_for: str, seen: list[str] | None = None, timeout: float = 0.0):
        self.waiting_for = waiting_for
        self.seen = list(seen or [])
        self.timeout = timeout
        tail = "; saw: " + ", ".join(self.seen[-10:]) if self.seen else "; saw nothing"
        super().__init__(f"timed out after {timeout:g}s waiting for {waiting_for}{tail}")


# --- verdicts and media -----------------------------------------------------------------------


class ExpectationFailed(XctestError):
    """A test verdict: what was expected did not happen.  Not a crash."""

    def __init__(self, message: str, expected: object = None, observed: object = None):
        self.expected = expected
        self.observed = observed
        super().__init__(message)


class MediaError(XctestError):
    """An aiortc or analysis failure, translated at the media boundary."""
