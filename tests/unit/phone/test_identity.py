"""xc_webrtc's SIP identity and websocket URL from a LineConfig (PROTOCOL.md §1.6)."""

from __future__ import annotations

import pytest

from xctest.cti.messages import LineConfig
from xctest.phone.identity import identity_from_line_config, websocket_url

LINE = LineConfig("12", "ihvbur", "s3cr3t", "10.0.0.5", "default", number="1001")


@pytest.mark.parametrize(
    ("line", "ssl", "port", "token", "ip", "url"),
    [
        (LINE, False, 5039, "abc", None, "ws://10.0.0.5:5039/ws?token=abc"),
        (
            LINE,
            True,
            443,
            "abc",
            "xivocc.example.org",
            "wss://xivocc.example.org:443/wssip?token=abc",
        ),
        (
            LineConfig("12", "ihvbur", "s", "10.0.0.5", "mds1"),
            True,
            443,
            "abc",
            "xivocc.example.org",
            "wss://xivocc.example.org:443/wssip-mds1?token=abc",
        ),
        (
            LineConfig("12", "ihvbur", "s", "10.0.0.5", "mds1"),
            False,
            5039,
            "t",
            None,
            "ws://10.0.0.5:5039/ws-mds1?token=t",
        ),
        (
            LineConfig("12", "ihvbur", "s", "10.0.0.5", ""),
            False,
            5039,
            "t",
            None,
            "ws://10.0.0.5:5039/ws?token=t",
        ),
        (LINE, False, 5039, None, None, "ws://10.0.0.5:5039/ws"),
        (LINE, False, 5039, "a b&c", None, "ws://10.0.0.5:5039/ws?token=a%20b%26c"),
    ],
)
def test_websocket_url(line, ssl, port, token, ip, url):
    assert websocket_url(line, ssl, port, token, ip) == url


def test_identity_from_the_default_proxy():
    ident = identity_from_line_config(LINE, "Alice Archer", False, 5039, "tok")
    assert (ident.impi, ident.password) == ("ihvbur", "s3cr3t")
    assert (ident.domain, ident.realm) == ("default", "default")
    assert str(ident.impu) == "sip:ihvbur@default"
    assert ident.display_name == "Alice Archer"
    assert ident.user_agent.startswith("XiVO XC WebRTC ")


def test_underscores_become_dashes_and_the_sip_port_joins_the_realm():
    line = LineConfig("3", "abc", "pw", "10.0.0.5", "media_server_1", sip_port="5070")
    ident = identity_from_line_config(line, "X", True, 443, "t")
    assert ident.domain == "media-server-1"
    assert ident.realm == "media-server-1:5070"
    assert ident.ws_url == "wss://10.0.0.5:443/wssip-media_server_1?token=t"
    register = ident.register_request("cid", 1, "tag", 60)
    assert str(register.uri) == "sip:media-server-1:5070"


def test_without_a_proxy_name_the_older_values_apply():
    line = LineConfig("3", "abc", "pw", "10.0.0.5", None)
    ident = identity_from_line_config(line, "X", False, 5039, None)
    assert (ident.domain, ident.realm) == ("10.0.0.5", "xivo")
