"""RFC 3261 §17 transactions: INVITE and non-INVITE, client and server, as transition tables.

Role-agnostic (a phone and the PBX simulator use the same machines) and sans-IO: no clock, no
transport.  Time comes in as ``now``; actions come out as ``Action`` values for the agent.
"""

from __future__ import annotations

from enum import Enum

from xctest.errors import LocalProtocolError
from xctest.sip.headers import Headers
from xctest.sip.message import Request, Response

__all__ = [
    "ENTRY_TIMERS",
    "MAGIC_COOKIE",
    "TABLES",
    "Action",
    "ClientKey",
    "ClientTransaction",
    "ServerKey",
    "ServerTransaction",
    "Transaction",
    "TransactionInput",
    "TransactionKind",
    "TransactionState",
    "client_key",
    "make_non2xx_ack",
    "response_input",
    "server_key",
]

# Theory of operation
# -------------------
#
# A transaction is one request plus every response to it (RFC 3261 §17).  There are four
# machines, one per figure of the RFC:
#
#   client INVITE       Figure 5   CALLING -> PROCEEDING -> COMPLETED -> TERMINATED
#   client non-INVITE   Figure 6   TRYING  -> PROCEEDING -> COMPLETED -> TERMINATED
#   server INVITE       Figure 7   PROCEEDING -> COMPLETED -> CONFIRMED -> TERMINATED
#   server non-INVITE   Figure 8   TRYING  -> PROCEEDING -> COMPLETED -> TERMINATED
#
# Each machine is a table {(state, input): (next state, actions)}.  Inputs are the class of a
# response (received by a client transaction, sent by a server transaction), a request
# retransmission or ACK (server only), or a timer.  "Client" and "server" name the role of the
# transaction, never the role of the program: a phone answering an INVITE runs a server
# transaction exactly like the simulator does.
#
# The transport is always WebSocket, which is reliable (RFC 7118 §5), so the retransmission
# timers A, E and G never run and timers D, I, J and K are zero (Table 4).  Timers B, F and H
# are 64*T1.  A timer is armed when its state is entered and stays armed while the table still
# has an edge for it in the current state (Timer F spans TRYING and PROCEEDING); the
# transaction exposes one deadline, and ``handle_timeout(now)`` fires it when ``now`` reaches it.
#
# Pairs missing from a table:
#   * a response the table does not expect (a 1xx after a final, a 2xx to a COMPLETED client
#     INVITE ...) is ignored: the response is absorbed with no action;
#   * a request retransmission or ACK the table does not expect is ignored the same way;
#   * a response the TU tries to send in a state with no edge for it (a second final
#     response) raises LocalProtocolError: that is our bug, not the peer's;
#   * a timer input is only ever the armed one, so it cannot miss.
#
# 2xx responses to INVITE end both INVITE machines at once (Figures 5 and 7): retransmissions
# of the 2xx and its ACK belong to the UA core (RFC 3261 §13.3.1.4, §13.2.2.4), which the agent
# keeps for 64*T1 next to the transactions.


class TransactionState(Enum):
    """States of RFC 3261 Figures 5-8."""

    CALLING = "Calling"
    TRYING = "Trying"
    PROCEEDING = "Proceeding"
    COMPLETED = "Completed"
    CONFIRMED = "Confirmed"
    TERMINATED = "Terminated"


class TransactionInput(Enum):
    """What can happen to a transaction."""

    PROVISIONAL = "1xx"
    SUCCESS = "2xx"
    FAILURE = "300-699"
    REQUEST = "request retransmission"
    ACK = "ACK"
    TIMER_B = "Timer B"
    TIMER_D = "Timer D"
    TIMER_F = "Timer F"
    TIMER_H = "Timer H"
    TIMER_I = "Timer I"
    TIMER_J = "Timer J"
    TIMER_K = "Timer K"


class Action(Enum):
    """What the agent must do after a transition."""

    PASS_UP = "pass the response to the TU"
    SEND = "send the TU's response"
    RESEND = "resend the last response"
    SEND_ACK = "send ACK for a non-2xx final response"
    TIMEOUT = "tell the TU the transaction timed out"


class TransactionKind(Enum):
    """The four machines."""

    CLIENT_INVITE = "client INVITE"
    CLIENT_NON_INVITE = "client non-INVITE"
    SERVER_INVITE = "server INVITE"
    SERVER_NON_INVITE = "server non-INVITE"


