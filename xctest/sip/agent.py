"""The sans-IO SIP façade for one WebSocket connection: frames in, typed events out.

Owns the transaction tables of one connection plus the UA-core memory of 2xx answers to INVITE.
Used by both the phone and the simulator; must stay sans-IO (no asyncio, sockets or clock).
"""

from __future__ import annotations

import logging
import re
import secrets
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from xctest.errors import LocalProtocolError, RemoteProtocolError
from xctest.sip.events import (
    AckReceived,
    CancelReceived,
    Event,
    MessageRejected,
    RequestReceived,
    ResponseReceived,
    TransactionTimeout,
)
from xctest.sip.headers import Headers
from xctest.sip.message import REASONS, Request, Response, make_response, parse_message, serialize
from xctest.sip.transaction import (
    MAGIC_COOKIE,
    Action,
    ClientKey,
    ClientTransaction,
    ServerKey,
    ServerTransaction,
    client_key,
    server_key,
)

__all__ = ["Agent"]

logger = logging.getLogger(__name__)

# RFC 3261 §7.1 Request-Line (method token, Request-URI, version) and §7.3.3 compact forms.
_REQUEST_LINE = re.compile(r"^([A-Za-z0-9.!%*_+`'~-]+) +\S+ +SIP/2\.0$")
_CSEQ = re.compile(r"^\d+\s+[A-Za-z0-9.!%*_+`'~-]+$")
_SALVAGED = {"via": "Via", "v": "Via", "from": "From", "f": "From", "to": "To", "t": "To"}
_SALVAGED |= {"call-id": "Call-ID", "i": "Call-ID", "cseq": "CSeq"}


def _default_id() -> str:
    return secrets.token_hex(8)


@dataclass
class _Accepted:
    """An INVITE answered with 2xx, remembered for 64*T1 (RFC 3261 §13.2.2.4, §13.3.1.4)."""

    request: Request
    deadline: float
    response: Response | None = None
    to_tags: set[str] = field(default_factory=set)


def salvage_error_response(
    text: str, status: int, to_tag: str, warning: str = ""
) -> Response | None:
    """Build an error response to a request too broken to parse, if its start line is a
    request line (not ACK) and Via, From, To, Call-ID and CSeq can be read as raw text."""
    head = re.split(r"\r?\n\r?\n", text, maxsplit=1)[0]
    lines = re.split(r"\r?\n", head)
    match = _REQUEST_LINE.match(lines[0].strip())
    if match is None or match.group(1) == "ACK":
        return None
    found: dict[str, list[str]] = {}
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        canonical = _SALVAGED.get(name.strip().lower())
        if sep and canonical and value.strip():
            found.setdefault(canonical, []).append(value.strip())
    if set(found) != {"Via", "From", "To", "Call-ID", "CSeq"}:
        return None
    if not _CSEQ.match(found["CSeq"][0]):
        return None
    to = found["To"][0]
    if not re.search(r";\s*tag=", to, re.IGNORECASE):
        to = f"{to};tag={to_tag}"
    headers = [("Via", via) for via in found["Via"]]
    headers += [("From", found["From"][0]), ("To", to), ("Call-ID", found["Call-ID"][0])]
    headers += [("CSeq", found["CSeq"][0])]
    if warning:
        headers.append(("Warning", warning_value(warning)))
    headers.append(("Content-Length", "0"))
    return Response(status, REASONS.get(status, "Bad Request"), Headers(headers))


def warning_value(error: str) -> str:
    """A Warning header value (RFC 3261 §20.43, code 399 "miscellaneous") naming the error."""
    text = error.replace("\\", "\\\\").replace('"', '\\"').replace("\r", " ").replace("\n", " ")
    return f'399 xctest "{text[:200]}"'


