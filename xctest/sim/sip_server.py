"""The simulator's SIP-over-WebSocket endpoint: one ``SipConnection`` per phone websocket,
each driving a sans-IO agent and handing requests to the PBX.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import TYPE_CHECKING

from xctest.sip.agent import Agent
from xctest.sip.events import (
    AckReceived,
    CancelReceived,
    Event,
    MessageRejected,
    RequestReceived,
    ResponseReceived,
    TransactionTimeout,
)
from xctest.sip.headers import Via
from xctest.sip.message import Request, make_response
from xctest.sip.uri import NameAddr, SipUri
from xctest.transport.server import ServerWs
from xctest.transport.sip_channel import SipChannel

if TYPE_CHECKING:
    from xctest.sim.pbx import Pbx

log = logging.getLogger(__name__)


class SipConnection:
    """One phone's websocket as seen by the PBX."""

    def __init__(self, ws: ServerWs, pbx: Pbx, *, host: str, port: int, secure: bool) -> None:
        self.ws = ws
        self.pbx = pbx
        self.host = host
        self.port = port
        self.transport = "WSS" if secure else "WS"
        self.channel = SipChannel(ws, self._on_event, name=f"sim<-{ws.request.remote}")

    @property
    def agent(self) -> Agent:
        return self.channel.agent

    def now(self) -> float:
        return self.channel.now()

    def via_value(self) -> Via:
        return Via(self.transport, self.host, self.port, (("branch", self.agent.new_branch()),))

    def via(self) -> str:
        return str(self.via_value())

    def contact(self) -> NameAddr:
        return NameAddr(
            SipUri(
                user="asterisk",
                host=self.host,
                port=self.port,
                params=(("transport", self.transport.lower()),),
            )
        )

    async def respond(
        self,
        req: Request,
        status: int,
        reason: str | None = None,
        *,
        to_tag: str | None = None,
        headers: Iterable[tuple[str, str]] = (),
    ) -> None:
        if to_tag is None and status > 100 and req.to.tag is None:
            to_tag = self.agent.new_tag()
        extra = [*headers, ("Server", "xctest-sim")]
        await self.channel.send_response(
            make_response(req, status, reason, to_tag=to_tag, headers=extra)
        )

    def _on_event(self, event: Event) -> None:
        if isinstance(event, RequestReceived):
            req = event.request
            self.pbx.spawn(self.pbx.on_request(self, req), f"{req.method} {req.call_id}")
        elif isinstance(event, AckReceived):
            self.pbx.on_ack(self, event.request)
        elif isinstance(event, CancelReceived):
            self.pbx.spawn(self.pbx.on_cancel(self, event.invite), "CANCEL")
        elif isinstance(event, MessageRejected):
            log.warning("%s: rejected a frame: %s", self.channel.name, event.error)
        elif isinstance(event, (ResponseReceived, TransactionTimeout)):
            log.debug("%s: unsolicited %s", self.channel.name, type(event).__name__)

    async def serve(self) -> None:
        try:
            await self.channel.run()
        finally:
            self.pbx.on_closed(self)

    def __repr__(self) -> str:
        return f"<SipConnection {self.ws.request.remote} {self.transport}>"


async def serve_connection(ws: ServerWs, pbx: Pbx, host: str, port: int, secure: bool) -> None:
    """Handler for one accepted SIP websocket."""
    conn = SipConnection(ws, pbx, host=host, port=port, secure=secure)
    await conn.serve()
