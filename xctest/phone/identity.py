"""The SIP identity of a virtual phone and the requests SIPml5 builds from it
(PROTOCOL.md §1.6, §5.1, §5.2).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from urllib.parse import quote

from xctest.cti.messages import LineConfig
from xctest.sip.headers import Headers, Via
from xctest.sip.message import Request
from xctest.sip.uri import NameAddr, SipUri, parse_uri

# SIPml5 puts this fake host in Via and Contact (PROTOCOL.md §5.1).
INVALID_HOST = "df7jal23ls0d.invalid"
# "XiVO XC WebRTC <app version>" (PROTOCOL.md §1.6); the version is xctest's
DEFAULT_USER_AGENT = "XiVO XC WebRTC xctest"
# What the phone answers, in INVITEs and OPTIONS replies alike.  SIPml5 also lists NOTIFY
# (REFER subscriptions); xc_webrtc never transfers by REFER, so the phone does not claim it.
ALLOW = "ACK, CANCEL, BYE, OPTIONS, INFO, INVITE, UPDATE"


@dataclass(frozen=True)
class SipIdentity:
    """Who the phone is on SIP.

    ``impi``: auth user (LineConfig.name); ``domain``: host of the public identity
    (sipProxyName with ``_`` -> ``-``); ``realm``: host of the REGISTER Request-URI and of dialled
    numbers; ``ws_url``: the SIP websocket.
    """

    impi: str
    password: str
    domain: str
    realm: str
    display_name: str
    ws_url: str
    user_agent: str = DEFAULT_USER_AGENT

    @property
    def secure(self) -> bool:
        return self.ws_url.startswith("wss://")

    @property
    def transport(self) -> str:
        return "WSS" if self.secure else "WS"

    @property
    def impu(self) -> SipUri:
        return SipUri(user=self.impi, host=self.domain)

    def via(self) -> Via:
        branch = "z9hG4bK" + secrets.token_hex(10)
        return Via(self.transport, INVALID_HOST, None, (("branch", branch), ("rport", None)))

    def contact(self, expires: int | None = None) -> NameAddr:
        uri = SipUri(
            user=self.impi,
            host=INVALID_HOST,
            params=(("rtcweb-breaker", "no"), ("transport", self.transport.lower())),
        )
        params: tuple[tuple[str, str | None], ...] = (("click2call", "no"),)
        if expires is not None:
            params = (("expires", str(expires)), *params)
        return NameAddr(uri, None, params)

    def target(self, destination: str) -> SipUri:
        """A dialled number or URI; bare numbers get the realm host (SIPml5)."""
        if destination.startswith(("sip:", "sips:", "tel:")):
            return parse_uri(destination)
        host, _, port = self.realm.partition(":")
        return SipUri(user=destination, host=host, port=int(port) if port else None)

    def base_headers(
        self, call_id: str, cseq: int, method: str, from_tag: str, to: NameAddr
    ) -> Headers:
        return Headers(
            [
                ("Via", str(self.via())),
                ("From", str(NameAddr(self.impu, self.display_name or None).with_tag(from_tag))),
                ("To", str(to)),
                ("Call-ID", call_id),
                ("CSeq", f"{cseq} {method}"),
                ("Max-Forwards", "70"),
                ("User-Agent", self.user_agent),
                ("Organization", "Doubango Telecom"),
            ]
        )

    def register_request(self, call_id: str, cseq: int, from_tag: str, expires: int) -> Request:
        host, _, port = self.realm.partition(":")
        uri = SipUri(host=host, port=int(port) if port else None)
        headers = self.base_headers(call_id, cseq, "REGISTER", from_tag, NameAddr(self.impu))
        headers = headers.add("Contact", str(self.contact(expires)))
        headers = headers.add("Expires", str(expires))
        headers = headers.add("Supported", "path")
        return Request("REGISTER", uri, headers)

    def invite_request(self, destination: str, call_id: str, from_tag: str, sdp: str) -> Request:
        target = self.target(destination)
        headers = self.base_headers(call_id, 1, "INVITE", from_tag, NameAddr(target))
        headers = headers.add("Contact", str(self.contact()))
        headers = headers.add("Allow", ALLOW)
        return Request("INVITE", target, headers).with_body(sdp.encode(), "application/sdp")


def websocket_url(
    line: LineConfig,
    ssl: bool,
    websocket_port: int,
    token: str | None,
    ip: str | None = None,
    url: str | None = None,
) -> str:
    """The SIP websocket URL xc_webrtc builds (PROTOCOL.md §1.6): ``ws://host:port/ws`` or
    ``wss://host:port/wssip``, ``-<sipProxyName>`` unless it is ``default``, ``?token=``.
    ``url`` (an xctest addition) replaces everything but the token."""
    if url is None:
        scheme, path = ("wss", "wssip") if ssl else ("ws", "ws")
        proxy = line.sip_proxy_name
        if proxy and proxy != "default":
            path += f"-{proxy}"
        host = ip or line.xivo_ip
        if ":" in host and not host.startswith("["):
            host = f"[{host}]"  # an IPv6 address
        url = f"{scheme}://{host}:{websocket_port}/{path}"
    return url + (f"?token={quote(token, safe='')}" if token is not None else "")


def identity_from_line_config(
    line: LineConfig,
    name: str,
    ssl: bool,
    websocket_port: int,
    token: str | None,
    ip: str | None = None,
    user_agent: str = DEFAULT_USER_AGENT,
    url: str | None = None,
) -> SipIdentity:
    """The SIP identity xc_webrtc derives from a LineConfig (PROTOCOL.md §1.6): impi =
    ``name``, domain = sipProxyName with ``_`` -> ``-``, realm = domain[:sipPort]; without a
    sipProxyName the older library's values (domain xivoIp, realm ``xivo``) apply."""
    if line.sip_proxy_name:
        domain = line.sip_proxy_name.replace("_", "-")
        realm = domain + (f":{line.sip_port}" if line.sip_port else "")
    else:
        domain, realm = line.xivo_ip, "xivo"
    return SipIdentity(
        impi=line.name,
        password=line.password,
        domain=domain,
        realm=realm,
        display_name=name,
        ws_url=websocket_url(line, ssl, websocket_port, token, ip, url),
        user_agent=user_agent,
    )
