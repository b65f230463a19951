"""Target files: which XiVO a scenario run talks to, and which accounts play its parties.

Two kinds, one format (``*.target.yaml`` by convention, any name works)::

    # the built-in simulator (what `xctest run` uses when no target is given)
    simulator: {lab: lab.yaml, tls: true}

    # a real XiVO: XUC's base URL, TLS options and one account per party
    xuc: https://xivo.lab.example:8443
    tls: {verify: true, ca_file: xivo-ca.pem}
    media: {interface: eth0}          # where the phones' media gathers (default: every interface)
    users:
      alice: {login: jdoe, password: "${ALICE_PASSWORD}"}
      bob: [{login: bsmith, password: s3cret}, {login: bsmith2, password: s3cret}]

The SIP websocket is chosen the way xc_webrtc's pages choose it: over https, the XUC host and
port with ``/wssip`` (nginx proxies it to Asterisk); over plain http, ``LineConfig.xivoIp``
port 5039 with ``/ws``.  ``sip_port`` changes the port, ``sip_url`` the whole address.

``${NAME}`` in any text is replaced by the environment variable (an unset one is an error), so
passwords stay out of the file; ``$$`` writes a ``$``.  A party given a list of accounts gets
one per pytest-xdist worker (worker N takes entry N), so parallel workers never share a line.
Pure: no I/O beyond reading the file, no asyncio.
"""

from __future__ import annotations

import ipaddress
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from xctest.errors import TargetError
from xctest.yamlsource import MarkedDict, MarkedList, MarkedStr, model_error, read_mapping, snippet

__all__ = [
    "Account",
    "MediaSettings",
    "SimulatorSettings",
    "SipWebsocket",
    "Target",
    "TlsOptions",
    "load_target",
]

ASTERISK_WS_PORT = 5039  # Asterisk's HTTP server on a XiVO (PROTOCOL.md §1.1)

