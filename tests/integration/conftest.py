"""Fixtures for integration tests: a simulator on ephemeral loopback ports and phones of its
lab users, all stopped by the test."""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from xctest.audio.signature import signature_for
from xctest.cti.client import CtiClient
from xctest.cti.messages import LoggedOn
from xctest.phone import Phone, SipIdentity
from xctest.sim import SimConfig, Simulator, default_lab
from xctest.sim.lab import Lab

PhoneFactory = Callable[..., Awaitable[Phone]]


SimFactory = Callable[..., Awaitable[Simulator]]


@pytest.fixture
async def make_sim() -> AsyncIterator[SimFactory]:
    """Simulators on ephemeral loopback ports (``tls=True`` adds the HTTPS/WSS port), each
    stopped when the test ends."""
    started: list[Simulator] = []

    async def factory(lab: Lab | None = None, *, tls: bool = False) -> Simulator:
        config = SimConfig(sip_port=0, http_port=0, tls_port=0 if tls else None)
        simulator = Simulator(lab or default_lab(), config)
        await simulator.start()
        started.append(simulator)
        return simulator

    try:
        yield factory
    finally:
        for simulator in started:
            await simulator.aclose()


@pytest.fixture
async def sim(make_sim: SimFactory) -> Simulator:
    return await make_sim()


@pytest.fixture
async def tls_sim(make_sim: SimFactory) -> Simulator:
    """A simulator with its HTTPS/WSS port (self-signed certificate)."""
    return await make_sim(tls=True)


def identity_for(
    sim: Simulator, login: str, *, password: str | None = None, ws_url: str | None = None
) -> SipIdentity:
    user = sim.lab.user_by_login(login)
    assert user is not None
    return SipIdentity(
        impi=user.line_name,
        password=password if password is not None else user.line_password,
        domain=sim.lab.sip_domain,
        realm=sim.lab.sip_domain,
        display_name=user.display_name,
        ws_url=ws_url or sim.sip_url,
    )


def all_signatures(sim: Simulator) -> list:
    return [signature_for(i, u.login) for i, u in enumerate(sim.lab.users)]


@pytest.fixture
async def make_phone(sim: Simulator) -> AsyncIterator[PhoneFactory]:
    phones: list[Phone] = []

    async def factory(
        login: str,
        *,
        start: bool = True,
        password: str | None = None,
        sim_: Simulator | None = None,
        ws_url: str | None = None,
        ssl_context: object = None,
    ) -> Phone:
        target = sim_ or sim
        phone = Phone(
            identity_for(target, login, password=password, ws_url=ws_url),
            ssl_context=ssl_context,  # type: ignore[arg-type]
            name=login,
            signature=signature_for(sim.lab.index_of(login), login),
            listen_for=all_signatures(sim),
        )
        phones.append(phone)
        if start:
            await phone.start()
        return phone

    try:
        yield factory
    finally:
        for phone in phones:
            await phone.stop()


@pytest.fixture
async def xuc_phone(sim: Simulator) -> AsyncIterator[PhoneFactory]:
    """Phones started the xc_webrtc way: REST login, CTI websocket, LoggedOn, ``init`` (getConfig
    line → LineConfig → getIceConfig → IceConfig), SIP websocket, REGISTER."""
    made: list[tuple[Phone, CtiClient]] = []

    async def factory(
        login: str,
        *,
        sim_: Simulator | None = None,
        tls: bool = False,
        ssl_context: ssl.SSLContext | None = None,
        register: bool = True,
    ) -> Phone:
        target = sim_ or sim
        user = target.lab.user_by_login(login)
        assert user is not None
        base = target.https_url if tls else target.http_url
        cti = CtiClient(base, ssl_context=ssl_context, name=login)
        phone = Phone(
            cti=cti,
            ssl_context=ssl_context,
            name=login,
            signature=signature_for(target.lab.index_of(login), login),
            listen_for=all_signatures(target),
        )
        made.append((phone, cti))
        token = await cti.login(login, user.password)
        await cti.connect()
        await cti.wait_for(LoggedOn, timeout=5)
        port = target.tls_port if tls else target.sip_port
        await phone.init(user.display_name, tls, port, token.token)
        if register:
            await phone.wait_registered(10)
        return phone

    try:
        yield factory
    finally:
        for phone, cti in made:
            await phone.stop()
            await cti.aclose()
