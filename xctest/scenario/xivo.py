"""A XiVO to test against, opened for a run: the built-in simulator (started here, on free
loopback ports, stopped on close) or a real XiVO named by a target file.

``Xivo.phone(party)`` gives a phone logged in the xc_webrtc way (REST login, CTI websocket,
LoggedOn, ``init``, REGISTER); every phone and CTI session it made is closed by ``aclose``.
The composition root of the scenario layer: the one place that knows both the simulator and
the phone.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from types import TracebackType

from xctest.audio.moh import MOH_INDEX
from xctest.audio.signature import Signature, signature_for
from xctest.cti.client import CtiClient
from xctest.cti.messages import LineConfig, LoggedOn, Message, UserConfigUpdate
from xctest.errors import StepTimeout, TargetError, XctestError
from xctest.media import PeerConfig
from xctest.media.addresses import interface_addresses
from xctest.phone import Phone
from xctest.scenario.target import Account, Target
from xctest.sim import Lab, SimConfig, Simulator, default_lab, load_lab
from xctest.transport.tls import client_context

__all__ = ["LoginTrace", "Party", "Xivo"]

log = logging.getLogger(__name__)

USER_CONFIG_WAIT = 3.0
"""Seconds a log-in waits, after LoggedOn, for XUC's UserConfigUpdate and its full name (the
SIP display name, as on xc_webrtc's sample page); without one the party name is used."""


@dataclass(frozen=True)
class Party:
    """A logged-in party of a run: its phone, its CTI session and what the XiVO said it is."""

    name: str
    phone: Phone
    cti: CtiClient
    login: str
    number: str
    line_name: str
    display_name: str
    firstname: str
    lastname: str


@dataclass
class LoginTrace:
    """How far a log-in got: its account, CTI session, phone and XUC's user configuration,
    kept after a failure too (closed by then; what they received stays readable)."""

    account: Account | None = None
    cti: CtiClient | None = None
    phone: Phone | None = None
    user: UserConfigUpdate | None = None


async def _shut(phone: Phone, cti: CtiClient) -> None:
    """Stop the phone, then close its CTI session whatever happened."""
    try:
        await phone.stop()
    finally:
        await cti.aclose()


def _names(user: UserConfigUpdate | None, party: str) -> dict[str, str]:
    """The user's names as XUC's UserConfigUpdate gave them (first and last name, else the
    full name split at its first space); the party name when XUC sent none."""
    if user is None or not user.full_name:
        return {"display_name": party, "firstname": party, "lastname": ""}
    first, _, last = user.full_name.partition(" ")
    return {
        "display_name": user.full_name,
        "firstname": user.first_name or first,
        "lastname": (user.last_name or "") if user.first_name else last,
    }


async def _user_config(cti: CtiClient) -> UserConfigUpdate | None:
    """XUC's UserConfigUpdate with the user's full name (a ``fullName: null`` one is a partial
    forward/DND update), or None when none comes within ``USER_CONFIG_WAIT``."""
    try:
        return await cti.wait_for(
            UserConfigUpdate, lambda u: bool(u.full_name), timeout=USER_CONFIG_WAIT
        )
    except StepTimeout:
        log.warning(
            "%s: no UserConfigUpdate with a full name from XUC; names are the party's", cti.name
        )
        return None


