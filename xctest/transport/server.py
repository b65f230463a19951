"""HTTP + WebSocket server side (aiohttp): the listeners of the built-in simulator.

One ``HttpServer`` per port serves JSON REST routes and websocket routes (SIP over WebSocket,
RFC 7118, and the XUC CTI channel) side by side, as XiVO's nginx does on 443/8443.
"""

from __future__ import annotations

import json
import logging
import ssl
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

from xctest.errors import ConnectionClosed

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class WsRequest:
    """What a websocket handler may look at before accepting."""

    path: str
    query: Mapping[str, str]
    headers: Mapping[str, str]
    remote: str


class ServerWs:
    """A server-side websocket carrying text frames (same surface as ``ws.ClientWs``)."""

    def __init__(self, request: WsRequest, ws: web.WebSocketResponse) -> None:
        self.request = request
        self._ws = ws

    @property
    def subprotocol(self) -> str | None:
        return self._ws.ws_protocol

    async def send(self, text: str) -> None:
        if self._ws.closed:
            raise ConnectionClosed(f"{self.request.path}: closed")
        try:
            await self._ws.send_str(text)
        except (ConnectionError, RuntimeError) as exc:
            raise ConnectionClosed(f"{self.request.path}: closed while sending ({exc})") from exc

    async def recv(self) -> str:
        while True:
            msg = await self._ws.receive()
            if msg.type == WSMsgType.TEXT:
                return str(msg.data)
            if msg.type == WSMsgType.BINARY:
                return bytes(msg.data).decode("utf-8", errors="replace")
            if msg.type in (WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.CLOSED, WSMsgType.ERROR):
                raise ConnectionClosed(f"{self.request.path}: connection closed")

    async def aclose(self) -> None:
        await self._ws.close()

    def __repr__(self) -> str:
        return f"<ServerWs {self.request.path} from {self.request.remote}>"


WsHandler = Callable[[ServerWs], Awaitable[None]]
# A guard returns None to accept, or (HTTP status, reason) to refuse the upgrade.
WsGuard = Callable[[WsRequest], tuple[int, str] | None]


@dataclass(frozen=True)
class JsonRequest:
    """One JSON REST request: lower-cased headers, query parameters, parsed body (None when
    empty; see ``is_invalid_json`` when it was not JSON)."""

    headers: Mapping[str, str]
    query: Mapping[str, str]
    body: Any


JsonHandler = Callable[[JsonRequest], Awaitable[tuple[int, Any]]]


@dataclass
class _WsRoute:
    prefix: str
    handler: WsHandler
    subprotocols: Sequence[str]
    guard: WsGuard | None


@dataclass
class HttpServer:
    """Routes for one listening port.  Register routes, then ``await start(host, port)``."""

    ssl_context: ssl.SSLContext | None = None
    _ws_routes: list[_WsRoute] = field(default_factory=list)
    _app: web.Application = field(default_factory=web.Application)
    _runner: web.AppRunner | None = None
    _site: web.TCPSite | None = None
    port: int = 0

    def add_ws(
        self,
        prefix: str,
        handler: WsHandler,
        *,
        subprotocols: Sequence[str] = (),
        guard: WsGuard | None = None,
    ) -> None:
        """Serve websockets on every path that is ``prefix`` or starts with ``prefix``."""
        self._ws_routes.append(_WsRoute(prefix, handler, subprotocols, guard))

    def add_json(self, method: str, path: str, handler: JsonHandler) -> None:
        """Serve a JSON route; the handler gets a ``JsonRequest`` -> (status, JSON body)."""

        async def route(request: web.Request) -> web.StreamResponse:
            body: Any = None
            if request.can_read_body:
                raw = await request.read()
                try:
                    body = json.loads(raw) if raw else None
                except (ValueError, UnicodeDecodeError):
                    body = _InvalidJson(raw)
            headers = {k.lower(): v for k, v in request.headers.items()}
            status, payload = await handler(JsonRequest(headers, dict(request.query), body))
            return web.json_response(payload, status=status)

        self._app.router.add_route(method, path, route)

    async def start(self, host: str, port: int) -> None:
        self._app.router.add_route("GET", "/{tail:.*}", self._dispatch_ws)
        self._runner = web.AppRunner(self._app, access_log=None, handle_signals=False)
        await self._runner.setup()
        self._site = web.TCPSite(self._runner, host, port, ssl_context=self.ssl_context)
        await self._site.start()
        server = self._site._server
        assert server is not None
        sockets = getattr(server, "sockets", None) or []
        self.port = sockets[0].getsockname()[1] if sockets else port

    async def aclose(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _dispatch_ws(self, request: web.Request) -> web.StreamResponse:
        route = next(
            (r for r in self._ws_routes if request.path.startswith(r.prefix)),
            None,
        )
        if route is None:
            raise web.HTTPNotFound(text=f"nothing served at {request.path}")
        info = WsRequest(
            path=request.path,
            query=dict(request.query),
            headers={k.lower(): v for k, v in request.headers.items()},
            remote=str(request.remote),
        )
        if route.guard is not None:
            refusal = route.guard(info)
            if refusal is not None:
                status, reason = refusal
                return web.json_response({"error": reason}, status=status)
        ws = web.WebSocketResponse(protocols=tuple(route.subprotocols), heartbeat=None)
        if not ws.can_prepare(request).ok:
            raise web.HTTPBadRequest(text="websocket upgrade expected")
        await ws.prepare(request)
        conn = ServerWs(info, ws)
        try:
            await route.handler(conn)
        except ConnectionClosed:
            pass
        except Exception:
            log.exception("websocket handler for %s failed", request.path)
        finally:
            await ws.close()
        return ws


@dataclass(frozen=True)
class _InvalidJson:
    """Marks a request body that was not JSON, so handlers can answer InvalidJson."""

    raw: bytes


def is_invalid_json(body: object) -> bool:
    """True when ``add_json`` could not parse the request body."""
    return isinstance(body, _InvalidJson)
