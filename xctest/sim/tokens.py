"""XUC authentication tokens of the simulator: issue, check, renew, expire.

Pure state with time passed in; never imports the phone.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass


@dataclass(frozen=True)
class Token:
    value: str
    login: str
    expires_at: float


class TokenStore:
    """Tokens by value; ``ttl`` seconds each (unconfirmed (PROTOCOL.md Q9): TTL in seconds)."""

    def __init__(self, ttl: int) -> None:
        self.ttl = ttl
        self._tokens: dict[str, Token] = {}

    def issue(self, login: str, now: float) -> Token:
        token = Token(secrets.token_hex(16), login, now + self.ttl)
        self._tokens[token.value] = token
        return token

    def check(self, value: str | None, now: float) -> Token | None:
        """The live token with that value, or None (unknown or expired)."""
        token = self._tokens.get(value or "")
        if token is None:
            return None
        if token.expires_at <= now:
            del self._tokens[token.value]
            return None
        return token

    def __len__(self) -> int:
        return len(self._tokens)
