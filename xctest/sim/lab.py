"""The lab: who exists on the simulated XiVO (users, their numbers and SIP lines).

Loaded from YAML and validated with pydantic; errors name the file, line and the field.  A
built-in default lab (alice … eve) lets ``xctest sim`` run with no file at all.
"""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from xctest.errors import LabError
from xctest.yamlsource import model_error, read_mapping


class User(BaseModel):
    """One XiVO user with a WebRTC line."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    login: str = Field(min_length=1, description="CTI/XUC login")
    password: str = Field(min_length=1, description="CTI/XUC password")
    firstname: str = ""
    lastname: str = ""
    number: str = Field(pattern=r"^[0-9*#+]+$", description="extension (internal number)")
    line_name: str = Field(min_length=1, description="SIP peer name (digest user)")
    line_password: str = Field(min_length=1, description="SIP secret")
    simultaneous_calls: int = Field(default=2, ge=1, description="calls the line accepts")
    webrtc: bool = Field(default=True, description="LineConfig webRtc: a WebRTC line")
    has_device: bool = Field(default=False, description="LineConfig hasDevice: a desk phone too")
    xuc_line_password: str | None = Field(
        default=None,
        description="the SIP secret XUC's LineConfig gives when it differs from the line's "
        "(a stale XUC cache: the REGISTER is refused); default: line_password",
    )

    @property
    def display_name(self) -> str:
        return f"{self.firstname} {self.lastname}".strip() or self.login


class TurnSettings(BaseModel):
    """A TURN server with time-limited credentials (coturn ``use-auth-secret`` style)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    urls: tuple[str, ...] = Field(min_length=1, description="turn: URLs")
    secret: str = Field(min_length=1, description="shared secret for the credentials")
    ttl: int = Field(default=3600, ge=2, description="credential lifetime, seconds")


class IceSettings(BaseModel):
    """What ``getIceConfig`` answers; empty by default (host candidates only)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    stun_urls: tuple[str, ...] = Field(default=(), description="stun: URLs")
    turn: TurnSettings | None = None


class XucWire(BaseModel):
    """How the simulated XUC writes what PROTOCOL.md leaves open, to try a phone against the
    variants a real XiVO may send."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    line_number: bool = Field(
        default=True, description="LineConfig carries the user's number (PROTOCOL.md Q13)"
    )
    json_numbers: bool = Field(
        default=False,
        description="ids, ports and numeric userData values as JSON numbers, not strings",
    )
    ice_config: bool = Field(
        default=True, description="getIceConfig is answered (an older XUC has no IceConfig)"
    )


class Impair(BaseModel):
    """A faulty network between the PBX and the phones, on the media the PBX sends: for
    negative controls (a lossy path must fail ``hears`` and ``quality``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    loss: float = Field(default=0.0, ge=0.0, le=1.0, description="share of packets dropped")
    late: float = Field(
        default=0.0, ge=0.0, le=1.0, description="share held back 200 ms, past any deadline"
    )


class Lab(BaseModel):
    """Users plus the PBX settings the simulator uses."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    realm: str = Field(default="xivo", description="SIP digest realm")
    sip_domain: str = Field(default="default", description="LineConfig.sipProxyName / SIP domain")
    context: str = Field(default="default", description="dial plan context of the users")
    token_ttl: int = Field(default=3600, ge=1, description="XUC token lifetime, seconds")
    ice: IceSettings = Field(default_factory=IceSettings, description="IceConfig contents")
    moh_level_dbfs: float = Field(
        default=-18.0, le=0.0, description="level of the music on hold played to held parties"
    )
    dtmf_inband: bool = Field(
        default=True, description="also play relayed SIP INFO digits in-band to the other party"
    )
    no_answer_timeout: float = Field(
        default=30.0, gt=0.0, description="seconds a callee may ring before the caller gets 480"
    )
    echo_number: str | None = Field(
        default="*43",
        pattern=r"^[0-9*#+]+$",
        description="a number the PBX answers itself, sending back what it hears (an echo "
        "test, like Asterisk's Echo()); null: none",
    )
    xuc: XucWire = Field(default_factory=XucWire, description="what the simulated XUC sends")
    impair: Impair = Field(default_factory=Impair, description="media faults (none by default)")
    users: tuple[User, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique(self) -> Lab:
        if self.echo_number is not None and self.user_by_number(self.echo_number) is not None:
            raise ValueError(f"echo_number {self.echo_number!r} is also a user's number")
        for attr in ("login", "number", "line_name"):
            seen: set[str] = set()
            for user in self.users:
                value = getattr(user, attr)
                if value in seen:
                    raise ValueError(f"two users have the same {attr} {value!r}")
                seen.add(value)
        return self

    def user_by_number(self, number: str) -> User | None:
        return next((u for u in self.users if u.number == number), None)

    def user_by_line(self, line_name: str) -> User | None:
        return next((u for u in self.users if u.line_name == line_name), None)

    def user_by_login(self, login: str) -> User | None:
        return next((u for u in self.users if u.login == login), None)

    def user_id(self, login: str) -> int:
        """XiVO user id (``XIVO_USERID``, ``UserConfigUpdate.userId``): position + 1."""
        return self.index_of(login) + 1

    def index_of(self, login: str) -> int:
        """Position of a user in the lab: the index of its signature tone."""
        return next(i for i, u in enumerate(self.users) if u.login == login)

    def to_yaml(self) -> str:
        data = self.model_dump(mode="json")
        return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


_DEFAULT_NAMES = [
    ("alice", "Alice", "Archer", "1001"),
    ("bob", "Bob", "Brown", "1002"),
    ("carol", "Carol", "Clark", "1003"),
    ("dave", "Dave", "Dunn", "1004"),
    ("eve", "Eve", "Evans", "1005"),
]


def default_lab() -> Lab:
    """alice 1001 … eve 1005; password ``<login>-pass``, SIP line ``wr<number>`` with secret
    ``<login>-sip``."""
    return Lab(
        users=tuple(
            User(
                login=login,
                password=f"{login}-pass",
                firstname=first,
                lastname=last,
                number=number,
                line_name=f"wr{number}",
                line_password=f"{login}-sip",
            )
            for login, first, last, number in _DEFAULT_NAMES
        )
    )


def load_lab(path: str | Path) -> Lab:
    """Read and validate a lab file; raise ``LabError`` pointing at file:line:column."""
    path = Path(path)
    text, data = read_mapping(path, LabError, "lab", "a mapping with a 'users' list")
    try:
        return Lab.model_validate(data)
    except ValidationError as exc:
        raise model_error(exc, data, text, path, LabError) from exc
