"""SIP over secure websockets (wss://, RFC 7118 §5) with certificate verification on and off.

``/wssip`` on the TLS port wants a live XUC token in ``?token=``, as XiVO CC's nginx does."""

from __future__ import annotations

import pytest

from xctest.cti.client import CtiClient
from xctest.errors import ConnectError
from xctest.phone import CallState
from xctest.transport.tls import client_context

pytestmark = pytest.mark.integration


async def wss_url(sim, login: str, suffix: str = "") -> str:
    """The /wssip URL with a token from a real XUC login over https."""
    cti = CtiClient(sim.https_url, ssl_context=client_context(verify=False))
    token = await cti.login(login, f"{login}-pass")
    return f"{sim.wss_url}{suffix}?token={token.token}"


async def test_call_over_wss_with_ca_verification(tls_sim, make_phone):
    ca = tls_sim.certificate.cert_pem.decode()
    ctx = client_context(cadata=ca)
    url_a, url_b = await wss_url(tls_sim, "alice"), await wss_url(tls_sim, "bob")
    alice = await make_phone("alice", sim_=tls_sim, ws_url=url_a, ssl_context=ctx)
    bob = await make_phone("bob", sim_=tls_sim, ws_url=url_b, ssl_context=ctx)
    out = await alice.dial("1002")
    await bob.timeline.wait_for(lambda e: e.name == "incoming/Setup", 10)
    incoming = await bob.answer()
    await out.wait_state(CallState.CONNECTED, 10)
    await out.wait_heard("bob", 5)
    await incoming.wait_heard("alice", 5)
    invite = bob.timeline.find(lambda e: e.kind == "sip" and e.name == "INVITE")
    assert invite is not None
    register = next(e for e in alice.timeline if e.kind == "sip" and e.name == "REGISTER")
    assert register.fields["direction"] == ">>>"
    assert alice.identity.transport == "WSS"
    await alice.hangup()
    await bob.timeline.wait_for(lambda e: e.name == "incoming/Terminated", 10)


async def test_wss_with_verification_off_accepts_the_self_signed_cert(tls_sim, make_phone):
    ctx = client_context(verify=False)
    url = await wss_url(tls_sim, "alice")
    alice = await make_phone("alice", sim_=tls_sim, ws_url=url, ssl_context=ctx)
    assert alice.registered


async def test_wss_verification_against_the_wrong_ca_fails_clearly(tls_sim, make_phone):
    ctx = client_context(cadata=_other_ca())
    phone = await make_phone(
        "alice", sim_=tls_sim, ws_url=tls_sim.wss_url, ssl_context=ctx, start=False
    )
    with pytest.raises(ConnectError) as info:
        await phone.start()
    assert tls_sim.wss_url in str(info.value)
    # the TLS library's reason, and where the fix lies
    expected = "TLS certificate not accepted: self-signed certificate (trust its CA with tls."
    assert expected in str(info.value)
    failed = phone.timeline.find(lambda e: e.name == "general/Failed")
    assert expected in failed.fields["data"]["reason"]


def _other_ca() -> str:
    from xctest.transport.tls import self_signed

    return self_signed(("127.0.0.1",)).cert_pem.decode()


async def test_wssip_paths_with_proxy_suffix_and_token_are_served(tls_sim, make_phone):
    """PROTOCOL.md §1.6: /wssip-<sipProxyName>?token=… reaches the SIP endpoint."""
    ctx = client_context(verify=False)
    url = await wss_url(tls_sim, "alice", "-mds1")
    alice = await make_phone("alice", sim_=tls_sim, ws_url=url, ssl_context=ctx)
    assert alice.registered
    # Asterisk's own /ws ignores the query (nginx is what checks it)
    plain = await make_phone("bob", sim_=tls_sim, ws_url=tls_sim.sip_url + "?token=abc123")
    assert plain.registered


async def test_a_tls_probe_says_whether_the_certificate_is_accepted_and_what_it_names(tls_sim):
    from xctest.transport.tls import probe_tls

    host, port = "127.0.0.1", tls_sim.tls_port
    good = await probe_tls(host, port, client_context(cadata=tls_sim.certificate.cert_pem.decode()))
    assert good.verified and good.error is None
    assert good.cert.names == ("localhost", "127.0.0.1")
    assert good.cert.fingerprint == tls_sim.certificate.fingerprint
    wrong = await probe_tls(host, port, client_context(cadata=_other_ca()))
    assert not wrong.verified and wrong.error == "self-signed certificate"
    assert wrong.cert == good.cert  # read without verification, to say what it is
    off = await probe_tls(host, port, client_context(verify=False))
    assert not off.verified and off.error is None and off.cert == good.cert
    closed = await probe_tls(host, 1, client_context(verify=False))
    assert closed.cert is None and "no TLS handshake with 127.0.0.1:1" in closed.error
