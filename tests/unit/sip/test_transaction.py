"""Transaction machines: the tables against RFC 3261 Figures 5-8, missing pairs, timers, keys."""

from __future__ import annotations

import itertools

import pytest

from xctest.errors import LocalProtocolError
from xctest.sip.message import Request, Response, make_response, parse_message
from xctest.sip.transaction import (
    ENTRY_TIMERS,
    TABLES,
    Action,
    ClientTransaction,
    ServerTransaction,
    TransactionInput,
    TransactionKind,
    TransactionState,
    client_key,
    make_non2xx_ack,
    response_input,
    server_key,
)

S = TransactionState
In = TransactionInput
K = TransactionKind


def request(method: str = "INVITE", branch: str = "z9hG4bKabc", seq: int = 1) -> Request:
    text = (
        f"{method} sip:1002@xivo SIP/2.0\r\n"
        f"Via: SIP/2.0/WS df7jal23ls0d.invalid;branch={branch};rport\r\n"
        "Max-Forwards: 70\r\n"
        "Route: <sip:proxy.example;lr>\r\n"
        "From: <sip:1001@xivo>;tag=ua1\r\n"
        "To: <sip:1002@xivo>\r\n"
        "Call-ID: call-1\r\n"
        f"CSeq: {seq} {method}\r\n"
        "Contact: <sip:1001@df7jal23ls0d.invalid;transport=ws>\r\n"
        "Content-Length: 0\r\n\r\n"
    )
    msg = parse_message(text)
    assert isinstance(msg, Request)
    return msg


def response(req: Request, status: int) -> Response:
    return make_response(req, status, to_tag="pbx1" if status > 100 else None)


# --- the tables are the RFC figures ------------------------------------------------------------

# Every edge drawn in RFC 3261 Figures 5-8 for a reliable transport (Timers A, E, G never run;
# "Transport Err." edges belong to the shell, which closes the connection).
RFC_EDGES: dict[TransactionKind, set[tuple[S, In, S]]] = {
    K.CLIENT_INVITE: {  # Figure 5
        (S.CALLING, In.PROVISIONAL, S.PROCEEDING),
        (S.CALLING, In.SUCCESS, S.TERMINATED),
        (S.CALLING, In.FAILURE, S.COMPLETED),
        (S.CALLING, In.TIMER_B, S.TERMINATED),
        (S.PROCEEDING, In.PROVISIONAL, S.PROCEEDING),
        (S.PROCEEDING, In.SUCCESS, S.TERMINATED),
        (S.PROCEEDING, In.FAILURE, S.COMPLETED),
        (S.COMPLETED, In.FAILURE, S.COMPLETED),
        (S.COMPLETED, In.TIMER_D, S.TERMINATED),
    },
    K.CLIENT_NON_INVITE: {  # Figure 6
        (S.TRYING, In.PROVISIONAL, S.PROCEEDING),
        (S.TRYING, In.SUCCESS, S.COMPLETED),
        (S.TRYING, In.FAILURE, S.COMPLETED),
        (S.TRYING, In.TIMER_F, S.TERMINATED),
        (S.PROCEEDING, In.PROVISIONAL, S.PROCEEDING),
        (S.PROCEEDING, In.SUCCESS, S.COMPLETED),
        (S.PROCEEDING, In.FAILURE, S.COMPLETED),
        (S.PROCEEDING, In.TIMER_F, S.TERMINATED),
        (S.COMPLETED, In.TIMER_K, S.TERMINATED),
    },
    K.SERVER_INVITE: {  # Figure 7
        (S.PROCEEDING, In.REQUEST, S.PROCEEDING),
        (S.PROCEEDING, In.PROVISIONAL, S.PROCEEDING),
        (S.PROCEEDING, In.SUCCESS, S.TERMINATED),
        (S.PROCEEDING, In.FAILURE, S.COMPLETED),
        (S.COMPLETED, In.REQUEST, S.COMPLETED),
        (S.COMPLETED, In.ACK, S.CONFIRMED),
        (S.COMPLETED, In.TIMER_H, S.TERMINATED),
        (S.CONFIRMED, In.ACK, S.CONFIRMED),
        (S.CONFIRMED, In.TIMER_I, S.TERMINATED),
    },
    K.SERVER_NON_INVITE: {  # Figure 8
        (S.TRYING, In.REQUEST, S.TRYING),
        (S.TRYING, In.PROVISIONAL, S.PROCEEDING),
        (S.TRYING, In.SUCCESS, S.COMPLETED),
        (S.TRYING, In.FAILURE, S.COMPLETED),
        (S.PROCEEDING, In.REQUEST, S.PROCEEDING),
        (S.PROCEEDING, In.PROVISIONAL, S.PROCEEDING),
        (S.PROCEEDING, In.SUCCESS, S.COMPLETED),
        (S.PROCEEDING, In.FAILURE, S.COMPLETED),
        (S.COMPLETED, In.REQUEST, S.COMPLETED),
        (S.COMPLETED, In.TIMER_J, S.TERMINATED),
    },
}


