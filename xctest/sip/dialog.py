"""RFC 3261 §12 dialogs: identity (Call-ID and tags), CSeq counters, route set, remote target.

Builds in-dialog requests and checks incoming ones.  Role-agnostic (UAC and UAS views of one
call are the same class) and sans-IO: stdlib, ``xctest.errors`` and the sip codec only.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from enum import Enum

from xctest.errors import LocalProtocolError
from xctest.sip.headers import Headers, Via
from xctest.sip.message import Request, Response
from xctest.sip.uri import NameAddr, SipUri

__all__ = ["TARGET_REFRESH_METHODS", "Dialog", "DialogState"]

# Theory of operation
# -------------------
#
# A dialog is the peer-to-peer relationship that an INVITE (or another dialog-creating
# request) sets up between two user agents.  It is identified by Call-ID, local tag and remote
# tag (§12); "local" is whichever side holds this object, so the UAC's local tag is the From
# tag and the UAS's local tag is the To tag.  The two views of one call therefore agree on the
# Call-ID, have their tags swapped, and have their route sets in opposite orders (§12.1.1: the
# UAS keeps Record-Route as received; §12.1.2: the UAC reverses it).
#
# States (§12.1): a 1xx with a To tag creates an EARLY dialog on the UAC side, the UAS is EARLY
# as soon as it sends such a 1xx; a 2xx makes it CONFIRMED.  The TU ends it (BYE, non-2xx
# final on an early dialog, Timer B ...) with ``terminate``.  Transitions are the table below;
# asking for a missing edge raises LocalProtocolError.
#
# Sequence numbers (§12.2): ``local_seq`` is incremented for every new request this side sends
# except ACK (which reuses its INVITE's number, §13.2.2.4) and CANCEL (built by the agent from
# the request it cancels).  ``remote_seq`` must grow: a lower CSeq from the peer is answered 500
# (§12.2.2).  Target-refresh requests (re-INVITE, UPDATE) and 2xx answers to ours replace the
# remote target with the Contact they carry.  Only loose routing (RFC 3261 §16.12) is
# supported: the Request-URI is always the remote target and the route set goes in Route.


class DialogState(Enum):
    """RFC 3261 §12 dialog states."""

    EARLY = "early"
    CONFIRMED = "confirmed"
    TERMINATED = "terminated"


class DialogInput(Enum):
    """What moves a dialog between states."""

    CONFIRM = "2xx"
    TERMINATE = "terminate"


DIALOG_TABLE: dict[tuple[DialogState, DialogInput], DialogState] = {
    (DialogState.EARLY, DialogInput.CONFIRM): DialogState.CONFIRMED,
    (DialogState.EARLY, DialogInput.TERMINATE): DialogState.TERMINATED,
    (DialogState.CONFIRMED, DialogInput.CONFIRM): DialogState.CONFIRMED,
    (DialogState.CONFIRMED, DialogInput.TERMINATE): DialogState.TERMINATED,
    (DialogState.TERMINATED, DialogInput.TERMINATE): DialogState.TERMINATED,
}

# RFC 3261 §12.2 / RFC 3311 §5.1: requests whose Contact replaces the remote target.
TARGET_REFRESH_METHODS = frozenset({"INVITE", "UPDATE"})


def _without_tag(name_addr: NameAddr) -> NameAddr:
    params = tuple(p for p in name_addr.params if p[0].lower() != "tag")
    return replace(name_addr, params=params)


def _with_tag(name_addr: NameAddr, tag: str | None) -> NameAddr:
    return name_addr.with_tag(tag) if tag is not None else name_addr


class Dialog:
    """One dialog as seen from one side (RFC 3261 §12)."""

    def __init__(
        self,
        *,
        call_id: str,
        local_tag: str,
        remote_tag: str | None,
        local_uri: NameAddr,
        remote_uri: NameAddr,
        local_seq: int,
        remote_seq: int | None,
        remote_target: SipUri,
        route_set: tuple[str, ...] = (),
        state: DialogState = DialogState.EARLY,
        is_uac: bool = False,
    ) -> None:
        self.call_id = call_id
        self.local_tag = local_tag
        self.remote_tag = remote_tag
        self.local_uri = local_uri
        self.remote_uri = remote_uri
        self.local_seq = local_seq
        self.remote_seq = remote_seq
        self.remote_target = remote_target
        self.route_set = route_set
        self.state = state
        self.is_uac = is_uac

    @classmethod
    def from_uac(cls, request: Request, response: Response) -> Dialog:
        """RFC 3261 §12.1.2: the dialog a 1xx-with-To-tag (EARLY) or 2xx (CONFIRMED) creates
        for the side that sent ``request``."""
        if response.status >= 300 or response.status < 101:
            raise LocalProtocolError(f"a {response.status} response does not create a dialog")
        if response.status < 200 and response.to.tag is None:
            raise LocalProtocolError("a provisional response without To tag creates no dialog")
        local_tag = request.from_.tag
        if local_tag is None:
            raise LocalProtocolError("the request has no From tag (§8.1.1.3)")
        contact = response.contact
        state = DialogState.EARLY if response.status < 200 else DialogState.CONFIRMED
        return cls(
            call_id=request.call_id,
            local_tag=local_tag,
            remote_tag=response.to.tag,
            local_uri=_without_tag(request.from_),
            remote_uri=_without_tag(request.to),
            local_seq=request.cseq.seq,
            remote_seq=None,
            remote_target=contact.uri if contact is not None else request.uri,
            route_set=tuple(reversed(response.headers.get_all("Record-Route"))),
            state=state,
            is_uac=True,
        )

    @classmethod
    def from_uas(
        cls, request: Request, local_tag: str, state: DialogState = DialogState.EARLY
    ) -> Dialog:
        """RFC 3261 §12.1.1: the dialog for the side answering ``request`` with ``local_tag``."""
        contact = request.contact
        return cls(
            call_id=request.call_id,
            local_tag=local_tag,
            remote_tag=request.from_.tag,
            local_uri=_without_tag(request.to),
            remote_uri=_without_tag(request.from_),
            local_seq=0,
            remote_seq=request.cseq.seq,
            remote_target=contact.uri if contact is not None else request.from_.uri,
            route_set=tuple(request.headers.get_all("Record-Route")),
            state=state,
            is_uac=False,
        )

    @property
    def id(self) -> tuple[str, str, str | None]:
        """(Call-ID, local tag, remote tag), RFC 3261 §12."""
        return (self.call_id, self.local_tag, self.remote_tag)

    @property
    def is_established(self) -> bool:
        return self.state is DialogState.CONFIRMED

    def matches(self, msg: Request | Response) -> bool:
        """True when ``msg`` belongs here: a request from the peer (To tag = local tag) or a
        response to one of our requests (From tag = local tag)."""
        if msg.call_id != self.call_id:
            return False
        if isinstance(msg, Request):
            local, remote = msg.to.tag, msg.from_.tag
        else:
            local, remote = msg.from_.tag, msg.to.tag
        if local != self.local_tag:
            return False
        return self.remote_tag is None or remote == self.remote_tag

    def confirm(self, response: Response | None = None) -> None:
        """EARLY -> CONFIRMED.  On the UAC side pass the 2xx: remote tag, target and route set
        are taken from it (§13.2.2.4).  A UAS passes nothing (its own 2xx is ignored)."""
        if response is not None and not response.is_success:
            raise LocalProtocolError(f"a {response.status} response cannot confirm a dialog")
        self._move(DialogInput.CONFIRM)
        if response is None or not self.is_uac:
            return
        if self.remote_tag is None:
            self.remote_tag = response.to.tag
        if response.contact is not None:
            self.remote_target = response.contact.uri
        self.route_set = tuple(reversed(response.headers.get_all("Record-Route")))

    def receive_response(self, response: Response, request: Request) -> None:
        """Apply a response to an in-dialog ``request`` we sent: a 2xx to a target refresh
        replaces the remote target (§12.2.1.2); a 2xx to the initial INVITE confirms."""
        if not response.is_success:
            return
        if self.state is DialogState.EARLY:
            self.confirm(response)
        elif request.method in TARGET_REFRESH_METHODS and response.contact is not None:
            self.remote_target = response.contact.uri

    def create_request(
        self,
        method: str,
        *,
        via: Via,
        contact: NameAddr | None = None,
        headers: Iterable[tuple[str, str]] = (),
        body: bytes = b"",
        content_type: str | None = None,
    ) -> Request:
        """RFC 3261 §12.2.1.1: a new in-dialog request; increments ``local_seq``."""
        if method in ("ACK", "CANCEL"):
            raise LocalProtocolError(f"use create_ack / Agent.make_cancel for {method}")
        self._require_usable(method)
        self.local_seq += 1
        return self._build(method, self.local_seq, via, contact, headers, body, content_type)

    def create_ack(
        self,
        invite: Request,
        *,
        via: Via,
        body: bytes = b"",
        content_type: str | None = None,
    ) -> Request:
        """RFC 3261 §13.2.2.4: the ACK for a 2xx to ``invite``, with the INVITE's CSeq number."""
        if invite.method != "INVITE" or invite.call_id != self.call_id:
            raise LocalProtocolError("create_ack needs an INVITE of this dialog")
        self._require_usable("ACK")
        return self._build("ACK", invite.cseq.seq, via, None, (), body, content_type)

    def receive_request(self, request: Request) -> int | None:
        """RFC 3261 §12.2.2: check and record an in-dialog request from the peer.

        Returns the status to answer with when it must be refused (481 not this dialog or
        terminated, 500 out-of-order CSeq), or None when the TU may go on.
        """
        if not self.matches(request) or self.state is DialogState.TERMINATED:
            return 481
        if request.method in ("ACK", "CANCEL"):
            return None
        seq = request.cseq.seq
        if self.remote_seq is not None and seq < self.remote_seq:
            return 500
        self.remote_seq = seq
        if request.method in TARGET_REFRESH_METHODS and request.contact is not None:
            self.remote_target = request.contact.uri
        return None

    def terminate(self) -> None:
        """Mark the dialog ended (any state)."""
        self._move(DialogInput.TERMINATE)

    def __repr__(self) -> str:
        return f"<Dialog call_id={self.call_id} state={self.state.name} local_seq={self.local_seq}>"

    def _move(self, event: DialogInput) -> None:
        new = DIALOG_TABLE.get((self.state, event))
        if new is None:
            raise LocalProtocolError(f"cannot {event.value} a {self.state.value} dialog")
        self.state = new

    def _require_usable(self, method: str) -> None:
        if self.state is DialogState.TERMINATED:
            raise LocalProtocolError(f"cannot send {method} in a terminated dialog")

    def _build(
        self,
        method: str,
        seq: int,
        via: Via,
        contact: NameAddr | None,
        headers: Iterable[tuple[str, str]],
        body: bytes,
        content_type: str | None,
    ) -> Request:
        items = [("Via", str(via)), ("Max-Forwards", "70")]
        items.extend(("Route", route) for route in self.route_set)
        items.append(("From", str(self.local_uri.with_tag(self.local_tag))))
        items.append(("To", str(_with_tag(self.remote_uri, self.remote_tag))))
        items.append(("Call-ID", self.call_id))
        items.append(("CSeq", f"{seq} {method}"))
        if contact is not None:
            items.append(("Contact", str(contact)))
        items.extend(headers)
        request = Request(method, self.remote_target, Headers(items))
        if body or content_type is not None:
            request = request.with_body(body, content_type)
        return request