_S = TransactionState
_In = TransactionInput
_A = Action
Table = dict[tuple[TransactionState, TransactionInput], tuple[TransactionState, tuple[Action, ...]]]

# RFC 3261 §17.1.1, Figure 5 (reliable transport: no Timer A).
CLIENT_INVITE_TABLE: Table = {
    (_S.CALLING, _In.PROVISIONAL): (_S.PROCEEDING, (_A.PASS_UP,)),
    (_S.CALLING, _In.SUCCESS): (_S.TERMINATED, (_A.PASS_UP,)),
    (_S.CALLING, _In.FAILURE): (_S.COMPLETED, (_A.SEND_ACK, _A.PASS_UP)),
    (_S.CALLING, _In.TIMER_B): (_S.TERMINATED, (_A.TIMEOUT,)),
    (_S.PROCEEDING, _In.PROVISIONAL): (_S.PROCEEDING, (_A.PASS_UP,)),
    (_S.PROCEEDING, _In.SUCCESS): (_S.TERMINATED, (_A.PASS_UP,)),
    (_S.PROCEEDING, _In.FAILURE): (_S.COMPLETED, (_A.SEND_ACK, _A.PASS_UP)),
    (_S.COMPLETED, _In.FAILURE): (_S.COMPLETED, (_A.SEND_ACK,)),
    (_S.COMPLETED, _In.TIMER_D): (_S.TERMINATED, ()),
}

# RFC 3261 §17.1.2, Figure 6 (reliable transport: no Timer E).
CLIENT_NON_INVITE_TABLE: Table = {
    (_S.TRYING, _In.PROVISIONAL): (_S.PROCEEDING, (_A.PASS_UP,)),
    (_S.TRYING, _In.SUCCESS): (_S.COMPLETED, (_A.PASS_UP,)),
    (_S.TRYING, _In.FAILURE): (_S.COMPLETED, (_A.PASS_UP,)),
    (_S.TRYING, _In.TIMER_F): (_S.TERMINATED, (_A.TIMEOUT,)),
    (_S.PROCEEDING, _In.PROVISIONAL): (_S.PROCEEDING, (_A.PASS_UP,)),
    (_S.PROCEEDING, _In.SUCCESS): (_S.COMPLETED, (_A.PASS_UP,)),
    (_S.PROCEEDING, _In.FAILURE): (_S.COMPLETED, (_A.PASS_UP,)),
    (_S.PROCEEDING, _In.TIMER_F): (_S.TERMINATED, (_A.TIMEOUT,)),
    (_S.COMPLETED, _In.TIMER_K): (_S.TERMINATED, ()),
}

# RFC 3261 §17.2.1, Figure 7 (reliable transport: no Timer G).
SERVER_INVITE_TABLE: Table = {
    (_S.PROCEEDING, _In.REQUEST): (_S.PROCEEDING, (_A.RESEND,)),
    (_S.PROCEEDING, _In.PROVISIONAL): (_S.PROCEEDING, (_A.SEND,)),
    (_S.PROCEEDING, _In.SUCCESS): (_S.TERMINATED, (_A.SEND,)),
    (_S.PROCEEDING, _In.FAILURE): (_S.COMPLETED, (_A.SEND,)),
    (_S.COMPLETED, _In.REQUEST): (_S.COMPLETED, (_A.RESEND,)),
    (_S.COMPLETED, _In.ACK): (_S.CONFIRMED, ()),
    (_S.COMPLETED, _In.TIMER_H): (_S.TERMINATED, ()),
    (_S.CONFIRMED, _In.ACK): (_S.CONFIRMED, ()),
    (_S.CONFIRMED, _In.TIMER_I): (_S.TERMINATED, ()),
}

# RFC 3261 §17.2.2, Figure 8.
SERVER_NON_INVITE_TABLE: Table = {
    (_S.TRYING, _In.REQUEST): (_S.TRYING, ()),
    (_S.TRYING, _In.PROVISIONAL): (_S.PROCEEDING, (_A.SEND,)),
    (_S.TRYING, _In.SUCCESS): (_S.COMPLETED, (_A.SEND,)),
    (_S.TRYING, _In.FAILURE): (_S.COMPLETED, (_A.SEND,)),
    (_S.PROCEEDING, _In.REQUEST): (_S.PROCEEDING, (_A.RESEND,)),
    (_S.PROCEEDING, _In.PROVISIONAL): (_S.PROCEEDING, (_A.SEND,)),
    (_S.PROCEEDING, _In.SUCCESS): (_S.COMPLETED, (_A.SEND,)),
    (_S.PROCEEDING, _In.FAILURE): (_S.COMPLETED, (_A.SEND,)),
    (_S.COMPLETED, _In.REQUEST): (_S.COMPLETED, (_A.RESEND,)),
    (_S.COMPLETED, _In.TIMER_J): (_S.TERMINATED, ()),
}