class Agent:
    """Transactions of one SIP-over-WebSocket connection (RFC 3261 §17, RFC 7118).

    Role-agnostic: a phone and the simulator drive it the same way.  Feed frames with
    ``receive``, read ``next_event``, send with ``send_request``/``send_response``, flush
    ``frames_to_send`` and drive timers with ``next_deadline``/``handle_timeout``.
    """

    def __init__(self, *, t1: float = 0.5, id_factory: Callable[[], str] | None = None) -> None:
        self.t1 = t1
        self._id = id_factory or _default_id
        self._clients: dict[ClientKey, ClientTransaction] = {}
        self._servers: dict[ServerKey, ServerTransaction] = {}
        self._invites_accepted_by_peer: dict[ClientKey, _Accepted] = {}
        self._invites_we_accepted: dict[ServerKey, _Accepted] = {}
        self._events: deque[Event] = deque()
        self._outbox: list[str] = []

    # --- input --------------------------------------------------------------------------------

    def receive(self, frame: str | bytes, now: float) -> None:
        """Feed one WebSocket message.  Never raises for bad input: see ``MessageRejected``."""
        text = frame if isinstance(frame, str) else frame.decode("utf-8", errors="replace")
        try:
            msg = parse_message(frame)
        except RemoteProtocolError as exc:
            self._reject(text, str(exc), exc.response_hint, None)
        else:
            try:
                self._check(msg)
            except RemoteProtocolError as exc:
                self._reject(text, str(exc), exc.response_hint, msg)
            else:
                if isinstance(msg, Response):
                    self._receive_response(msg, text, now)
                else:
                    self._receive_request(msg, now)
        self._expire(now)

    def next_event(self) -> Event | None:
        """The oldest pending event, or None."""
        return self._events.popleft() if self._events else None

    # --- output -------------------------------------------------------------------------------

    def send_request(self, request: Request, now: float) -> str:
        """Start a client transaction for ``request`` (none for ACK) and return its frame."""
        frame = self._frame(request)
        if request.method != "ACK":
            try:
                key = client_key(request)
                self._check(request)
            except RemoteProtocolError as exc:
                raise LocalProtocolError(f"cannot send {request.method}: {exc}") from exc
            if key in self._clients:
                raise LocalProtocolError(f"a client transaction {key} is already open")
            self._clients[key] = ClientTransaction(request, now, t1=self.t1)
        self._expire(now)
        return frame

    def send_response(self, response: Response, now: float) -> str:
        """Pass ``response`` through its open server transaction and return its frame."""
        frame = self._frame(response)
        try:
            key = server_key(response)
        except RemoteProtocolError as exc:
            raise LocalProtocolError(f"cannot send {response.status}: {exc}") from exc
        tx = self._servers.get(key)
        if tx is None:
            accepted = self._invites_we_accepted.get(key)
            if accepted is None or not response.is_success:
                raise LocalProtocolError(f"no open server transaction for {response.status} {key}")
            accepted.response = response  # the UA core retransmits its 2xx (§13.3.1.4)
            return frame
        tx.send_response(response, now)
        if tx.is_invite and response.is_success:
            deadline = now + 64 * self.t1  # RFC 6026 Timer L, 64*T1
            self._invites_we_accepted[key] = _Accepted(tx.request, deadline, response=response)
        self._expire(now)
        return frame

    def frames_to_send(self) -> list[str]:
        """Drain the frames the agent produced by itself (auto ACK, 400, CANCEL answers ...)."""
        frames, self._outbox = self._outbox, []
        return frames

    # --- timers -------------------------------------------------------------------------------

    def next_deadline(self) -> float | None:
        """The earliest time ``handle_timeout`` has work to do, or None."""
        deadlines = [tx.next_deadline() for tx in self._clients.values()]
        deadlines += [tx.next_deadline() for tx in self._servers.values()]
        deadlines += [a.deadline for a in self._invites_accepted_by_peer.values()]
        deadlines += [a.deadline for a in self._invites_we_accepted.values()]
        due = [d for d in deadlines if d is not None]
        return min(due) if due else None

    def handle_timeout(self, now: float) -> None:
        """Fire every timer due at ``now`` (RFC 3261 §17 Table 4)."""
        self._expire(now)

    # --- helpers for TUs ----------------------------------------------------------------------

    def new_branch(self) -> str:
        """A fresh RFC 3261 branch (§8.1.1.7 magic cookie)."""
        return MAGIC_COOKIE + self._id()

    def new_tag(self) -> str:
        """A fresh From/To tag (§19.3)."""
        return self._id()

    def new_call_id(self) -> str:
        """A fresh Call-ID (§8.1.1.4)."""
        return self._id()

    def make_cancel(self, invite: Request) -> Request:
        """RFC 3261 §9.1: the CANCEL for ``invite`` (same top Via, so the same branch)."""
        if invite.method != "INVITE":
            raise LocalProtocolError(f"only INVITE can be cancelled, not {invite.method}")
        headers = [("Via", str(invite.top_via)), ("Max-Forwards", "70")]
        headers.extend(("Route", route) for route in invite.headers.get_all("Route"))
        headers.append(("From", invite.headers.get("From") or str(invite.from_)))
        headers.append(("To", invite.headers.get("To") or str(invite.to)))
        headers.append(("Call-ID", invite.call_id))
        headers.append(("CSeq", f"{invite.cseq.seq} CANCEL"))
        headers.append(("Content-Length", "0"))
        return Request("CANCEL", invite.uri, Headers(headers))

    def open_transactions(self) -> int:
        """How many client and server transactions are not yet terminated."""
        return len(self._clients) + len(self._servers)

    def __repr__(self) -> str:
        return f"<Agent transactions={self.open_transactions()} events={len(self._events)}>"

    # --- internals ----------------------------------------------------------------------------

    @staticmethod
    def _check(msg: Request | Response) -> None:
        """Touch the headers transactions need; RFC 3261 §8.1.1 and §8.2.2 sanity."""
        via, cseq = msg.top_via, msg.cseq
        _ = msg.call_id, msg.from_, msg.to
        if isinstance(msg, Request):
            if not (via.branch or "").startswith(MAGIC_COOKIE):
                raise RemoteProtocolError("request without an RFC 3261 branch (§8.1.1.7)", 400)
            if cseq.method != msg.method:
                raise RemoteProtocolError("CSeq method differs from the request method", 400)

    def _reject(self, text: str, error: str, hint: int, msg: Request | Response | None) -> None:
        logger.debug("rejected frame: %s", error)
        self._events.append(MessageRejected(error, text))
        status = hint if 400 <= hint < 700 else 400
        response: Response | None = None
        if isinstance(msg, Request) and msg.method != "ACK":
            try:
                response = make_response(
                    msg, status, to_tag=self.new_tag(), headers=[("Warning", warning_value(error))]
                )
            except RemoteProtocolError:
                response = None
        if response is None and not isinstance(msg, Response):
            response = salvage_error_response(text, status, self.new_tag(), error)
        if response is not None:
            self._outbox.append(self._frame(response))

    def _receive_response(self, response: Response, text: str, now: float) -> None:
        key = client_key(response)
        tx = self._clients.get(key)
        if tx is None:
            accepted = self._invites_accepted_by_peer.get(key)
            if accepted is not None and response.is_success:
                tag = response.to.tag or ""
                again = tag in accepted.to_tags
                accepted.to_tags.add(tag)
                self._events.append(ResponseReceived(response, accepted.request, again))
                return
            error = f"{response.status} response matches no transaction {key}"
            logger.debug("dropped stray response: %s", error)
            self._events.append(MessageRejected(error, text))
            return
        actions = tx.receive_response(response, now)
        if Action.SEND_ACK in actions:
            self._outbox.append(self._frame(tx.make_ack(response)))
        if Action.PASS_UP in actions:
            self._events.append(ResponseReceived(response, tx.request))
            if tx.is_invite and response.is_success:
                deadline = now + 64 * self.t1  # RFC 6026 Timer M, 64*T1
                tags = {response.to.tag or ""}
                self._invites_accepted_by_peer[key] = _Accepted(tx.request, deadline, to_tags=tags)
        if tx.is_terminated:
            del self._clients[key]

    def _receive_request(self, request: Request, now: float) -> None:
        key = server_key(request)
        tx = self._servers.get(key)
        if request.method == "ACK":
            if tx is None:  # ACK for a 2xx: its own transaction (§17.1.1.3), for the TU
                self._events.append(AckReceived(request))
            else:  # ACK for our non-2xx final: absorbed (§17.2.1)
                tx.receive_request(request, now)
            return
        if tx is not None:
            self._resend_if(tx.receive_request(request, now), tx.last_response)
            return
        if request.method == "CANCEL":
            self._receive_cancel(request, key, now)
            return
        accepted = self._invites_we_accepted.get(key)
        if accepted is not None:  # INVITE retransmission after our 2xx
            self._resend_if((Action.RESEND,), accepted.response)
            return
        self._servers[key] = ServerTransaction(request, now, t1=self.t1)
        self._events.append(RequestReceived(request))

    def _receive_cancel(self, cancel: Request, key: ServerKey, now: float) -> None:
        """RFC 3261 §9.2: answer the CANCEL itself; tell the TU when the INVITE is pending."""
        invite_key = (key[0], key[1], "INVITE")
        invite_tx = self._servers.get(invite_key)
        known = invite_tx is not None or invite_key in self._invites_we_accepted
        tx = ServerTransaction(cancel, now, t1=self.t1)
        self._servers[key] = tx
        to_tag = None
        if cancel.to.tag is None:  # §9.2: the To tag of the INVITE's responses, if any
            last = invite_tx.last_response if invite_tx is not None else None
            to_tag = (last.to.tag if last is not None else None) or self.new_tag()
        response = make_response(cancel, 200 if known else 481, to_tag=to_tag)
        tx.send_response(response, now)
        self._outbox.append(self._frame(response))
        if invite_tx is not None and not invite_tx.has_final_response:
            self._events.append(CancelReceived(cancel, invite_tx.request))

    def _resend_if(self, actions: tuple[Action, ...], response: Response | None) -> None:
        if Action.RESEND in actions and response is not None:
            self._outbox.append(self._frame(response))

    def _expire(self, now: float) -> None:
        for ckey, ctx in list(self._clients.items()):
            if Action.TIMEOUT in ctx.handle_timeout(now):
                self._events.append(TransactionTimeout(ctx.request))
            if ctx.is_terminated:
                del self._clients[ckey]
        for skey, stx in list(self._servers.items()):
            stx.handle_timeout(now)
            if stx.is_terminated:
                del self._servers[skey]
        for akey in [k for k, a in self._invites_accepted_by_peer.items() if a.deadline <= now]:
            del self._invites_accepted_by_peer[akey]
        for bkey in [k for k, a in self._invites_we_accepted.items() if a.deadline <= now]:
            del self._invites_we_accepted[bkey]

    @staticmethod
    def _frame(msg: Request | Response) -> str:
        try:
            return serialize(msg).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise LocalProtocolError("SIP over WebSocket needs UTF-8 text frames") from exc
