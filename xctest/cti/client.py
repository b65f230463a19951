"""The asyncio shell of a XUC user session: REST login, CTI websocket, heartbeat, typed
messages dispatched by ``msgType`` (PROTOCOL.md §1.2–§1.5, the cti.js client library).

Uses ``cti.messages`` for every frame and ``transport`` for I/O; never imports phone or sim.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import Callable
from typing import Any, TypeVar

from xctest.cti.heartbeat import Heartbeat, HeartbeatAction
from xctest.cti.messages import (
    Command,
    LinkStatusUpdate,
    Message,
    Ping,
    decode_message,
    encode_command,
)
from xctest.cti.rest import (
    CHECK_PATH,
    LOGIN_PATH,
    AuthErrorBody,
    AuthErrorCode,
    AuthToken,
    LoginRequest,
    cti_url,
)
from xctest.errors import (
    AuthenticationError,
    ConnectionClosed,
    CtiProtocolError,
    InvalidCredentials,
    PhoneStateError,
    StepTimeout,
    XctestError,
)
from xctest.tasks import Background
from xctest.transport import ws as wsmod
from xctest.transport.http import JsonResponse, request_json

log = logging.getLogger(__name__)

M = TypeVar("M", bound=Message)
Handler = Callable[[Message], None]
# (direction "in"/"out", msgType or command, JSON-ready fields) for the owner's timeline
Observer = Callable[[str, str, dict[str, Any]], None]


class CtiClient:
    """One user's XUC session.

    ``base_url`` is the XUC HTTP root (``http://host:8090`` or ``https://host:8443``): the REST
    calls and the CTI websocket are derived from it as the front-ends do.
    """

    def __init__(
        self,
        base_url: str,
        *,
        ssl_context: ssl.SSLContext | None = None,
        name: str = "",
        observer: Observer | None = None,
        heartbeat_interval: float = 5.0,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.ssl_context = ssl_context
        self.name = name
        self.observer = observer
        self.token: AuthToken | None = None
        self.login_name = ""
        self.received: list[Message] = []
        # what XUC sent that was taken converted (first note per field), and frames refused
        self.conversions: dict[str, str] = {}
        self.refused: list[str] = []
        self.closed = asyncio.Event()
        self._heartbeat = Heartbeat(interval=heartbeat_interval)
        self._handlers: dict[str, list[Handler]] = {}
        self._ws: wsmod.ClientWs | None = None
        self._background = Background(f"cti {name}", log)
        self._waiters: list[tuple[Callable[[Message], bool], asyncio.Future[Message]]] = []

    # --- REST ------------------------------------------------------------------------------

    async def login(self, login: str, password: str) -> AuthToken:
        """``POST auth/login``; raises ``InvalidCredentials`` / ``AuthenticationError`` naming
        the user and the server's error code."""
        body = LoginRequest(login, password).to_json()
        resp = await request_json(
            "POST", self.base_url + LOGIN_PATH, body=body, ssl_context=self.ssl_context
        )
        self.token = self._token_from(resp, login, "login")
        self.login_name = login
        return self.token

    async def check(self) -> AuthToken:
        """``GET auth/check`` with the current token; the answer's token replaces it (the
        front-end renews this way, PROTOCOL.md §1.5 step 8)."""
        token = self._need_token()
        resp = await request_json(
            "GET",
            self.base_url + CHECK_PATH,
            headers={"Authorization": f"Bearer {token.token}"},
            ssl_context=self.ssl_context,
        )
        self.token = self._token_from(resp, self.login_name, "token check")
        return self.token

    def _token_from(self, resp: JsonResponse, login: str, what: str) -> AuthToken:
        where = f"XUC {self.base_url}"
        if resp.status == 200 and isinstance(resp.body, dict):
            notes: list[str] = []
            try:
                token = AuthToken.from_answer(resp.body, login, notes)
                self._converted(notes)
                return token
            except ValueError as exc:
                raise CtiProtocolError(
                    f"{where}: {what} answer for {login!r} is not a token: {exc}",
                    frame=resp.text[:200],
                ) from exc
        try:
            error = AuthErrorBody.from_json(resp.body)
        except (ValueError, TypeError):
            error = AuthErrorBody("NoResponse", resp.text[:200])  # what the front-end assumes
        message = (
            f"{where}: {what} refused for user {login!r}: {error.error} "
            f"({error.message}), HTTP {resp.status}"
        )
        if error.error == AuthErrorCode.INVALID_CREDENTIALS:
            raise InvalidCredentials(message, code=error.error, user=login)
        raise AuthenticationError(message, code=error.error, user=login)

    # --- websocket -------------------------------------------------------------------------

    async def connect(self) -> None:
        """Open ``…/xuc/api/2.0/cti?token=…``, start reading and the heartbeat."""
        token = self._need_token()
        url = cti_url(self.base_url, token.token)
        self._ws = await wsmod.connect(url, ssl_context=self.ssl_context)
        self.closed.clear()
        loop = asyncio.get_running_loop()
        self._heartbeat.start(loop.time())
        self._local(LinkStatusUpdate("opened"))
        self._background.spawn(self._read(self._ws), "cti reader")
        self._background.spawn(self._beat(), "cti heartbeat")

    async def send(self, command: Command) -> None:
        """Send one command frame; ``PhoneStateError`` when the socket is not open."""
        ws = self._ws
        if ws is None or self.closed.is_set():
            raise PhoneStateError(f"{self.name}: CTI websocket is not open")
        text = encode_command(command)
        if self.observer is not None and not isinstance(command, Ping):
            self.observer("out", command.COMMAND, command.arguments())
        await ws.send(text)

    def set_handler(self, msg_type: str | type[Message], handler: Handler) -> Callable[[], None]:
        """Call ``handler`` for every message of that ``msgType``; returns an unsubscribe."""
        key = msg_type if isinstance(msg_type, str) else msg_type.MSG_TYPE
        self._handlers.setdefault(key, []).append(handler)

        def unsubscribe() -> None:
            if handler in self._handlers.get(key, []):
                self._handlers[key].remove(handler)

        return unsubscribe

    async def wait_for(
        self,
        kind: type[M],
        pred: Callable[[M], bool] = lambda m: True,
        *,
        timeout: float = 5.0,
        since: int = 0,
        what: str | None = None,
    ) -> M:
        """The first received message (index >= ``since``) of that type matching ``pred``;
        ``StepTimeout`` naming ``what`` (default: the type) otherwise."""

        def test(msg: Message) -> bool:
            return isinstance(msg, kind) and pred(msg)

        found = next((m for m in self.received[since:] if test(m)), None)
        if found is None:
            fut: asyncio.Future[Message] = asyncio.get_running_loop().create_future()
            self._waiters.append((test, fut))
            try:
                found = await asyncio.wait_for(fut, timeout)
            except TimeoutError:
                seen = [type(m).__name__ for m in self.received[since:]]
                waited = what or f"CTI {kind.__name__}"
                seen += [f"refused {p}" for p in self.refused if f'"{kind.MSG_TYPE}"' in p]
                raise StepTimeout(f"{self.name}: {waited}", seen, timeout) from None
        assert isinstance(found, kind)
        return found

    async def _read(self, ws: wsmod.ClientWs) -> None:
        try:
            while True:
                text = await ws.recv()
                self._heartbeat.on_frame()
                notes: list[str] = []
                try:
                    msg = decode_message(text, notes)
                except CtiProtocolError as exc:
                    log.warning("%s: frame refused: %s", self.name, exc.problem)
                    self.refused.append(exc.problem)
                    continue
                self._converted(notes)
                self._deliver(msg)
        except ConnectionClosed as exc:
            log.info("%s: CTI websocket closed: %s", self.name, exc)
        finally:
            self._closed()

    def _deliver(self, msg: Message) -> None:
        self.received.append(msg)
        if self.observer is not None:
            payload = msg.to_payload()
            fields = payload if isinstance(payload, dict) else {"payload": payload}
            try:
                self.observer("in", msg.wire_type(), dict(fields))
            except Exception:
                log.exception("%s: observer failed on %s", self.name, msg.wire_type())
        for handler in list(self._handlers.get(msg.wire_type(), [])):
            try:
                handler(msg)
            except Exception:
                log.exception("%s: handler for %s failed", self.name, msg.wire_type())
        waiting = []
        for test, fut in self._waiters:
            if fut.done():
                continue
            if test(msg):
                fut.set_result(msg)
            else:
                waiting.append((test, fut))
        self._waiters = waiting

    def _converted(self, notes: list[str]) -> None:
        """Warn once per field that XUC sent a value of another type, taken converted."""
        for text in notes:
            field = text.partition(": ")[0]
            if field not in self.conversions:
                self.conversions[field] = text
                log.warning("%s: %s (the frame is kept)", self.name, text)

    def _local(self, msg: Message) -> None:
        """A pseudo message the client library generates itself (LinkStatusUpdate)."""
        self._deliver(msg)

    async def _beat(self) -> None:
        loop = asyncio.get_running_loop()
        while not self.closed.is_set():
            deadline = self._heartbeat.next_deadline()
            if deadline is None:
                return
            await asyncio.sleep(max(0.0, deadline - loop.time()))
            if self.closed.is_set():
                return
            action = self._heartbeat.on_tick(loop.time())
            if action is HeartbeatAction.CLOSE:
                log.warning("%s: no frame from XUC after 3 pings; closing", self.name)
                await self._close_ws()
                return
            try:
                await self.send(Ping())
            except XctestError as exc:
                log.info("%s: ping not sent: %s", self.name, exc)
                return

    def _closed(self) -> None:
        if self.closed.is_set():
            return
        self.closed.set()
        self._heartbeat.stop()
        self._local(LinkStatusUpdate("closed"))

    async def _close_ws(self) -> None:
        ws, self._ws = self._ws, None
        if ws is not None:
            await ws.aclose()
        self._closed()

    async def aclose(self) -> None:
        """Close the websocket (LinkStatusUpdate closed) and stop background work."""
        await self._close_ws()
        await self._background.aclose()

    def _need_token(self) -> AuthToken:
        if self.token is None:
            raise PhoneStateError(f"{self.name}: not logged in to XUC (call login first)")
        return self.token

    def __repr__(self) -> str:
        state = "closed" if self.closed.is_set() or self._ws is None else "open"
        return f"<CtiClient {self.login_name or self.name} {self.base_url} {state}>"
