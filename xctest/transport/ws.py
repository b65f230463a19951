"""WebSocket client side: the only module that imports ``websockets``.

Opens ``ws://``/``wss://`` connections (SIP over WebSocket, RFC 7118, subprotocol ``sip``; the
XUC CTI channel, JSON text frames) and maps library errors onto ``xctest.errors``.
"""

from __future__ import annotations

import re
import ssl
from collections.abc import Sequence
from typing import Protocol

import websockets
from websockets.asyncio.client import ClientConnection
from websockets.typing import Subprotocol

from xctest.errors import ConnectError, ConnectionClosed
from xctest.transport.tls import refusal

SIP_SUBPROTOCOL = "sip"
_TOKEN = re.compile(r"(?<=[?&]token=)[^&#]*")


class WsConnection(Protocol):
    """What the phone and the simulator need from one websocket, client or server side."""

    @property
    def subprotocol(self) -> str | None: ...

    async def send(self, text: str) -> None: ...

    async def recv(self) -> str: ...

    async def aclose(self) -> None: ...


def without_token(url: str) -> str:
    """``url`` with the value of a ``token`` query parameter hidden (a XUC token is a
    credential: messages and reports never carry it)."""
    return _TOKEN.sub("…", url)


class ClientWs:
    """A client websocket carrying text frames."""

    def __init__(self, url: str, conn: ClientConnection) -> None:
        self.url = url
        self._conn = conn

    @property
    def subprotocol(self) -> str | None:
        return self._conn.subprotocol

    async def send(self, text: str) -> None:
        try:
            await self._conn.send(text)
        except websockets.ConnectionClosed as exc:
            raise ConnectionClosed(f"{self.url}: closed while sending ({exc})") from exc

    async def recv(self) -> str:
        """Next text frame; binary frames are decoded as UTF-8 (RFC 7118 §5 allows both)."""
        try:
            data = await self._conn.recv()
        except websockets.ConnectionClosed as exc:
            raise ConnectionClosed(f"{self.url}: connection closed ({exc})") from exc
        return data if isinstance(data, str) else data.decode("utf-8", errors="replace")

    async def aclose(self) -> None:
        await self._conn.close()

    def __repr__(self) -> str:
        return f"<ClientWs {self.url} subprotocol={self.subprotocol!r}>"


async def connect(
    url: str,
    *,
    subprotocols: Sequence[str] = (),
    ssl_context: ssl.SSLContext | None = None,
    open_timeout: float = 10.0,
    user_agent: str | None = None,
    compression: bool = True,
) -> ClientWs:
    """Open a websocket; raise ``ConnectError`` naming the URL and the cause on failure.
    ``compression=False`` does not offer permessage-deflate (its zlib state costs about
    200 kB per connection)."""
    shown = without_token(url)
    protocols = [Subprotocol(p) for p in subprotocols] or None
    kwargs: dict[str, object] = {}
    if url.startswith("wss://"):
        kwargs["ssl"] = ssl_context if ssl_context is not None else True
    try:
        conn = await websockets.connect(
            url,
            subprotocols=protocols,
            open_timeout=open_timeout,
            user_agent_header=user_agent,
            ping_interval=None,
            max_size=2**20,
            compression="deflate" if compression else None,
            **kwargs,  # type: ignore[arg-type]
        )
    except websockets.InvalidStatus as exc:
        status = exc.response.status_code
        raise ConnectError(f"{shown}: server refused the websocket (HTTP {status})") from exc
    except ssl.SSLCertVerificationError as exc:
        raise ConnectError(refusal(shown, exc)) from exc
    except (OSError, TimeoutError, websockets.InvalidHandshake, ssl.SSLError) as exc:
        raise ConnectError(f"{shown}: cannot connect ({exc})") from exc
    if subprotocols and conn.subprotocol not in subprotocols:
        await conn.close()
        raise ConnectError(f"{shown}: server did not accept subprotocol {list(subprotocols)}")
    return ClientWs(url, conn)
