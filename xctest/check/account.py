"""``xctest check`` for one account: log in exactly as a scenario run does, then say for each
step of xc_webrtc's start-up what was seen, or what failed and what to change.

The log-in is ``Xivo.phone`` itself, traced: what it reached is read from the CTI session and
the phone it left behind (their timelines and received messages), never re-implemented here.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import urlsplit

from xctest.check.lines import CheckReport, Outcome, Section
from xctest.cti.client import CtiClient
from xctest.cti.messages import IceConfig, LineConfig, LoggedOn, Message, Ping
from xctest.cti.rest import LOGIN_PATH, cti_url
from xctest.errors import (
    AuthenticationError,
    ConnectError,
    CtiProtocolError,
    InvalidCredentials,
    RegistrationFailed,
    StepTimeout,
    XctestError,
)
from xctest.phone import Phone
from xctest.phone.phone import line_problem
from xctest.scenario.xivo import LoginTrace, Party, Xivo
from xctest.transport.tls import probe_tls
from xctest.transport.ws import without_token

__all__ = ["check_account"]

PING_WAIT = 3.0  # seconds to see what XUC answers to a ping
M = TypeVar("M", bound=Message)
STEPS = (
    "REST login",
    "CTI websocket",
    "user",
    "LineConfig",
    "IceConfig",
    "SIP websocket",
    "REGISTER",
    "media",
)


def _first(
    cti: CtiClient | None, kind: type[M], pred: Callable[[M], bool] = lambda m: True
) -> M | None:
    if cti is None:
        return None
    return next((m for m in cti.received if isinstance(m, kind) and pred(m)), None)


def _seen(phone: Phone | None, name: str) -> bool:
    return phone is not None and phone.timeline.find(lambda e: e.name == name) is not None


def _login_fix(error: BaseException | None, party: str, base: str) -> str:
    if isinstance(error, InvalidCredentials):
        return f"users.{party} login/password in the target: XUC refused them"
    if isinstance(error, ConnectError) and "TLS certificate" in str(error):
        return "tls.ca_file or tls.verify in the target, or the XiVO's certificate"
    if isinstance(error, ConnectError):
        return f"xuc in the target ({base}): is XUC (or the XiVO CC's nginx) reachable from here?"
    if isinstance(error, CtiProtocolError):
        return f"xuc in the target ({base}) must be XUC's base URL (…/xuc/api/2.0 below it)"
    if isinstance(error, AuthenticationError):
        return "XUC refused the log-in: its message says why"
    return ""


def _ice_text(ice: IceConfig) -> str:
    if not ice.servers():
        return "no STUN/TURN: host candidates only"
    parts = []
    if ice.stun_config is not None:
        parts.append("STUN " + ", ".join(ice.stun_config.urls))
    if ice.turn_config is not None:
        ttl = ice.turn_config.ttl
        parts.append(
            "TURN "
            + ", ".join(ice.turn_config.urls)
            + (f" (credentials for {ttl} s)" if ttl else "")
        )
    return "; ".join(parts)


def _line_text(line: LineConfig) -> str:
    return (
        f"line {line.name} (id {line.id}): webRtc {str(line.web_rtc).lower()}, hasDevice "
        f"{str(line.has_device).lower()}, xivoIp {line.xivo_ip}, sipProxyName "
        f"{line.sip_proxy_name}"
        + (f", sipPort {line.sip_port}" if line.sip_port else "")
        + f", number {line.number or '(none)'}"
    )


async def _tls_text(xivo: Xivo, url: str) -> tuple[str, str | None]:
    """What the SIP websocket's certificate is, and the TLS error when it was refused."""
    parts = urlsplit(url)
    if parts.scheme != "wss" or parts.hostname is None or xivo.ssl_context is None:
        return "", None
    probe = await probe_tls(parts.hostname, parts.port or 443, xivo.ssl_context)
    if probe.cert is None:
        return f"; TLS: {probe.error}", probe.error
    verdict = "verified" if probe.verified else "NOT verified (tls.verify false)"
    if probe.error:
        verdict = f"refused: {probe.error}"
    return f"; TLS {probe.cert.describe()}, {verdict}", probe.error