@pytest.mark.parametrize("kind", list(TransactionKind))
def test_table_is_exactly_the_rfc_figure(kind: TransactionKind) -> None:
    edges = {(state, event, nxt) for (state, event), (nxt, _) in TABLES[kind].items()}
    assert edges == RFC_EDGES[kind]


@pytest.mark.parametrize("kind", list(TransactionKind))
def test_terminated_is_a_sink(kind: TransactionKind) -> None:
    assert not [key for key in TABLES[kind] if key[0] is S.TERMINATED]


def test_actions_of_interest() -> None:
    assert TABLES[K.CLIENT_INVITE][(S.CALLING, In.FAILURE)][1] == (Action.SEND_ACK, Action.PASS_UP)
    assert TABLES[K.CLIENT_INVITE][(S.COMPLETED, In.FAILURE)][1] == (Action.SEND_ACK,)
    assert TABLES[K.CLIENT_INVITE][(S.CALLING, In.TIMER_B)][1] == (Action.TIMEOUT,)
    assert TABLES[K.CLIENT_NON_INVITE][(S.PROCEEDING, In.TIMER_F)][1] == (Action.TIMEOUT,)
    assert TABLES[K.SERVER_INVITE][(S.COMPLETED, In.REQUEST)][1] == (Action.RESEND,)
    assert TABLES[K.SERVER_INVITE][(S.COMPLETED, In.ACK)][1] == ()
    assert TABLES[K.SERVER_NON_INVITE][(S.TRYING, In.REQUEST)][1] == ()


def test_timers_follow_table_4_for_a_reliable_transport() -> None:
    durations = {timer: t1s for (timer, t1s) in ENTRY_TIMERS.values()}
    assert durations == {
        In.TIMER_B: 64,
        In.TIMER_F: 64,
        In.TIMER_H: 64,
        In.TIMER_D: 0,
        In.TIMER_I: 0,
        In.TIMER_J: 0,
        In.TIMER_K: 0,
    }
    for (kind, state), (timer, _) in ENTRY_TIMERS.items():
        assert (state, timer) in TABLES[kind]


def _client(kind: TransactionKind) -> ClientTransaction:
    method = "INVITE" if kind is K.CLIENT_INVITE else "OPTIONS"
    return ClientTransaction(request(method), 0.0)


def _server(kind: TransactionKind) -> ServerTransaction:
    method = "INVITE" if kind is K.SERVER_INVITE else "OPTIONS"
    return ServerTransaction(request(method), 0.0)


STATUS = {In.PROVISIONAL: 180, In.SUCCESS: 200, In.FAILURE: 486}
CLIENT_KINDS = (K.CLIENT_INVITE, K.CLIENT_NON_INVITE)
SERVER_KINDS = (K.SERVER_INVITE, K.SERVER_NON_INVITE)


@pytest.mark.parametrize(
    ("kind", "state", "event"),
    [
        (kind, state, event)
        for kind in CLIENT_KINDS
        for state, event in itertools.product(S, STATUS)
        if (state, event) not in TABLES[kind]
    ],
)
def test_unexpected_response_is_absorbed(kind: K, state: S, event: In) -> None:
    tx = _client(kind)
    tx.state = state
    assert tx.receive_response(response(tx.request, STATUS[event]), 1.0) == ()
    assert tx.state is state


@pytest.mark.parametrize(
    ("kind", "state", "event"),
    [
        (kind, state, event)
        for kind in SERVER_KINDS
        for state, event in itertools.product(S, STATUS)
        if (state, event) not in TABLES[kind]
    ],
)
def test_sending_a_response_the_table_forbids_raises(kind: K, state: S, event: In) -> None:
    tx = _server(kind)
    tx.state = state
    with pytest.raises(LocalProtocolError, match="cannot send"):
        tx.send_response(response(tx.request, STATUS[event]), 1.0)
    assert tx.state is state


def _unexpected_requests() -> list[tuple[K, S, str]]:
    cases = []
    for kind, methods in (
        (K.SERVER_INVITE, ("INVITE", "ACK")),
        (K.SERVER_NON_INVITE, ("OPTIONS",)),
    ):
        for state, method in itertools.product(S, methods):
            event = In.ACK if method == "ACK" else In.REQUEST
            if (state, event) not in TABLES[kind]:
                cases.append((kind, state, method))
    return cases


@pytest.mark.parametrize(("kind", "state", "method"), _unexpected_requests())
def test_unexpected_request_is_absorbed(kind: K, state: S, method: str) -> None:
    tx = _server(kind)
    tx.state = state
    assert tx.receive_request(request(method), 1.0) == ()
    assert tx.state is state


def test_response_input_classes() -> None:
    assert [response_input(s) for s in (100, 199, 200, 299, 300, 487, 699)] == [
        In.PROVISIONAL,
        In.PROVISIONAL,
        In.SUCCESS,
        In.SUCCESS,
        In.FAILURE,
        In.FAILURE,
        In.FAILURE,
    ]


# --- walking the machines ----------------------------------------------------------------------


