"""The built-in XiVO simulator: listeners, lab and PBX wired together.

``Simulator`` is what ``xctest sim`` runs and what tests start on ephemeral loopback ports.
It never imports the phone.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from xctest.cti.rest import CHECK_PATH, CTI_PATH, LOGIN_PATH
from xctest.media import PeerConfig
from xctest.sim.channels import ChannelBus
from xctest.sim.cti_server import CtiServer
from xctest.sim.lab import Lab, default_lab
from xctest.sim.pbx import Pbx, PbxConfig
from xctest.sim.sip_server import serve_connection
from xctest.sim.xuc_rest import XucRest
from xctest.transport.server import HttpServer, JsonRequest, ServerWs
from xctest.transport.tls import Certificate, self_signed, server_context
from xctest.transport.ws import SIP_SUBPROTOCOL

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SimConfig:
    """Where the simulator listens.  Port 0 picks a free port (tests).

    Like a XiVO CC, the XUC host (``host``: XUC's HTTP port, and with ``tls_port`` the
    nginx-like HTTPS port serving XUC and ``/wssip``) and the Asterisk host (``sip_host``: the
    SIP websocket ``/ws``) may be two addresses; ``xivo_ip`` is what ``LineConfig.xivoIp``
    says (default: ``sip_host``).  ``media_addresses`` are where the PBX's media legs gather
    ICE candidates.  ``certificate`` is served on the TLS port (default: a fresh self-signed
    one naming ``host``).
    """

    host: str = "127.0.0.1"
    sip_port: int = 5039
    http_port: int = 8090
    media_addresses: tuple[str, ...] | None = ("127.0.0.1",)
    codecs: tuple[str, ...] = field(default=())
    tls_port: int | None = None  # when set, https:// + wss:// with a self-signed certificate
    sip_host: str | None = None
    xivo_ip: str | None = None
    certificate: Certificate | None = None

    @property
    def asterisk_host(self) -> str:
        """Where the SIP websocket listens."""
        return self.sip_host or self.host


class Simulator:
    """Start with ``await sim.start()``; stop with ``await sim.aclose()``."""

    def __init__(self, lab: Lab | None = None, config: SimConfig | None = None) -> None:
        self.lab = lab or default_lab()
        self.config = config or SimConfig()
        self.bus = ChannelBus()
        self._sip = HttpServer()
        self._http = HttpServer()
        self.certificate: Certificate | None = None
        self._tls: HttpServer | None = None
        if self.config.tls_port is not None:
            self.certificate = self.config.certificate or self_signed(_names_of(self.config.host))
            self._tls = HttpServer(ssl_context=server_context(self.certificate))
        self.pbx: Pbx | None = None
        self.xuc = XucRest(self.lab)
        self.cti: CtiServer | None = None

    @property
    def sip_port(self) -> int:
        return self._sip.port

    @property
    def http_port(self) -> int:
        return self._http.port

    @property
    def sip_url(self) -> str:
        return f"ws://{self.config.asterisk_host}:{self.sip_port}/ws"

    @property
    def tls_port(self) -> int:
        return self._tls.port if self._tls is not None else 0

    @property
    def wss_url(self) -> str:
        """The SIP websocket over TLS, as nginx serves it on a real XiVO (``/wssip``)."""
        return f"wss://{self.config.host}:{self.tls_port}/wssip"

    @property
    def http_url(self) -> str:
        """The XUC root over plain HTTP (REST + CTI websocket), like XUC's own port 8090."""
        return f"http://{self.config.host}:{self.http_port}"

    @property
    def https_url(self) -> str:
        """The XUC root over TLS, as XiVO CC's nginx serves it (with ``/wssip`` beside it)."""
        return f"https://{self.config.host}:{self.tls_port}"

    async def start(self) -> None:
        cfg = self.config
        self._sip.add_ws("/ws", self._serve_sip, subprotocols=[SIP_SUBPROTOCOL])
        self._sip.add_ws("/wssip", self._serve_sip, subprotocols=[SIP_SUBPROTOCOL])
        self._http.add_json("GET", "/status", self._status)
        self._add_xuc(self._http)
        await self._sip.start(cfg.asterisk_host, cfg.sip_port)
        await self._http.start(cfg.host, cfg.http_port)
        if self._tls is not None and cfg.tls_port is not None:
            self._add_xuc(self._tls)
            # unconfirmed (PROTOCOL.md Q17): nginx checks the XUC token before proxying /wssip
            self._tls.add_ws(
                "/wssip",
                self._serve_sip_tls,
                subprotocols=[SIP_SUBPROTOCOL],
                guard=self.xuc.guard,
            )
            await self._tls.start(cfg.host, cfg.tls_port)
        impair = (self.lab.impair.loss, self.lab.impair.late)
        peer = PeerConfig(media_addresses=cfg.media_addresses, codecs=cfg.codecs, impair=impair)
        pbx_config = PbxConfig(cfg.asterisk_host, self.sip_port, peer)
        self.pbx = Pbx(self.lab, pbx_config, self.bus)
        self.cti = CtiServer(
            self.lab, self.xuc, self.pbx, self.bus, cfg.xivo_ip or cfg.asterisk_host
        )
        log.info("simulator listening: sip %s, xuc %s", self.sip_url, self.http_url)

    def _add_xuc(self, server: HttpServer) -> None:
        server.add_json("POST", LOGIN_PATH, self.xuc.login)
        server.add_json("GET", CHECK_PATH, self.xuc.check)
        server.add_ws(CTI_PATH, self._serve_cti, guard=self.xuc.guard)

    async def _serve_cti(self, ws: ServerWs) -> None:
        assert self.cti is not None
        await self.cti.serve(ws)

    async def _serve_sip(self, ws: ServerWs) -> None:
        assert self.pbx is not None
        host = self.config.asterisk_host
        await serve_connection(ws, self.pbx, host, self.sip_port, secure=False)

    async def _serve_sip_tls(self, ws: ServerWs) -> None:
        assert self.pbx is not None
        await serve_connection(ws, self.pbx, self.config.host, self.tls_port, secure=True)

    async def _status(self, request: JsonRequest) -> tuple[int, Any]:
        pbx = self.pbx
        return 200, {
            "users": len(self.lab.users),
            "registered": len(pbx.registrar) if pbx else 0,
            "channels": len(self.bus.channels),
        }

    def describe(self) -> str:
        """What ``xctest sim`` prints: URLs served and the users of the lab."""
        lines = [
            "xctest simulator",
            f"  SIP over WebSocket : {self.sip_url}  (also /wssip)",
            f"  LineConfig.xivoIp  : {self.config.xivo_ip or self.config.asterisk_host}",
            f"  media addresses    : {', '.join(self.config.media_addresses or ('all',))}",
            f"  XUC REST + CTI     : {self.http_url}{LOGIN_PATH}, {CTI_PATH}",
            f"  status             : {self.http_url}/status",
        ]
        if self.certificate is not None:
            lines += [
                f"  XUC over TLS       : {self.https_url}{LOGIN_PATH}",
                f"  SIP over TLS       : {self.wss_url}?token=<XUC token>",
                f"  certificate SHA-256: {self.certificate.fingerprint}",
            ]
        lines += [
            f"  realm {self.lab.realm!r}, SIP domain {self.lab.sip_domain!r}",
            "  users:",
            "    login      password        number  SIP line      SIP secret",
        ]
        for u in self.lab.users:
            row = f"{u.login:<10} {u.password:<15} {u.number:<7} {u.line_name:<13}"
            lines.append(f"    {row} {u.line_password}")
        return "\n".join(lines)

    async def aclose(self) -> None:
        if self.cti is not None:
            await self.cti.aclose()
        if self.pbx is not None:
            await self.pbx.aclose()
        await self._sip.aclose()
        await self._http.aclose()
        if self._tls is not None:
            await self._tls.aclose()

    async def __aenter__(self) -> Simulator:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        return f"<Simulator sip={self.sip_url} users={len(self.lab.users)}>"


def _names_of(host: str) -> tuple[str, ...]:
    """What the generated certificate names: the host, and ``localhost`` beside a loopback
    address (a certificate naming hosts it is not served on would hide name mistakes)."""
    return (host, "localhost") if host in ("127.0.0.1", "::1", "localhost") else (host,)