async def check_account(
    xivo: Xivo, party: str, report: CheckReport
) -> tuple[Section, Party | None]:
    """Log ``party`` in and say how each step went; the party stays logged in when it did."""
    trace = LoginTrace()
    error: XctestError | None = None
    made: Party | None = None
    try:
        made = await xivo.phone(party, trace=trace)
    except XctestError as exc:
        error = exc
    login = trace.account.login if trace.account else party
    section = Section(f"{party} (login {login})")
    cti, phone = trace.cti, trace.phone
    cause = error.__cause__ if error is not None and error.__cause__ is not None else error

    def stop(step: str, detail: str, fix: str = "") -> tuple[Section, None]:
        """``step`` failed: it says why, and the steps after it are not reached."""
        section.add(step, Outcome.FAIL, detail, fix)
        section.skip(*STEPS[STEPS.index(step) + 1 :])
        _note_conversions(cti, report)
        return section, None

    shown = str(cause) if cause is not None else ""
    base = xivo.base_url

    if cti is None or cti.token is None:
        return stop("REST login", shown or "no token", _login_fix(cause, party, base))
    ttl = cti.token.ttl
    section.add(
        "REST login",
        Outcome.OK,
        f"POST {base}{LOGIN_PATH}: token for {cti.token.login}, "
        + (f"TTL {ttl} s" if ttl is not None else "no TTL given"),
    )
    report.note("Q9 token TTL in the login answer", "absent" if ttl is None else f"{ttl}")

    logged_on = _first(cti, LoggedOn)
    if logged_on is None:
        return stop(
            "CTI websocket",
            shown,
            f"the CTI websocket ({without_token(cti_url(base, 'x'))}) must answer at xuc's host",
        )
    section.add("CTI websocket", Outcome.OK, f"{without_token(cti_url(base, 'x'))}: LoggedOn")
    order = [m.wire_type() for m in cti.received if m.wire_type() != "LinkStatusUpdate"][:3]
    report.note("Q10 first CTI messages", ", ".join(order))
    report.note("Q10 LoggedOn payload keys", ", ".join(sorted(logged_on.payload)) or "(none)")

    if trace.user is not None and trace.user.full_name:
        section.add(
            "user", Outcome.OK, f"UserConfigUpdate: {trace.user.full_name} (SIP display name)"
        )
    else:
        section.add(
            "user",
            Outcome.WARN,
            "no UserConfigUpdate with a full name: the party name is the SIP display name",
        )

    line = _first(cti, LineConfig)
    if line is None:
        return stop(
            "LineConfig",
            shown or "no LineConfig",
            "XUC must answer getConfig line with the user's LineConfig",
        )
    report.note("Q13 LineConfig fields", ", ".join(sorted(line.to_payload())))
    problem = line_problem(line)
    if problem:
        return stop("LineConfig", _line_text(line), problem.split(": ", 1)[-1])
    if line.number or (trace.account and trace.account.number):
        section.add("LineConfig", Outcome.OK, _line_text(line))
    else:
        section.add(
            "LineConfig",
            Outcome.WARN,
            _line_text(line),
            f"no number: give users.{party}.number in the target to dial this party by name",
        )

    ice = _first(cti, IceConfig)
    if ice is None:
        return stop(
            "IceConfig",
            shown or "no IceConfig",
            "XUC must answer getIceConfig (xc_webrtc does not start without it): a XUC too old?",
        )
    section.add("IceConfig", Outcome.OK, _ice_text(ice))
    report.note("Q14 IceConfig", _ice_text(ice))

    assert phone is not None
    try:
        url = without_token(phone.identity.ws_url)
    except XctestError:
        url = ""
    tls_text, tls_error = await _tls_text(xivo, url) if url else ("", None)
    if not _seen(phone, "general/Started"):
        fix = "sip_url or sip_port in the target (where /wssip or Asterisk's /ws answers)"
        if tls_error:
            fix = "tls.ca_file or tls.verify in the target, or the XiVO's certificate"
        return stop("SIP websocket", f"{url}: {shown}{tls_text}", fix)
    section.add("SIP websocket", Outcome.OK, f"{url}{tls_text}")

    identity = phone.identity
    who = f"{identity.impi} {identity.display_name!r} <{identity.impu}>"
    if made is None or not phone.registered:
        fix = ""
        if isinstance(cause, RegistrationFailed):
            fix = "the SIP secret XUC's LineConfig gives was refused: check the line in XiVO"
        return stop("REGISTER", f"{who}: {shown}", fix)
    granted = phone.registration.granted
    section.add("REGISTER", Outcome.OK, f"{who}: registered, expires {granted} s")
    report.note("Q21 REGISTER expiry granted", f"{granted} s")

    await _media_line(xivo, made, section)
    await _ping_answer(cti, report)
    _note_conversions(cti, report)
    return section, made


def _note_conversions(cti: CtiClient | None, report: CheckReport) -> None:
    """What XUC sent with another JSON type than documented (taken converted) or refused."""
    if cti is None:
        return
    for text in cti.conversions.values():
        report.note("fields taken converted", text)
    for problem in cti.refused:
        report.note("frames refused", problem)


async def _media_line(xivo: Xivo, party: Party, section: Section) -> None:
    loop = asyncio.get_running_loop()
    began = loop.time()
    try:
        path = await party.phone.media_candidates()
    except XctestError as exc:
        section.add("media", Outcome.FAIL, f"no candidates gathered: {exc}", _MEDIA_FIX)
        return
    took = (loop.time() - began) * 1000
    if not path.local:
        section.add("media", Outcome.FAIL, "no ICE candidate gathered", _MEDIA_FIX)
        return
    detail = f"candidates {', '.join(path.local)} (gathered in {took:.0f} ms)"
    if path.local_on_loopback and xivo.simulator is None:
        section.add("media", Outcome.FAIL, detail + ": loopback only", _MEDIA_FIX)
        return
    section.add("media", Outcome.OK, detail)


_MEDIA_FIX = "media (addresses or interface) in the target: an address the XiVO's media reaches"


async def _ping_answer(cti: CtiClient, report: CheckReport) -> None:
    """What XUC answers to ``{"claz":"ping"}`` (its client closes after 3 silent pings)."""
    since = len(cti.received)
    try:
        await cti.send(Ping())
        answer: Any = await cti.wait_for(Message, timeout=PING_WAIT, since=since)
        report.note("Q8 answer to a ping", answer.wire_type())
    except StepTimeout:
        report.note("Q8 answer to a ping", f"nothing within {PING_WAIT:g} s")
    except XctestError as exc:
        report.note("Q8 answer to a ping", f"not sent: {exc}")
