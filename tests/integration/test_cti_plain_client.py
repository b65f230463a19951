"""The simulator speaks the documented XUC protocol: a client built only from PROTOCOL.md (and
``websockets``) logs in, pings, reads its LineConfig and receives the PhoneEvents of a call."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from plain_cti_client import PlainCti, login

from xctest.phone import CallState

pytestmark = pytest.mark.integration


def test_the_plain_client_imports_nothing_from_xctest():
    tree = ast.parse(Path(__file__).with_name("plain_cti_client.py").read_text())
    modules = {
        n.module if isinstance(n, ast.ImportFrom) else a.name
        for n in ast.walk(tree)
        if isinstance(n, ast.Import | ast.ImportFrom)
        for a in (n.names if isinstance(n, ast.Import) else [n])
    }
    assert not any(str(m).startswith("xctest") for m in modules)
    assert "websockets" in modules


async def test_plain_client_logs_in_and_receives_phone_events(sim, make_phone):
    status, body = await login(sim.http_url, "alice", "alice-pass")
    assert status == 200 and body["login"] == "alice" and body["token"]
    cti = await PlainCti.open(sim.http_url, body["token"])
    try:
        await cti.next_of("LoggedOn")
        await cti.send({"claz": "ping"})
        await cti.send({"claz": "web", "command": "getConfig", "objectType": "line"})
        line = (await cti.next_of("LineConfig"))["ctiMessage"]
        assert line["name"] == "wr1001" and line["webRtc"] is True and line["hasDevice"] is False
        assert line["xivoIp"] == "127.0.0.1" and line["sipProxyName"] == "default"
        # alice's WebRTC line is a phone registered over SIP; the CTI session is the plain one
        alice = await make_phone("alice")
        await make_phone("bob")
        out = await alice.dial("1002")
        dialing = (await cti.next_of("PhoneEvent"))["ctiMessage"]
        assert dialing["eventType"] == "EventDialing"
        assert (dialing["DN"], dialing["otherDN"]) == ("1001", "1002")
        assert dialing["userData"]["SIPCALLID"] == out.sip_call_id
        await cti.send({"claz": "web", "command": "getCurrentCallsPhoneEvents"})
        current = (await cti.next_of("CurrentCallsPhoneEvents"))["ctiMessage"]["events"]
        assert [e["uniqueId"] for e in current] == [dialing["uniqueId"]]
        await cti.send({"claz": "web", "command": "hangup", "uniqueId": dialing["uniqueId"]})
        released = (await cti.next_of("PhoneEvent"))["ctiMessage"]
        assert released["eventType"] == "EventReleased"
        assert released["uniqueId"] == dialing["uniqueId"]
        await out.wait_state(CallState.TERMINATED, 10)
    finally:
        await cti.close()


async def test_plain_client_bad_password_gets_the_documented_error(sim):
    status, body = await login(sim.http_url, "alice", "wrong")
    assert status == 401
    assert body["error"] == "InvalidCredentials"
    assert body["message"]