TABLES: dict[TransactionKind, Table] = {
    TransactionKind.CLIENT_INVITE: CLIENT_INVITE_TABLE,
    TransactionKind.CLIENT_NON_INVITE: CLIENT_NON_INVITE_TABLE,
    TransactionKind.SERVER_INVITE: SERVER_INVITE_TABLE,
    TransactionKind.SERVER_NON_INVITE: SERVER_NON_INVITE_TABLE,
}

INITIAL_STATES: dict[TransactionKind, TransactionState] = {
    TransactionKind.CLIENT_INVITE: _S.CALLING,
    TransactionKind.CLIENT_NON_INVITE: _S.TRYING,
    TransactionKind.SERVER_INVITE: _S.PROCEEDING,
    TransactionKind.SERVER_NON_INVITE: _S.TRYING,
}

# RFC 3261 §17, Table 4: the timer armed on entering a state, in units of T1 (reliable
# transport values: B, F, H = 64*T1; D, I, J, K = 0).
ENTRY_TIMERS: dict[tuple[TransactionKind, TransactionState], tuple[TransactionInput, int]] = {
    (TransactionKind.CLIENT_INVITE, _S.CALLING): (_In.TIMER_B, 64),  # §17.1.1.2
    (TransactionKind.CLIENT_INVITE, _S.COMPLETED): (_In.TIMER_D, 0),  # §17.1.1.2
    (TransactionKind.CLIENT_NON_INVITE, _S.TRYING): (_In.TIMER_F, 64),  # §17.1.2.2
    (TransactionKind.CLIENT_NON_INVITE, _S.COMPLETED): (_In.TIMER_K, 0),  # §17.1.2.2
    (TransactionKind.SERVER_INVITE, _S.COMPLETED): (_In.TIMER_H, 64),  # §17.2.1
    (TransactionKind.SERVER_INVITE, _S.CONFIRMED): (_In.TIMER_I, 0),  # §17.2.1
    (TransactionKind.SERVER_NON_INVITE, _S.COMPLETED): (_In.TIMER_J, 0),  # §17.2.2
}

MAGIC_COOKIE = "z9hG4bK"  # RFC 3261 §8.1.1.7

ClientKey = tuple[str, str]
ServerKey = tuple[str, str, str]


def response_input(status: int) -> TransactionInput:
    """Map a status code to its table input."""
    if status < 200:
        return _In.PROVISIONAL
    if status < 300:
        return _In.SUCCESS
    return _In.FAILURE


def client_key(msg: Request | Response) -> ClientKey:
    """RFC 3261 §17.1.3: top Via branch and CSeq method."""
    return (msg.top_via.branch or "", msg.cseq.method)


def server_key(msg: Request | Response) -> ServerKey:
    """RFC 3261 §17.2.3: top Via branch, sent-by, and method (ACK matches INVITE).

    Also accepts a response, whose copied top Via and CSeq give its transaction's key.
    """
    via = msg.top_via
    method = msg.cseq.method if isinstance(msg, Response) else msg.method
    if method == "ACK":
        method = "INVITE"
    return (via.branch or "", via.sent_by.lower(), method)


def make_non2xx_ack(invite: Request, response: Response) -> Request:
    """RFC 3261 §17.1.1.3: the ACK a client INVITE transaction sends for a 300-699."""
    headers = [("Via", str(invite.top_via))]
    headers.append(("Max-Forwards", "70"))
    headers.extend(("Route", route) for route in invite.headers.get_all("Route"))
    headers.append(("From", invite.headers.get("From") or str(invite.from_)))
    headers.append(("To", response.headers.get("To") or str(response.to)))
    headers.append(("Call-ID", invite.call_id))
    headers.append(("CSeq", f"{invite.cseq.seq} ACK"))
    headers.append(("Content-Length", "0"))
    return Request("ACK", invite.uri, Headers(headers))


