"""XUC REST authentication (PROTOCOL.md §1.2, §1.3): paths, request and answer bodies, tokens.

Bodies convert to and from decoded JSON objects; a malformed body raises ``RestBodyError``.
Must stay sans-IO: stdlib and ``xctest.errors`` only.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Self
from urllib.parse import quote, urlsplit, urlunsplit

LOGIN_PATH = "/xuc/api/2.0/auth/login"
CHECK_PATH = "/xuc/api/2.0/auth/check"
CTI_PATH = "/xuc/api/2.0/cti"


class RestBodyError(ValueError):
    """A REST body does not have the documented shape (the server answers ``InvalidJson``)."""


def _field(obj: Any, body: str, key: str, kind: type, required: bool = True) -> Any:
    if not isinstance(obj, dict):
        raise RestBodyError(f"{body} must be a JSON object, got {_json_type(obj)}")
    if key not in obj or obj[key] is None:
        if required:
            raise RestBodyError(f'{body} is missing field "{key}"')
        return None
    value = obj[key]
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        expected = "an integer" if kind is int else "a string"
        raise RestBodyError(f'{body} field "{key}" must be {expected}, got {_json_type(value)}')
    return value


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


@dataclass(frozen=True)
class LoginRequest:
    """``POST LOGIN_PATH`` body; the optional fields are sent only when set."""

    login: str
    password: str
    software_type: str | None = None
    application_type: str | None = None

    def to_json(self) -> dict[str, Any]:
        body = {
            "login": self.login,
            "password": self.password,
            "softwareType": self.software_type,
            "applicationType": self.application_type,
        }
        return {key: value for key, value in body.items() if value is not None}

    @classmethod
    def from_json(cls, obj: Any) -> Self:
        what = "login request"
        return cls(
            _field(obj, what, "login", str),
            _field(obj, what, "password", str),
            _field(obj, what, "softwareType", str, required=False),
            _field(obj, what, "applicationType", str, required=False),
        )


@dataclass(frozen=True)
class AuthToken:
    """Successful login or check answer; ``ttl`` in seconds, unconfirmed (PROTOCOL.md Q9);
    None when the answer gave none."""

    login: str
    token: str
    ttl: int | None

    def to_json(self) -> dict[str, Any]:
        body = {"login": self.login, "token": self.token, "TTL": self.ttl}
        return {key: value for key, value in body.items() if value is not None}

    @classmethod
    def from_json(cls, obj: Any) -> Self:
        what = "token answer"
        return cls(
            _field(obj, what, "login", str),
            _field(obj, what, "token", str),
            _field(obj, what, "TTL", int),
        )

    @classmethod
    def from_answer(cls, obj: Any, login: str, notes: list[str]) -> Self:
        """A real XUC's answer, read tolerantly: only ``token`` is required; a missing
        ``login`` is the one asked for, a ``TTL`` given as text or as a whole float is taken
        as an integer and a missing or unreadable one as unknown (each said in ``notes``)."""
        what = "token answer"
        token = _field(obj, what, "token", str)
        given = obj.get("login")
        if not isinstance(given, str):
            notes.append(f'{what} field "login": {_json_type(given)} taken as {login!r}')
            given = login
        ttl = obj.get("TTL")
        if isinstance(ttl, bool) or not isinstance(ttl, int):
            taken: int | None = None
            if isinstance(ttl, str) and ttl.strip().isdigit():
                taken = int(ttl)
            elif isinstance(ttl, float) and ttl.is_integer():
                taken = int(ttl)
            notes.append(f'{what} field "TTL": {_json_type(ttl)} {ttl!r} taken as {taken!r}')
            ttl = taken
        return cls(given, token, ttl)


class AuthErrorCode(enum.StrEnum):
    INVALID_CREDENTIALS = "InvalidCredentials"
    INVALID_JSON = "InvalidJson"
    UNHANDLED = "UnhandledError"
    INVALID_TOKEN = "InvalidToken"  # name unconfirmed (PROTOCOL.md Q9)
    TOKEN_EXPIRED = "TokenExpired"  # name unconfirmed (PROTOCOL.md Q9)


# HTTP status of each error answer: unconfirmed (PROTOCOL.md Q9), usual Play practice
HTTP_STATUS: Mapping[AuthErrorCode, int] = MappingProxyType(
    {
        AuthErrorCode.INVALID_CREDENTIALS: 401,
        AuthErrorCode.INVALID_JSON: 400,
        AuthErrorCode.UNHANDLED: 500,
        AuthErrorCode.INVALID_TOKEN: 401,
        AuthErrorCode.TOKEN_EXPIRED: 401,
    }
)


@dataclass(frozen=True)
class AuthErrorBody:
    """Refusal body ``{"error": <code>, "message": <text>}``; ``error`` may be any string."""

    error: str
    message: str

    def to_json(self) -> dict[str, Any]:
        return {"error": str(self.error), "message": self.message}

    @classmethod
    def from_json(cls, obj: Any) -> Self:
        what = "error answer"
        error = _field(obj, what, "error", str)
        return cls(error, _field(obj, what, "message", str, required=False) or "")


def bearer_token(headers: Mapping[str, str], query: Mapping[str, str]) -> str | None:
    """The token of a request (§1.2, S15): ``Authorization: Bearer``, ``X-Auth-Token``, ``?token=``.

    ``headers`` keys must be lower-case.  Empty values count as absent.
    """
    scheme, _, value = headers.get("authorization", "").strip().partition(" ")
    candidates = (
        value.strip() if scheme.lower() == "bearer" else "",
        headers.get("x-auth-token", "").strip(),
        query.get("token", ""),
    )
    return next((token for token in candidates if token), None)


def cti_url(base_http_url: str, token: str) -> str:
    """``ws(s)://host[:port]/xuc/api/2.0/cti?token=<token>`` for an ``http(s)://`` XUC base."""
    parts = urlsplit(base_http_url)
    schemes = {"http": "ws", "https": "wss", "ws": "ws", "wss": "wss"}
    if parts.scheme.lower() not in schemes or not parts.netloc:
        raise ValueError(f"XUC base URL must be http(s)://host[:port], got {base_http_url!r}")
    scheme = schemes[parts.scheme.lower()]
    return urlunsplit((scheme, parts.netloc, CTI_PATH, f"token={quote(token, safe='')}", ""))
