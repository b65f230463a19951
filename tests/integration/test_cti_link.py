"""The CTI link's own rules: heartbeat (ping every interval, close after 3 unanswered pings,
PROTOCOL.md §1.4) and ICE configuration with TURN renewal every ttl/2 (§3.7)."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest

from xctest.cti.client import CtiClient
from xctest.cti.messages import IceConfig, LinkStatusUpdate, LoggedOn, UnknownMessage
from xctest.cti.rest import CTI_PATH, AuthToken
from xctest.sim import default_lab
from xctest.sim.lab import IceSettings, TurnSettings
from xctest.transport.server import HttpServer, ServerWs

pytestmark = pytest.mark.integration


async def test_the_link_closes_after_three_unanswered_pings():
    pings: list[str] = []

    async def silent(ws: ServerWs) -> None:
        while True:  # reads, never answers
            pings.append(await ws.recv())

    server = HttpServer()
    server.add_ws(CTI_PATH, silent)
    await server.start("127.0.0.1", 0)
    try:
        cti = CtiClient(f"http://127.0.0.1:{server.port}", name="x", heartbeat_interval=0.05)
        cti.token = AuthToken("x", "t", 60)
        await cti.connect()
        closed = await cti.wait_for(LinkStatusUpdate, lambda m: m.status == "closed", timeout=5)
        assert closed.status == "closed"
        assert pings == ['{"claz":"ping"}'] * 3  # the recent cti.js rule, not the older one
        assert [m.status for m in cti.received if isinstance(m, LinkStatusUpdate)] == [
            "opened",
            "closed",
        ]
        await cti.aclose()
    finally:
        await server.aclose()


async def test_the_simulator_answers_every_ping_so_the_link_stays_up(sim):
    cti = CtiClient(sim.http_url, name="alice", heartbeat_interval=0.05)
    await cti.login("alice", "alice-pass")
    await cti.connect()
    await cti.wait_for(LoggedOn, timeout=5)
    # ten intervals: far past the 3-missed close rule had the pings gone unanswered
    await cti.wait_for(
        UnknownMessage,
        lambda m: sum(isinstance(r, UnknownMessage) for r in cti.received) >= 10,
        timeout=10,
    )
    assert not cti.closed.is_set()
    await cti.aclose()


@pytest.fixture
async def turn_sim(make_sim):
    turn = TurnSettings(urls=("turn:127.0.0.1:3478",), secret="s3cret", ttl=2)
    lab = default_lab().model_copy(
        update={"ice": IceSettings(stun_urls=("stun:127.0.0.1:3478",), turn=turn)}
    )
    return await make_sim(lab)


async def test_ice_config_with_turn_credentials_is_renewed_every_half_ttl(turn_sim, xuc_phone):
    alice = await xuc_phone("alice", sim_=turn_sim)
    configs = [m for m in alice.cti.received if isinstance(m, IceConfig)]
    assert len(configs) == 1
    again = await alice.cti.wait_for(IceConfig, timeout=5, since=len(alice.cti.received))
    asked = [e for e in alice.timeline if e.kind == "cti" and e.name == "getIceConfig"]
    assert len(asked) == 2 and again.turn_config is not None
    urls = alice.get_ice_urls()
    assert urls[0] == {"urls": ["stun:127.0.0.1:3478"]}
    turn = urls[1]
    assert turn["urls"] == ["turn:127.0.0.1:3478"] and "ttl" not in turn
    expiry, login = turn["username"].split(":")
    assert login == "alice" and int(expiry) > 0
    digest = hmac.new(b"s3cret", turn["username"].encode(), hashlib.sha1).digest()
    assert turn["credential"] == base64.b64encode(digest).decode()


async def test_ice_urls_can_be_set_and_disabled(sim, xuc_phone):
    alice = await xuc_phone("alice")
    assert alice.get_ice_urls() == []  # the simulator's IceConfig is empty by default
    alice.set_ice_urls([{"url": "stun:127.0.0.1:3478"}, {"urls": "turn:127.0.0.1:3478",
                        "username": "u", "credential": "c"}])  # fmt: skip
    assert alice.get_ice_urls() == [
        {"urls": ["stun:127.0.0.1:3478"]},
        {"urls": ["turn:127.0.0.1:3478"], "username": "u", "credential": "c"},
    ]
    alice.disable_ice()
    assert alice.get_ice_urls() == []
