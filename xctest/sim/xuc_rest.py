"""The simulator's XUC REST API: ``auth/login`` and ``auth/check`` (PROTOCOL.md §1.2), and the
token check guarding the CTI and ``/wssip`` websockets.

Never imports the phone.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from xctest.cti.rest import (
    HTTP_STATUS,
    AuthErrorBody,
    AuthErrorCode,
    AuthToken,
    LoginRequest,
    bearer_token,
)
from xctest.sim.lab import Lab
from xctest.sim.tokens import Token, TokenStore
from xctest.transport.server import JsonRequest, WsRequest, is_invalid_json

log = logging.getLogger(__name__)

BAD_CREDENTIALS = "Invalid username or password"


class XucRest:
    """Login and token services over the lab's users."""

    def __init__(self, lab: Lab) -> None:
        self.lab = lab
        self.tokens = TokenStore(lab.token_ttl)

    @staticmethod
    def _now() -> float:
        return asyncio.get_running_loop().time()

    async def login(self, request: JsonRequest) -> tuple[int, Any]:
        """``POST /xuc/api/2.0/auth/login``."""
        body = request.body
        if is_invalid_json(body):
            return _error(AuthErrorCode.INVALID_JSON, "request body is not JSON")
        try:
            req = LoginRequest.from_json(body)
        except ValueError as exc:
            return _error(AuthErrorCode.INVALID_JSON, str(exc))
        user = self.lab.user_by_login(req.login)
        if user is None or user.password != req.password:
            log.info("XUC login refused for %r", req.login)
            return _error(AuthErrorCode.INVALID_CREDENTIALS, BAD_CREDENTIALS)
        token = self.tokens.issue(user.login, self._now())
        return 200, self._answer(token)

    async def check(self, request: JsonRequest) -> tuple[int, Any]:
        """``GET /xuc/api/2.0/auth/check``: a valid token gets a fresh one (renewal)."""
        value = bearer_token(request.headers, request.query)
        token = self.tokens.check(value, self._now())
        if token is None:
            code = AuthErrorCode.INVALID_TOKEN
            return _error(code, "missing token" if value is None else "unknown or expired token")
        return 200, self._answer(self.tokens.issue(token.login, self._now()))

    def _answer(self, token: Token) -> Any:
        return AuthToken(token.login, token.value, self.lab.token_ttl).to_json()

    def token_of(self, request: WsRequest) -> Token | None:
        """The live token a websocket request carries (``?token=`` or headers)."""
        return self.tokens.check(bearer_token(request.headers, request.query), self._now())

    def guard(self, request: WsRequest) -> tuple[int, str] | None:
        """Refuse a websocket upgrade without a live token (HTTP 401)."""
        if self.token_of(request) is None:
            log.info("websocket %s refused: bad token", request.path)
            return 401, "InvalidToken"
        return None


def _error(code: AuthErrorCode, message: str) -> tuple[int, Any]:
    return HTTP_STATUS[code], AuthErrorBody(code, message).to_json()
