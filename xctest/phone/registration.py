"""The phone's registration: REGISTER with digest, refresh before the granted expiry, and
xc_webrtc's retry schedule after a failure (PROTOCOL.md §3.5 failures, §5.2, Q21).

Asyncio shell over the sans-IO SIP core; publishes through the callback it is given.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from xctest.errors import RegistrationFailed, XctestError
from xctest.phone.events import Topic, XcType
from xctest.phone.identity import SipIdentity
from xctest.sip.auth import answer_challenge, parse_challenge
from xctest.sip.message import Request, Response
from xctest.transport.sip_channel import SipChannel
from xctest.transport.ws import without_token

log = logging.getLogger(__name__)

RETRY_STEPS = (0.0, 20.0, 40.0, 60.0)  # 0, 20, 40, then every 60 s
REFRESH_SHARE = 0.9  # unconfirmed (PROTOCOL.md Q21): refresh at 90 % of the granted expiry

Publish = Callable[[Topic, XcType, dict[str, Any] | None], None]
Spawn = Callable[[Coroutine[Any, Any, Any]], None]


class DigestSender:
    """Sends requests of one SIP identity, answering one digest challenge (RFC 3261 §22.2)
    and numbering CSeq across them."""

    def __init__(self) -> None:
        self.cseq = 0

    async def send(
        self,
        channel: SipChannel,
        identity: SipIdentity,
        build: Callable[[int], Request],
        on_provisional: Callable[[Response], None] | None = None,
    ) -> tuple[Request, Response]:
        """Send ``build(cseq)``; after a 401/407 send it again with credentials.  Returns the
        request that got the final response, and that response."""
        self.cseq += 1
        req = build(self.cseq)
        resp = await channel.request(req, on_provisional)
        if resp.status not in (401, 407):
            return req, resp
        header = "WWW-Authenticate" if resp.status == 401 else "Proxy-Authenticate"
        creds = answer_challenge(
            parse_challenge(resp.headers.get(header) or ""),
            username=identity.impi,
            password=identity.password,
            method=req.method,
            uri=str(req.uri),
            cnonce=secrets.token_hex(8),
        )
        self.cseq += 1
        again = build(self.cseq)
        name = "Authorization" if resp.status == 401 else "Proxy-Authorization"
        again = again.with_headers(again.headers.set(name, str(creds)))
        return again, await channel.request(again, on_provisional)


class Registration:
    """One line's binding: ``register()`` now, refreshes and retries in the background."""

    def __init__(
        self, owner: str, sender: DigestSender, publish: Publish, spawn: Spawn, expires: int = 60
    ) -> None:
        self.owner = owner
        self.sender = sender
        self.expires = expires
        self.registered = False
        self.granted: int | None = None  # the expiry of the last successful REGISTER
        self._publish = publish
        self._spawn = spawn
        self._call_id = secrets.token_hex(12)
        self._tag = secrets.token_hex(6)
        self._retry_index = 0
        self._timer: asyncio.TimerHandle | None = None
        self._stopped = False

    async def register(
        self, channel: SipChannel, identity: SipIdentity, expires: int | None = None
    ) -> int:
        """REGISTER; returns the granted expiry (``expires=0`` unregisters).  Raises
        ``RegistrationFailed`` after publishing registration Unregistered."""
        self._stopped = False
        exp = self.expires if expires is None else expires

        def build(cseq: int) -> Request:
            return identity.register_request(self._call_id, cseq, self._tag, exp)

        try:
            _, resp = await self.sender.send(channel, identity, build)
        except XctestError as exc:
            return self._failed(channel, identity, str(exc), 0)
        if not resp.is_success:
            return self._failed(channel, identity, f"{resp.status} {resp.reason}", resp.status)
        if exp == 0:
            self.registered = False
            return 0
        granted = granted_expiry(resp, exp)
        self.granted = granted
        self.registered = True
        self._retry_index = 0
        self._publish(Topic.REGISTRATION, XcType.REGISTERED, None)
        self._schedule(channel, identity, max(1.0, granted * REFRESH_SHARE))
        return granted

    def _failed(self, channel: SipChannel, identity: SipIdentity, reason: str, status: int) -> int:
        self.registered = False
        self._publish(Topic.REGISTRATION, XcType.UNREGISTERED, {"reason": reason})
        delay = RETRY_STEPS[min(self._retry_index, len(RETRY_STEPS) - 1)]
        self._retry_index += 1
        self._schedule(channel, identity, delay if delay > 0 else 0.001)
        raise RegistrationFailed(
            f"{self.owner}: REGISTER of line {identity.impi!r} to {without_token(identity.ws_url)} "
            f"refused: {reason}",
            status=status,
            user=identity.impi,
        )

    def _schedule(self, channel: SipChannel, identity: SipIdentity, delay: float) -> None:
        self.cancel_timer()
        if self._stopped:
            return

        def fire() -> None:
            self._timer = None
            self._spawn(self._quiet(self.register(channel, identity)))

        self._timer = asyncio.get_running_loop().call_later(delay, fire)

    async def _quiet(self, aw: Awaitable[int]) -> None:
        try:
            await aw
        except XctestError as exc:
            log.info("%s: registration retry failed: %s", self.owner, exc)

    def cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def stop(self) -> None:
        """No more refreshes or retries."""
        self._stopped = True
        self.cancel_timer()


def granted_expiry(resp: Response, asked: int) -> int:
    """The expiry the registrar granted: Contact ``expires``, else ``Expires``, else asked."""
    contact = resp.contact
    value = contact.param("expires") if contact is not None else None
    value = value or resp.headers.get("Expires")
    try:
        return int(value) if value else asked
    except ValueError:
        return asked