def state_of(tx: ClientTransaction | ServerTransaction) -> TransactionState:
    return tx.state  # a call, so mypy does not keep a narrowed state across transitions


def test_client_invite_timer_b_only_while_calling() -> None:
    tx = ClientTransaction(request(), 10.0, t1=0.5)
    assert tx.state is S.CALLING and tx.next_deadline() == 42.0
    assert tx.handle_timeout(41.9) == ()
    assert tx.receive_response(response(tx.request, 180), 11.0) == (Action.PASS_UP,)
    assert state_of(tx) is S.PROCEEDING and tx.next_deadline() is None
    assert tx.handle_timeout(1000.0) == ()


def test_client_invite_failure_then_timer_d_zero() -> None:
    tx = ClientTransaction(request(), 0.0)
    actions = tx.receive_response(response(tx.request, 486), 3.0)
    assert actions == (Action.SEND_ACK, Action.PASS_UP)
    assert tx.state is S.COMPLETED and tx.next_deadline() == 3.0
    assert tx.handle_timeout(3.0) == ()
    assert tx.is_terminated


def test_client_non_invite_timer_f_survives_proceeding() -> None:
    tx = ClientTransaction(request("REGISTER"), 0.0, t1=0.25)
    assert tx.next_deadline() == 16.0
    tx.receive_response(response(tx.request, 100), 1.0)
    assert tx.state is S.PROCEEDING and tx.next_deadline() == 16.0
    assert tx.handle_timeout(16.0) == (Action.TIMEOUT,)
    assert tx.is_terminated


def test_server_invite_timer_h_and_ack() -> None:
    tx = ServerTransaction(request(), 0.0)
    assert tx.next_deadline() is None
    assert tx.send_response(response(tx.request, 180), 1.0) == (Action.SEND,)
    assert tx.receive_request(request(), 1.5) == (Action.RESEND,)
    assert tx.send_response(response(tx.request, 603), 2.0) == (Action.SEND,)
    assert tx.has_final_response and tx.next_deadline() == 34.0
    assert tx.receive_request(request("ACK"), 3.0) == ()
    assert tx.state is S.CONFIRMED and tx.next_deadline() == 3.0
    tx.handle_timeout(3.0)
    assert tx.is_terminated


def test_server_invite_timer_h_fires_without_ack() -> None:
    tx = ServerTransaction(request(), 0.0)
    tx.send_response(response(tx.request, 486), 0.0)
    tx.handle_timeout(31.99)
    assert tx.state is S.COMPLETED
    tx.handle_timeout(32.0)
    assert tx.is_terminated


def test_server_response_must_match_the_method() -> None:
    tx = ServerTransaction(request(), 0.0)
    with pytest.raises(LocalProtocolError, match="CSeq method"):
        tx.send_response(response(request("BYE"), 200), 0.0)


def test_ack_creates_no_transaction() -> None:
    with pytest.raises(LocalProtocolError):
        ClientTransaction(request("ACK"), 0.0)
    with pytest.raises(LocalProtocolError):
        ServerTransaction(request("ACK"), 0.0)


# --- keys and the non-2xx ACK ------------------------------------------------------------------


def test_keys() -> None:
    invite = request("INVITE", "z9hG4bKxyz")
    assert client_key(invite) == ("z9hG4bKxyz", "INVITE")
    assert client_key(response(invite, 200)) == ("z9hG4bKxyz", "INVITE")
    assert client_key(request("CANCEL", "z9hG4bKxyz")) == ("z9hG4bKxyz", "CANCEL")
    assert server_key(invite) == ("z9hG4bKxyz", "df7jal23ls0d.invalid", "INVITE")
    assert server_key(request("ACK", "z9hG4bKxyz")) == server_key(invite)
    assert server_key(response(invite, 180)) == server_key(invite)
    assert server_key(request("CANCEL", "z9hG4bKxyz"))[2] == "CANCEL"


def test_non2xx_ack_follows_17_1_1_3() -> None:
    invite = request("INVITE", "z9hG4bKxyz", seq=7)
    busy = response(invite, 486)
    ack = make_non2xx_ack(invite, busy)
    assert ack.method == "ACK"
    assert ack.uri == invite.uri
    assert ack.call_id == invite.call_id
    assert ack.cseq.seq == 7 and ack.cseq.method == "ACK"
    assert [str(v) for v in ack.vias] == [str(invite.top_via)]
    assert ack.from_ == invite.from_
    assert ack.to.tag == "pbx1"
    assert ack.headers.get_all("Route") == invite.headers.get_all("Route")
    assert ack.body == b""


def test_repr() -> None:
    tx = ClientTransaction(request("INVITE", "z9hG4bKr"), 0.0)
    assert repr(tx) == "<ClientTransaction INVITE branch=z9hG4bKr CALLING>"


def test_transaction_keys() -> None:
    req = request("INVITE", "z9hG4bKk")
    assert ClientTransaction(req, 0.0).key == client_key(req)
    assert ServerTransaction(req, 0.0).key == server_key(req)
