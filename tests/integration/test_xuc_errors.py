"""Wrong credentials, bad tokens and malformed CTI frames: clear errors, nothing else broken."""

from __future__ import annotations

import json

import aiohttp
import pytest

from xctest.cti.client import CtiClient
from xctest.cti.messages import CtiError, LineConfig, LoggedOn, UnknownMessage
from xctest.cti.rest import LOGIN_PATH
from xctest.errors import AuthenticationError, ConnectError, InvalidCredentials
from xctest.phone import Phone
from xctest.transport import ws as wsmod

pytestmark = pytest.mark.integration


async def test_bad_password_names_the_user_and_the_server_error_code(sim):
    cti = CtiClient(sim.http_url, name="alice")
    with pytest.raises(InvalidCredentials) as info:
        await cti.login("alice", "not-her-password")
    err = info.value
    assert (err.user, err.code) == ("alice", "InvalidCredentials")
    assert "'alice'" in str(err) and "InvalidCredentials" in str(err) and "HTTP 401" in str(err)
    assert sim.http_url in str(err)


async def test_unknown_user_is_refused_the_same_way(sim):
    with pytest.raises(InvalidCredentials, match="'mallory'"):
        await CtiClient(sim.http_url).login("mallory", "x")


async def test_login_body_that_is_not_json_gets_invalid_json(sim):
    async with (
        aiohttp.ClientSession() as session,
        session.post(sim.http_url + LOGIN_PATH, data=b"{login: alice") as resp,
    ):
        assert resp.status == 400
        assert (await resp.json())["error"] == "InvalidJson"


async def test_a_bad_token_is_refused_by_the_cti_websocket(sim):
    cti = CtiClient(sim.http_url, name="alice")
    await cti.login("alice", "alice-pass")
    good = cti.token
    cti.token = type(good)(good.login, "forged" + good.token, good.ttl)
    with pytest.raises(ConnectError, match="HTTP 401"):
        await cti.connect()
    cti.token = good
    await cti.connect()  # the server still serves the real token
    await cti.wait_for(LoggedOn, timeout=5)
    await cti.aclose()


async def test_token_check_renews_and_refuses_garbage(sim):
    cti = CtiClient(sim.http_url, name="bob")
    first = await cti.login("bob", "bob-pass")
    renewed = await cti.check()
    assert renewed.login == "bob" and renewed.token != first.token
    await cti.connect()  # the renewed token opens the CTI channel
    await cti.wait_for(LoggedOn, timeout=5)
    await cti.aclose()
    cti.token = type(first)("bob", "garbage", 0)
    with pytest.raises(AuthenticationError) as info:
        await cti.check()
    assert info.value.code == "InvalidToken" and "'bob'" in str(info.value)


async def test_malformed_cti_frames_get_an_error_and_the_connection_is_kept(sim):
    cti = CtiClient(sim.http_url, name="carol")
    token = await cti.login("carol", "carol-pass")
    url = sim.http_url.replace("http", "ws", 1) + f"/xuc/api/2.0/cti?token={token.token}"
    ws = await wsmod.connect(url)
    try:
        frames = []
        for bad in [
            '{"claz": "web", "command": ',
            "[1, 2]",
            '{"claz":"web","command":"dial"}',
            '{"claz":"web","command":"teleport"}',
        ]:
            await ws.send(bad)
        while len([f for f in frames if f["msgType"] == "Error"]) < 4:
            frames.append(json.loads(await ws.recv()))
        errors = [f["ctiMessage"] for f in frames if f["msgType"] == "Error"]
        assert [e["error"] for e in errors] == [
            "InvalidJson",
            "BadCommand",
            "BadCommand",
            "UnknownCommand",
        ]
        assert "destination" in errors[2]["message"]
        assert "teleport" in errors[3]["message"]
        await ws.send('{"claz":"web","command":"getConfig","objectType":"line"}')
        while not frames or frames[-1]["msgType"] != "LineConfig":
            frames.append(json.loads(await ws.recv()))
        assert frames[-1]["ctiMessage"]["name"] == "wr1003"
    finally:
        await ws.aclose()


async def test_ping_is_answered_with_a_frame(sim):
    cti = CtiClient(sim.http_url, name="dave")
    await cti.login("dave", "dave-pass")
    await cti.connect()
    await cti.wait_for(LoggedOn, timeout=5)
    since = len(cti.received)
    from xctest.cti.messages import Ping

    await cti.send(Ping())
    pong = await cti.wait_for(UnknownMessage, timeout=5, since=since)
    assert pong.msg_type == "Pong"
    await cti.aclose()


async def test_a_bad_token_on_wssip_is_refused(tls_sim):
    from xctest.transport.tls import client_context

    ctx = client_context(verify=False)
    line = LineConfig("1", "wr1001", "alice-sip", "127.0.0.1")
    phone = Phone(ssl_context=ctx, name="alice")  # SIP only: the token is made up
    with pytest.raises(ConnectError, match="HTTP 401"):
        await phone.init_by_line_config(line, "Alice", True, tls_sim.tls_port, "forged")
    failed = phone.timeline.find(lambda e: e.name == "general/Failed")
    assert failed is not None and "401" in failed.fields["data"]["reason"]
    await phone.stop()


async def test_cti_errors_are_typed_messages(sim):
    cti = CtiClient(sim.http_url, name="eve")
    await cti.login("eve", "eve-pass")
    await cti.connect()
    from xctest.cti.messages import Hold

    since = len(cti.received)
    await cti.send(Hold("1.999"))
    err = await cti.wait_for(CtiError, timeout=5, since=since)
    assert err.error == "NoSuchCall" and "1.999" in err.message
    await cti.aclose()
