"""Registrar bindings: address-of-record -> contact on a websocket, with expiry deadlines.

Pure bookkeeping (RFC 3261 §10.3): no I/O, time is an argument.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

F = TypeVar("F")  # the flow (websocket connection) the contact is reachable on


@dataclass(frozen=True)
class Binding(Generic[F]):
    line: str
    contact: str
    flow: F
    expires_at: float


class Registrar(Generic[F]):
    """One binding per line name (a WebRTC line has one browser at a time)."""

    def __init__(self, max_expires: int = 3600, min_expires: int = 30) -> None:
        self.max_expires = max_expires
        self.min_expires = min_expires
        self._bindings: dict[str, Binding[F]] = {}

    def granted_expiry(self, asked: int) -> int:
        return max(self.min_expires, min(asked, self.max_expires)) if asked else 0

    def register(self, line: str, contact: str, flow: F, expires: int, now: float) -> int:
        """Add or refresh (expires > 0) or remove (expires == 0); return the granted expiry."""
        granted = self.granted_expiry(expires)
        if granted == 0:
            self._bindings.pop(line, None)
        else:
            self._bindings[line] = Binding(line, contact, flow, now + granted)
        return granted

    def lookup(self, line: str, now: float) -> Binding[F] | None:
        binding = self._bindings.get(line)
        if binding is None or binding.expires_at <= now:
            self._bindings.pop(line, None)
            return None
        return binding

    def drop_flow(self, flow: F) -> list[str]:
        """Forget every binding reachable only over ``flow`` (its websocket closed)."""
        gone = [line for line, b in self._bindings.items() if b.flow is flow]
        for line in gone:
            del self._bindings[line]
        return gone

    def __len__(self) -> int:
        return len(self._bindings)

    def __repr__(self) -> str:
        return f"<Registrar bindings={len(self._bindings)}>"
