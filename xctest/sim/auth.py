"""Digest authentication of REGISTER and initial INVITE against the lab's SIP lines
(RFC 3261 §22.4, RFC 7616), as Asterisk challenges a WebRTC endpoint.
"""

from __future__ import annotations

import secrets
from collections import OrderedDict
from dataclasses import dataclass

from xctest.errors import SipParseError
from xctest.sim.lab import Lab
from xctest.sip.auth import Challenge, parse_credentials, verify_credentials
from xctest.sip.message import Request

NONCE_LIFETIME = 300.0


@dataclass(frozen=True)
class Verdict:
    """``status`` 0 means accepted (``line`` is the authenticated SIP line)."""

    status: int = 0
    line: str = ""
    headers: tuple[tuple[str, str], ...] = ()


class DigestGuard:
    """Issues nonces and checks ``Authorization`` headers."""

    def __init__(self, lab: Lab, algorithm: str = "MD5") -> None:
        self.lab = lab
        self.algorithm = algorithm
        self._nonces: OrderedDict[str, float] = OrderedDict()

    def _challenge(self, now: float, stale: bool = False) -> Verdict:
        nonce = secrets.token_hex(16)
        self._nonces[nonce] = now + NONCE_LIFETIME
        while len(self._nonces) > 10_000:
            self._nonces.popitem(last=False)
        challenge = Challenge(
            realm=self.lab.realm, nonce=nonce, algorithm=self.algorithm, qop=("auth",), stale=stale
        )
        return Verdict(401, headers=(("WWW-Authenticate", str(challenge)),))

    def check(self, req: Request, now: float) -> Verdict:
        value = req.headers.get("Authorization")
        if value is None:
            return self._challenge(now)
        try:
            creds = parse_credentials(value)
        except SipParseError:
            return Verdict(400, headers=(("Warning", '399 xctest-sim "bad Authorization"'),))
        expiry = self._nonces.get(creds.nonce)
        if expiry is None or expiry < now:
            return self._challenge(now, stale=expiry is not None)
        user = self.lab.user_by_line(creds.username)
        if (
            user is None
            or creds.realm != self.lab.realm
            or not verify_credentials(creds, password=user.line_password, method=req.method)
        ):
            # unconfirmed (PROTOCOL.md Q15): chan_sip answers a wrong secret with 403, PJSIP
            # challenges again; 403 tells the phone plainly that the password is wrong.
            return Verdict(403, headers=(("Warning", '399 xctest-sim "wrong SIP credentials"'),))
        return Verdict(0, line=user.line_name)