class Transaction:
    """One of the four machines; ``ClientTransaction`` and ``ServerTransaction`` pick which."""

    def __init__(self, kind: TransactionKind, request: Request, now: float, t1: float) -> None:
        self.kind = kind
        self.request = request
        self.t1 = t1
        self.state = INITIAL_STATES[kind]
        self.last_response: Response | None = None
        self._timer: TransactionInput | None = None
        self._deadline: float | None = None
        self._arm(now)

    @property
    def is_invite(self) -> bool:
        return self.kind in (TransactionKind.CLIENT_INVITE, TransactionKind.SERVER_INVITE)

    @property
    def is_terminated(self) -> bool:
        return self.state is _S.TERMINATED

    def next_deadline(self) -> float | None:
        """When the armed timer fires, or None."""
        return self._deadline

    def handle_timeout(self, now: float) -> tuple[Action, ...]:
        """Fire the armed timer if ``now`` has reached its deadline."""
        if self._timer is None or self._deadline is None or now < self._deadline:
            return ()
        return self._fire(self._timer, now)

    def _fire(self, event: TransactionInput, now: float) -> tuple[Action, ...]:
        edge = TABLES[self.kind].get((self.state, event))
        if edge is None:
            return ()
        old, (self.state, actions) = self.state, edge
        if self.state is not old:
            self._arm(now)
        return actions

    def _arm(self, now: float) -> None:
        entry = ENTRY_TIMERS.get((self.kind, self.state))
        if entry is not None:
            self._timer, self._deadline = entry[0], now + entry[1] * self.t1
        elif self._timer is not None and (self.state, self._timer) not in TABLES[self.kind]:
            self._timer = self._deadline = None

    def __repr__(self) -> str:
        name, branch = type(self).__name__, self.request.top_via.branch
        return f"<{name} {self.request.method} branch={branch} {self.state.name}>"


class ClientTransaction(Transaction):
    """RFC 3261 §17.1: the transaction for a request this side sends (Figures 5 and 6)."""

    def __init__(self, request: Request, now: float, *, t1: float = 0.5) -> None:
        if request.method == "ACK":
            raise LocalProtocolError("ACK does not create a client transaction (§17.1)")
        kind = (
            TransactionKind.CLIENT_INVITE
            if request.method == "INVITE"
            else TransactionKind.CLIENT_NON_INVITE
        )
        super().__init__(kind, request, now, t1)

    @property
    def key(self) -> ClientKey:
        return client_key(self.request)

    def receive_response(self, response: Response, now: float) -> tuple[Action, ...]:
        """Feed a matching response; unexpected ones are absorbed (no actions)."""
        actions = self._fire(response_input(response.status), now)
        if _A.PASS_UP in actions or _A.SEND_ACK in actions:
            self.last_response = response
        return actions

    def make_ack(self, response: Response) -> Request:
        """The §17.1.1.3 ACK for a non-2xx final response to this INVITE."""
        return make_non2xx_ack(self.request, response)


class ServerTransaction(Transaction):
    """RFC 3261 §17.2: the transaction for a request this side receives (Figures 7 and 8)."""

    def __init__(self, request: Request, now: float, *, t1: float = 0.5) -> None:
        if request.method == "ACK":
            raise LocalProtocolError("ACK does not create a server transaction (§17.2)")
        kind = (
            TransactionKind.SERVER_INVITE
            if request.method == "INVITE"
            else TransactionKind.SERVER_NON_INVITE
        )
        super().__init__(kind, request, now, t1)

    @property
    def key(self) -> ServerKey:
        return server_key(self.request)

    @property
    def has_final_response(self) -> bool:
        return self.last_response is not None and self.last_response.status >= 200

    def receive_request(self, request: Request, now: float) -> tuple[Action, ...]:
        """Feed a retransmission or (INVITE only) an ACK; unexpected ones are absorbed."""
        event = _In.ACK if request.method == "ACK" else _In.REQUEST
        return self._fire(event, now)

    def send_response(self, response: Response, now: float) -> tuple[Action, ...]:
        """Pass the TU's response; raises LocalProtocolError when the state forbids it."""
        if response.cseq.method != self.request.method:
            raise LocalProtocolError(
                f"response CSeq method {response.cseq.method} does not match "
                f"{self.request.method} transaction"
            )
        event = response_input(response.status)
        if (self.state, event) not in TABLES[self.kind]:
            raise LocalProtocolError(
                f"cannot send {response.status} in state {self.state.name} of {self!r}"
            )
        actions = self._fire(event, now)
        self.last_response = response
        return actions