class Xivo:
    """An opened target.  ``worker`` picks the accounts of a pytest-xdist worker.

    What can be checked before anything starts is checked here: a simulator target's lab is
    read (``LabError`` when it is wrong), a real XiVO's TLS trust is loaded (``TargetError``
    for an unusable ca_file)."""

    def __init__(self, target: Target | None = None, *, worker: int = 0) -> None:
        self.target = target or Target.default()
        self.worker = worker
        settings = self.target.simulator
        self.lab: Lab | None = None
        if settings is not None:
            self.lab = load_lab(self.target.path(settings.lab)) if settings.lab else default_lab()
        self.simulator: Simulator | None = None
        self._parties: list[Party] = []
        # a real XiVO's trust is known now (``TargetError`` for an unusable ca_file); the
        # simulator's once it has made its certificate
        self._ssl = self._client_ssl() if self.lab is None else None
        self.peer_config = self._media_config()

    def _media_config(self) -> PeerConfig:
        """Loopback for the simulator; for a real XiVO the target's ``media`` addresses or
        interface, else every interface but loopback (``TargetError`` for an interface that
        does not exist here)."""
        media = self.target.media
        if self.lab is not None:
            return PeerConfig()
        if media is None:
            return PeerConfig(media_addresses=None)
        if media.interface is not None:
            try:
                return PeerConfig(media_addresses=interface_addresses(media.interface))
            except LookupError as exc:
                raise TargetError(f"media.interface of the target: {exc}") from None
        return PeerConfig(media_addresses=media.addresses or None)

    async def __aenter__(self) -> Xivo:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    @property
    def name(self) -> str:
        """How reports name the target."""
        if self.simulator is not None:
            return f"simulator {self.base_url}"
        return f"xivo {self.base_url}"

    @property
    def ssl_context(self) -> ssl.SSLContext | None:
        """The trust phones and CTI sessions use (None without TLS)."""
        return self._ssl

    @property
    def base_url(self) -> str:
        if self.simulator is not None:
            tls = self.target.simulator is not None and self.target.simulator.tls
            return self.simulator.https_url if tls else self.simulator.http_url
        assert self.target.xuc is not None
        return self.target.xuc

    async def start(self) -> None:
        """Start the simulator (a real XiVO needs nothing started)."""
        settings = self.target.simulator
        if settings is not None and self.lab is not None and self.simulator is None:
            config = SimConfig(sip_port=0, http_port=0, tls_port=0 if settings.tls else None)
            self.simulator = Simulator(self.lab, config)
            await self.simulator.start()
            self._ssl = self._client_ssl()

    def _client_ssl(self) -> ssl.SSLContext | None:
        if not self.target.uses_tls:
            return None
        if self.simulator is not None and self.simulator.certificate is not None:
            # the simulator's fresh self-signed certificate is the one CA trusted
            return client_context(cadata=self.simulator.certificate.cert_pem.decode())
        options = self.target.tls
        ca = str(self.target.path(options.ca_file)) if options.ca_file else None
        try:
            return client_context(verify=options.verify, cafile=ca)
        except (OSError, ssl.SSLError) as exc:  # missing, unreadable, or not PEM certificates
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            raise TargetError(f"tls.ca_file {ca!r} of the target: {reason}") from None

    def account(self, party: str) -> Account:
        """Who ``party`` logs in as: the target's account, else (simulator) the lab user
        whose login is the party name."""
        account = self.target.account(party, self.worker)
        if self.lab is None:
            if account is None:
                raise TargetError(f"the target file has no account for party {party!r}")
            return account
        login = account.login if account is not None else party
        user = self.lab.user_by_login(login)
        if user is None:
            known = ", ".join(u.login for u in self.lab.users)
            raise TargetError(f"no lab user {login!r} for party {party!r} (lab users: {known})")
        number = account.number if account is not None else None
        return Account(login=login, password=user.password, number=number)

    def check_parties(self, parties: Iterable[str]) -> None:
        """``TargetError`` naming every party this target has no account for, so a run finds
        out before its first call rather than at the scenario that needs it."""
        problems = []
        for party in sorted(set(parties)):
            try:
                self.account(party)
            except TargetError as exc:
                problems.append(str(exc))
        if problems:
            raise TargetError("; ".join(problems))

    async def phone(
        self,
        party: str,
        *,
        signature: Signature | None = None,
        listen_for: Sequence[Signature] = (),
        trace: LoginTrace | None = None,
    ) -> Party:
        """A phone for ``party``, logged in through XUC and registered.  Without
        ``signature``/``listen_for`` the party plays its own signature among those of every
        party the target knows, and listens for all of them.  ``trace`` records how far the
        log-in got."""
        trace = trace if trace is not None else LoginTrace()
        account = self.account(party)
        trace.account = account
        if signature is None:
            known = self.known_signatures()
            if party not in known:
                raise TargetError(f"party {party!r} is not among the target's: {', '.join(known)}")
            signature, listen_for = known[party], tuple(known.values())
        cti = CtiClient(self.base_url, ssl_context=self._ssl, name=party)
        phone = Phone(
            cti=cti,
            ssl_context=self._ssl,
            name=party,
            signature=signature,
            listen_for=listen_for,
            peer_config=self.peer_config,
        )
        trace.cti, trace.phone = cti, phone
        lines: list[Message] = []
        cti.set_handler(LineConfig, lines.append)
        user: UserConfigUpdate | None = None
        try:
            token = await cti.login(account.login, account.password)
            await cti.connect()
            await cti.wait_for(LoggedOn, timeout=self.target.register_timeout)
            user = trace.user = await _user_config(cti)
            ssl_on, port, host, url = self._sip_websocket()
            display_name = user.full_name if user is not None and user.full_name else party
            await phone.init(display_name, ssl_on, port, token.token, ip=host, url=url)
            await phone.wait_registered(self.target.register_timeout)
        except BaseException as exc:  # failed, or cancelled (Ctrl-C): nothing left open
            try:
                await _shut(phone, cti)
            except Exception as also:  # the log-in failure is the news; this is logged
                log.warning("%s: closing after a failed log-in failed too: %r", party, also)
            if isinstance(exc, XctestError | OSError):
                raise XctestError(f"{party} ({account.login}) could not log in: {exc}") from exc
            raise
        line = lines[0] if lines and isinstance(lines[0], LineConfig) else None
        number = account.number or (line.number if line else "") or ""
        if not number:
            log.warning(
                "%s (%s): XUC's LineConfig carries no number; give users.%s.number in the "
                "target to dial this party by name",
                party,
                account.login,
                party,
            )
        made = Party(
            name=party,
            phone=phone,
            cti=cti,
            login=account.login,
            number=number,
            line_name=line.name if line else "",
            **_names(user, party),
        )
        self._parties.append(made)
        return made

    def known_signatures(self) -> dict[str, Signature]:
        """A distinct signature for every party the target knows: the lab's users (simulator)
        and the target file's parties, in that order."""
        names = [u.login for u in self.lab.users] if self.lab else []
        names += [p for p in self.target.users if p not in names]
        usable = MOH_INDEX  # the last signature is music on hold
        return {name: signature_for(i, name) for i, name in enumerate(names[:usable])}

    def _sip_websocket(self) -> tuple[bool, int, str | None, str | None]:
        """``init``'s ssl, websocket port and ip, and a whole URL when the target gives one."""
        if self.simulator is not None:
            tls = self.target.uses_tls
            return tls, self.simulator.tls_port if tls else self.simulator.sip_port, None, None
        where = self.target.sip_websocket()
        return where.ssl, where.port, where.host, where.url

    async def release(self, parties: Sequence[Party]) -> None:
        """Stop these parties' phones and close their CTI sessions (every one of them, even
        when closing one fails: that is logged)."""
        outcomes = await asyncio.gather(
            *(_shut(p.phone, p.cti) for p in parties), return_exceptions=True
        )
        self._parties = [p for p in self._parties if p not in parties]
        for party, outcome in zip(parties, outcomes, strict=True):
            if isinstance(outcome, asyncio.CancelledError):
                raise outcome
            if isinstance(outcome, BaseException):
                log.warning("closing %s failed: %r", party.name, outcome)

    async def aclose(self) -> None:
        """Close every phone made here, then stop the simulator."""
        try:
            await self.release(list(self._parties))
        finally:
            if self.simulator is not None:
                await self.simulator.aclose()
                self.simulator = None