_ENV = re.compile(r"\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


class TlsOptions(BaseModel):
    """How to trust the XiVO's certificate (https:// and wss://)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    verify: bool = Field(default=True, description="check the certificate chain and host name")
    ca_file: str | None = Field(default=None, description="PEM file of the CA that signed it")


class Account(BaseModel):
    """The XUC credentials one party logs in with."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    login: str = Field(min_length=1, description="XUC/CTI login")
    password: str = Field(default="", description="XUC/CTI password (simulator: from the lab)")
    number: str | None = Field(
        default=None, description="the user's number; default: the one XUC's LineConfig gives"
    )


class MediaSettings(BaseModel):
    """Where the phones' media (ICE host candidates) lives on this machine."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    addresses: tuple[str, ...] = Field(
        default=(), description="local IP addresses to gather on (e.g. the lab VLAN's)"
    )
    interface: str | None = Field(
        default=None, description="a network interface whose addresses are gathered on"
    )

    @field_validator("addresses")
    @classmethod
    def _ips(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for address in value:
            try:
                ipaddress.ip_address(address)
            except ValueError:
                raise ValueError(f"{address!r} is not an IP address") from None
        return value

    @model_validator(mode="after")
    def _one_way(self) -> MediaSettings:
        if self.addresses and self.interface:
            raise ValueError("give either 'addresses' or 'interface', not both")
        return self


@dataclass(frozen=True)
class SipWebsocket:
    """How a phone reaches the SIP websocket: ``init``'s ``ssl``, ``websocket_port`` and
    ``ip`` (None: ``LineConfig.xivoIp``), or a whole ``url`` (the token is appended)."""

    ssl: bool
    port: int
    host: str | None = None
    url: str | None = None


class SimulatorSettings(BaseModel):
    """The built-in simulator, started and stopped by the run."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    lab: str | None = Field(default=None, description="lab file (default: the built-in lab)")
    tls: bool = Field(default=False, description="talk to it over https:// and wss://")


class Target(BaseModel):
    """A XiVO to run scenarios against: the simulator, or a real one given by ``xuc``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    simulator: SimulatorSettings | None = None
    xuc: str | None = Field(default=None, description="XUC base URL, http(s)://host[:port]")
    sip_port: int | None = Field(
        default=None,
        ge=1,
        le=65535,
        description="SIP websocket port; default: the XUC port over https, 5039 over http",
    )
    sip_url: str | None = Field(
        default=None,
        description="the SIP websocket, ws(s)://host[:port][/path] (default: xc_webrtc's "
        "choice; without a path, xc_webrtc's /wssip or /ws)",
    )
    tls: TlsOptions = Field(default_factory=TlsOptions)
    media: MediaSettings | None = Field(
        default=None,
        description="where the phones' media gathers (default: every interface but "
        "loopback); not for the simulator, whose media is on loopback",
    )
    users: dict[str, tuple[Account, ...]] = Field(
        default_factory=dict, description="party name -> account, or one account per worker"
    )
    moh: Literal["signature", "any-audio"] | None = Field(
        default=None,
        description="how music on hold is recognised: the simulator's signature, or any "
        "audio that is no party's signature (default for a real XiVO)",
    )
    register_timeout: float = Field(default=10.0, gt=0, description="seconds to register")
    base_dir: str = Field(default=".", exclude=True, description="where relative paths start")

    @field_validator("users", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return {k: v if isinstance(v, list | tuple) else [v] for k, v in value.items()}
        return value

    @field_validator("xuc")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"{value!r} is not an http:// or https:// URL")
        return value.rstrip("/")

    @field_validator("sip_url")
    @classmethod
    def _ws_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        parts = urlsplit(value)
        if parts.scheme not in ("ws", "wss") or not parts.hostname:
            raise ValueError(f"{value!r} is not a ws:// or wss:// URL")
        if parts.query:
            raise ValueError(f"{value!r}: no query please, xctest appends ?token=")
        return value.rstrip("/")

    @field_validator("users")
    @classmethod
    def _passwords(
        cls, value: dict[str, tuple[Account, ...]], info: ValidationInfo
    ) -> dict[str, tuple[Account, ...]]:
        if info.data.get("xuc") is not None:
            for party, accounts in value.items():
                if any(not a.password for a in accounts):
                    raise ValueError(f"{party}: a real XiVO needs the password")
        return value

    @model_validator(mode="after")
    def _one_kind(self) -> Target:
        if (self.simulator is None) == (self.xuc is None):
            raise ValueError("a target has either 'simulator' or 'xuc', not both or neither")
        if self.simulator is not None:
            for name in ("media", "sip_url"):
                if getattr(self, name) is not None:
                    raise ValueError(f"'{name}' is for a real XiVO; the simulator's is loopback")
        return self

    @classmethod
    def default(cls) -> Target:
        """The built-in simulator with the built-in lab."""
        return cls(simulator=SimulatorSettings())

    @property
    def is_simulator(self) -> bool:
        return self.simulator is not None

    @property
    def moh_mode(self) -> str:
        return self.moh or ("signature" if self.is_simulator else "any-audio")

    @property
    def uses_tls(self) -> bool:
        if self.simulator is not None:
            return self.simulator.tls
        return urlsplit(self.xuc or "").scheme == "https"

    @property
    def websocket_port(self) -> int | None:
        """The SIP websocket port for a real XiVO: ``sip_port``, else the XUC URL's port over
        https (nginx serves /wssip beside XUC) and Asterisk's 5039 over http, as xc_webrtc's
        pages choose (PROTOCOL.md §1.6)."""
        if self.sip_port is not None or self.xuc is None:
            return self.sip_port
        parts = urlsplit(self.xuc)
        if parts.scheme == "https":
            return parts.port or 443
        return ASTERISK_WS_PORT

    def sip_websocket(self) -> SipWebsocket:
        """Where a real XiVO's phones open their SIP websocket.

        xc_webrtc's sample page and front-ends pass the page's host as ``ip`` when TLS is used
        (nginx proxies ``/wssip`` to Asterisk), and let ``LineConfig.xivoIp`` stand on plain
        http (PROTOCOL.md §1.6).  ``sip_url`` overrides both."""
        assert self.xuc is not None, "the simulator's websocket is its own"
        if self.sip_url is not None:
            parts = urlsplit(self.sip_url)
            secure = parts.scheme == "wss"
            given = parts.port or (443 if secure else 80)
            if parts.path in ("", "/"):
                return SipWebsocket(secure, given, host=parts.hostname)
            return SipWebsocket(secure, given, url=self.sip_url)
        port = self.websocket_port
        assert port is not None
        if self.uses_tls:
            return SipWebsocket(True, port, host=urlsplit(self.xuc).hostname)
        return SipWebsocket(False, port)

    def path(self, name: str) -> Path:
        """A path of the target file, relative to the file's folder."""
        return Path(self.base_dir) / name

    def account(self, party: str, worker: int = 0) -> Account | None:
        """The account of ``party`` for xdist worker ``worker``; None if the file names none.

        ``TargetError`` when the party has accounts but not one for this worker."""
        accounts = self.users.get(party)
        if not accounts:
            return None
        if worker >= len(accounts):
            raise TargetError(
                f"the target gives {len(accounts)} account(s) for {party!r}; parallel worker "
                f"{worker} needs its own (list one account per worker)"
            )
        return accounts[worker]


def load_target(path: str | Path) -> Target:
    """Read and validate a target file; ``TargetError`` points at file:line:column."""
    path = Path(path)
    text, data = read_mapping(path, TargetError, "target", "a mapping with 'simulator' or 'xuc'")
    data = _expand_env(data, text)
    try:
        return Target.model_validate({**data, "base_dir": str(path.parent)})
    except ValidationError as exc:
        raise model_error(exc, data, text, path, TargetError) from exc


def _expand_env(data: Any, text: str) -> Any:
    """``${NAME}`` replaced by the environment variable, keeping source marks."""
    if isinstance(data, MarkedDict):
        out = MarkedDict({k: _expand_env(v, text) for k, v in data.items()})
        out.key_locations, out.location = data.key_locations, data.location
        return out
    if isinstance(data, list):
        items = MarkedList(_expand_env(v, text) for v in data)
        items.location = getattr(data, "location", None)
        return items
    if isinstance(data, str):

        def value(match: re.Match[str]) -> str:
            name = match.group(1)
            if name is None:  # $$ writes a dollar sign
                return "$"
            if name not in os.environ:
                where = getattr(data, "location", None)
                shown = snippet(text, where.line, where.column, 0) if where else ""
                raise TargetError(f"environment variable {name} is not set", where, shown)
            return os.environ[name]

        result = MarkedStr(_ENV.sub(value, data))
        result.location = getattr(data, "location", None)
        return result
    return data
