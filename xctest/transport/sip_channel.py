"""One SIP-over-WebSocket connection driven by a sans-IO ``sip.Agent``: the shell that both
the phone and the simulator use (RFC 7118).

Reads frames, feeds the agent with the loop's time, fires its timers, sends what it produces,
and hands typed events to the owner.  Requests can be awaited until their final response.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass

from xctest.errors import ConnectionClosed, XctestTimeout
from xctest.sip.agent import Agent
from xctest.sip.events import Event, ResponseReceived, TransactionTimeout
from xctest.sip.message import Request, Response, parse_message
from xctest.transport.ws import WsConnection

log = logging.getLogger(__name__)

EventHandler = Callable[[Event], None]
FrameObserver = Callable[[str, str], None]  # (direction ">>>" or "<<<", frame)


@dataclass
class _Pending:
    future: asyncio.Future[Response]
    on_provisional: Callable[[Response], None] | None


class SipChannel:
    """Agent + websocket + timers.  ``on_event`` gets every event the agent emits, except the
    responses to requests sent with ``request()``, which resolve that call instead."""

    def __init__(
        self,
        ws: WsConnection,
        on_event: EventHandler,
        *,
        name: str = "",
        agent: Agent | None = None,
        observer: FrameObserver | None = None,
    ) -> None:
        self.ws = ws
        self.agent = agent or Agent()
        self.name = name
        self.on_event = on_event
        self.observer = observer
        self.closed = asyncio.Event()
        self._pending: dict[tuple[str, str], _Pending] = {}
        self._timer: asyncio.TimerHandle | None = None
        self._loop = asyncio.get_running_loop()
        self._send_lock = asyncio.Lock()

    def now(self) -> float:
        return self._loop.time()

    async def run(self) -> None:
        """Serve the connection until it closes."""
        try:
            while True:
                frame = await self.ws.recv()
                if self.observer is not None:
                    self.observer("<<<", frame)
                self.agent.receive(frame, self.now())
                await self._pump()
        except ConnectionClosed:
            pass
        finally:
            self._shutdown()

    def _shutdown(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        for pending in self._pending.values():
            if not pending.future.done():
                pending.future.set_exception(
                    ConnectionClosed(f"{self.name}: websocket closed before a final response")
                )
        self._pending.clear()
        self.closed.set()

    async def _pump(self) -> None:
        for frame in self.agent.frames_to_send():
            await self._write(frame)
        while (event := self.agent.next_event()) is not None:
            if not self._resolve(event):
                try:
                    self.on_event(event)
                except Exception:
                    log.exception("%s: handler failed on %s", self.name, type(event).__name__)
        for frame in self.agent.frames_to_send():
            await self._write(frame)
        self._arm_timer()

    def _resolve(self, event: Event) -> bool:
        if isinstance(event, ResponseReceived):
            key = _key(event.request)
            pending = self._pending.get(key)
            if pending is None:
                return False
            resp = event.response
            if resp.is_final:
                self._pending.pop(key, None)
                if not pending.future.done():
                    pending.future.set_result(resp)
            elif pending.on_provisional is not None:
                pending.on_provisional(resp)
            return True
        if isinstance(event, TransactionTimeout):
            pending = self._pending.pop(_key(event.request), None)
            if pending is None:
                return False
            if not pending.future.done():
                pending.future.set_exception(
                    XctestTimeout(f"{self.name}: no final response to {event.request.method}")
                )
            return True
        return False

    def _arm_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        deadline = self.agent.next_deadline()
        if deadline is not None and not self.closed.is_set():
            self._timer = self._loop.call_at(deadline, self._on_timer)

    def _on_timer(self) -> None:
        self._timer = None
        self.agent.handle_timeout(self.now())
        self._loop.create_task(self._pump())

    async def _write(self, frame: str) -> None:
        if self.observer is not None:
            self.observer(">>>", frame)
        async with self._send_lock:
            await self.ws.send(frame)

    async def send_request(self, request: Request) -> None:
        """Send without waiting; responses arrive as events."""
        frame = self.agent.send_request(request, self.now())
        await self._write(frame)
        self._arm_timer()

    async def request(
        self,
        request: Request,
        on_provisional: Callable[[Response], None] | None = None,
    ) -> Response:
        """Send ``request`` and return its final response (Timer B/F bound the wait)."""
        fut: asyncio.Future[Response] = self._loop.create_future()
        self._pending[_key(request)] = _Pending(fut, on_provisional)
        try:
            await self.send_request(request)
        except BaseException:
            self._pending.pop(_key(request), None)
            raise
        return await fut

    async def send_response(self, response: Response) -> None:
        frame = self.agent.send_response(response, self.now())
        await self._write(frame)
        self._arm_timer()

    async def aclose(self) -> None:
        with contextlib.suppress(ConnectionClosed):
            await self.ws.aclose()

    def __repr__(self) -> str:
        return f"<SipChannel {self.name} pending={len(self._pending)} {self.agent!r}>"


def _key(request: Request) -> tuple[str, str]:
    method = "INVITE" if request.method == "ACK" else request.method
    return (request.top_via.branch or "", method)


def first_line(frame: str) -> str:
    """The start line of a SIP frame, for logs."""
    return frame.split("\r\n", 1)[0].split("\n", 1)[0]


def _to_tag(msg: Request) -> str:
    """The To tag of a request ("" outside a dialog, e.g. an initial INVITE)."""
    try:
        return msg.to.tag or ""
    except Exception:  # a malformed To is still logged
        return ""


def describe(frame: str) -> tuple[str, dict[str, str]]:
    """Name and a few fields of a frame for timelines; never raises."""
    try:
        msg = parse_message(frame)
    except Exception:  # a malformed frame is still logged
        return first_line(frame), {}
    if isinstance(msg, Request):
        fields = {"call_id": msg.headers.get("Call-ID") or "", "to_tag": _to_tag(msg)}
        kind = msg.headers.get("Content-Type") or ""
        if msg.body and kind != "application/sdp" and len(msg.body) <= 200:
            fields["content_type"] = kind  # e.g. INFO application/dtmf-relay
            fields["body"] = msg.text
        return msg.method, fields
    return f"{msg.status} {msg.reason}", {
        "call_id": msg.headers.get("Call-ID") or "",
        "cseq": msg.headers.get("CSeq") or "",
    }
