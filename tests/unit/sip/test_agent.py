"""Agent: a UA agent and a PBX agent wired in memory (h11's ConnectionPair), time set by hand."""

from __future__ import annotations

import itertools
from collections.abc import Callable

import pytest

from xctest.errors import LocalProtocolError
from xctest.sip.agent import Agent, salvage_error_response
from xctest.sip.auth import (
    Challenge,
    answer_challenge,
    parse_challenge,
    parse_credentials,
    verify_credentials,
)
from xctest.sip.dialog import Dialog, DialogState
from xctest.sip.events import (
    AckReceived,
    CancelReceived,
    Event,
    MessageRejected,
    RequestReceived,
    ResponseReceived,
    TransactionTimeout,
)
from xctest.sip.headers import Headers, Via
from xctest.sip.message import Request, Response, make_response, parse_message
from xctest.sip.uri import NameAddr, parse_name_addr, parse_uri

UA_HOST = "df7jal23ls0d.invalid"
UA_CONTACT = f"<sip:1001@{UA_HOST};transport=ws>"
PBX_CONTACT = "<sip:1002@127.0.0.1:5039;transport=ws>"
SDP = b"v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"


def counter(prefix: str) -> Callable[[], str]:
    numbers = itertools.count(1)
    return lambda: f"{prefix}{next(numbers)}"


class AgentPair:
    """Two agents joined by an in-memory websocket; every frame either produces is delivered."""

    def __init__(self, t1: float = 0.5) -> None:
        self.ua = Agent(t1=t1, id_factory=counter("ua"))
        self.pbx = Agent(t1=t1, id_factory=counter("pbx"))
        self.now = 0.0
        self.wire: list[tuple[str, str]] = []

    def peer(self, agent: Agent) -> Agent:
        return self.pbx if agent is self.ua else self.ua

    def send(self, sender: Agent, msg: Request | Response) -> str:
        """``sender`` sends ``msg``; the peer receives it and all automatic frames bounce."""
        if isinstance(msg, Request):
            frame = sender.send_request(msg, self.now)
        else:
            frame = sender.send_response(msg, self.now)
        self.deliver(sender, frame)
        return frame

    def deliver(self, sender: Agent, frame: str) -> None:
        self.wire.append(("ua" if sender is self.ua else "pbx", frame))
        self.peer(sender).receive(frame, self.now)
        self.pump()

    def pump(self) -> None:
        moved = True
        while moved:
            moved = False
            for agent in (self.ua, self.pbx):
                for frame in agent.frames_to_send():
                    moved = True
                    self.wire.append(("ua" if agent is self.ua else "pbx", frame))
                    self.peer(agent).receive(frame, self.now)

    @staticmethod
    def events(agent: Agent) -> list[Event]:
        out = []
        while (event := agent.next_event()) is not None:
            out.append(event)
        return out


def via(agent: Agent) -> Via:
    return Via("WS", UA_HOST, None, (("branch", agent.new_branch()), ("rport", None)))


def new_request(agent: Agent, method: str, *, seq: int = 1, call_id: str | None = None) -> Request:
    uri = "sip:default" if method == "REGISTER" else "sip:1002@default"
    to = "<sip:1001@default>" if method == "REGISTER" else "<sip:1002@default>"
    headers = Headers(
        [
            ("Via", str(via(agent))),
            ("Max-Forwards", "70"),
            ("From", f"<sip:1001@default>;tag={agent.new_tag()}"),
            ("To", to),
            ("Call-ID", call_id or agent.new_call_id()),
            ("CSeq", f"{seq} {method}"),
            ("Contact", UA_CONTACT),
        ]
    )
    request = Request(method, parse_uri(uri), headers)
    return request.with_body(SDP, "application/sdp") if method == "INVITE" else request


def only(events: list[Event]) -> Event:
    assert len(events) == 1, events
    return events[0]


def responses(events: list[Event]) -> list[int]:
    return [e.response.status for e in events if isinstance(e, ResponseReceived)]


@pytest.fixture
def pair() -> AgentPair:
    return AgentPair()


def ring(pair: AgentPair) -> tuple[Request, Request]:
    """UA sends an INVITE; PBX answers 100 and 180.  Returns (sent, received) INVITE."""
    invite = new_request(pair.ua, "INVITE")
    pair.send(pair.ua, invite)
    received = only(pair.events(pair.pbx))
    assert isinstance(received, RequestReceived)
    pair.send(pair.pbx, make_response(received.request, 100))
    ringing = make_response(
        received.request, 180, to_tag="pbxtag", headers=[("Contact", PBX_CONTACT)]
    )
    pair.send(pair.pbx, ringing)
    assert responses(pair.events(pair.ua)) == [100, 180]
    return invite, received.request


# --- flows -------------------------------------------------------------------------------------


def test_register_challenge_then_ok(pair: AgentPair) -> None:
    register = new_request(pair.ua, "REGISTER")
    pair.send(pair.ua, register)
    received = only(pair.events(pair.pbx))
    assert isinstance(received, RequestReceived)
    assert received.request.top_via == register.top_via and received.request.method == "REGISTER"
    challenge = Challenge(realm="xivo", nonce="n0nce", qop=("auth",))
    pair.send(
        pair.pbx,
        make_response(register, 401, to_tag="r1", headers=[("WWW-Authenticate", str(challenge))]),
    )
    event = only(pair.events(pair.ua))
    assert isinstance(event, ResponseReceived) and event.request == register
    assert event.response.status == 401
    assert pair.ua.open_transactions() == 0

    offered = parse_challenge(event.response.headers.get("WWW-Authenticate") or "")
    creds = answer_challenge(
        offered,
        username="1001",
        password="secret",
        method="REGISTER",
        uri="sip:default",
        cnonce="c",
    )
    again = new_request(pair.ua, "REGISTER", seq=2, call_id=register.call_id)
    again = again.with_headers(again.headers.add("Authorization", str(creds)))
    pair.send(pair.ua, again)
    received = only(pair.events(pair.pbx))
    assert isinstance(received, RequestReceived)
    auth = parse_credentials(received.request.headers.get("Authorization") or "")
    assert verify_credentials(auth, password="secret", method="REGISTER")
    pair.send(pair.pbx, make_response(received.request, 200, headers=[("Contact", UA_CONTACT)]))
    event = only(pair.events(pair.ua))
    assert isinstance(event, ResponseReceived) and event.response.status == 200
    assert pair.ua.open_transactions() == pair.pbx.open_transactions() == 0


def test_call_answer_ack_bye(pair: AgentPair) -> None:
    invite, received = ring(pair)
    assert pair.ua.open_transactions() == pair.pbx.open_transactions() == 1
    ok = make_response(
        received,
        200,
        to_tag="pbxtag",
        headers=[("Contact", PBX_CONTACT)],
        body=SDP,
        content_type="application/sdp",
    )
    pair.send(pair.pbx, ok)
    pbx_dialog = Dialog.from_uas(received, "pbxtag", DialogState.CONFIRMED)
    answered = only(pair.events(pair.ua))
    assert isinstance(answered, ResponseReceived) and answered.response.status == 200
    assert not answered.retransmission
    ua_dialog = Dialog.from_uac(invite, answered.response)
    assert ua_dialog.remote_target == parse_name_addr(PBX_CONTACT).uri

    pair.send(pair.ua, ua_dialog.create_ack(invite, via=via(pair.ua)))
    ack = only(pair.events(pair.pbx))
    assert isinstance(ack, AckReceived) and pbx_dialog.matches(ack.request)
    assert pair.ua.open_transactions() == pair.pbx.open_transactions() == 0

    pair.now = 5.0
    pair.send(pair.ua, ua_dialog.create_request("BYE", via=via(pair.ua)))
    bye = only(pair.events(pair.pbx))
    assert isinstance(bye, RequestReceived) and bye.request.method == "BYE"
    assert pbx_dialog.receive_request(bye.request) is None
    pair.send(pair.pbx, make_response(bye.request, 200))
    assert responses(pair.events(pair.ua)) == [200]
    ua_dialog.terminate()
    pbx_dialog.terminate()
    assert pair.ua.open_transactions() == pair.pbx.open_transactions() == 0


def test_busy_is_acked_automatically_and_absorbed(pair: AgentPair) -> None:
    invite = new_request(pair.ua, "INVITE")
    pair.send(pair.ua, invite)
    received = only(pair.events(pair.pbx))
    assert isinstance(received, RequestReceived)
    pair.send(pair.pbx, make_response(received.request, 486, to_tag="busy"))
    assert responses(pair.events(pair.ua)) == [486]
    assert pair.events(pair.pbx) == []  # the ACK went to the server transaction only
    sender, ack_frame = pair.wire[-1]
    ack = parse_message(ack_frame)
    assert sender == "ua" and isinstance(ack, Request) and ack.method == "ACK"
    assert ack.top_via == invite.top_via and ack.to.tag == "busy"
    assert ack.cseq.seq == invite.cseq.seq
    assert pair.ua.open_transactions() == pair.pbx.open_transactions() == 0
    assert pair.ua.next_deadline() is None and pair.pbx.next_deadline() is None


def test_cancel_ringing_invite(pair: AgentPair) -> None:
    invite, received = ring(pair)
    cancel = pair.ua.make_cancel(invite)
    assert cancel.top_via == invite.top_via and cancel.cseq.method == "CANCEL"
    assert (cancel.uri, cancel.call_id, cancel.cseq.seq) == (invite.uri, invite.call_id, 1)
    pair.send(pair.ua, cancel)
    cancelled = only(pair.events(pair.pbx))
    assert isinstance(cancelled, CancelReceived) and cancelled.invite == received
    ok = only(pair.events(pair.ua))
    assert isinstance(ok, ResponseReceived) and ok.response.status == 200
    assert ok.request.method == "CANCEL" and ok.response.to.tag == "pbxtag"
    # the CANCEL's 200 did not complete the INVITE transaction (§17.1.3: branch AND method)
    assert pair.ua.open_transactions() == 1
    pair.send(pair.pbx, make_response(received, 487, to_tag="pbxtag"))
    event = only(pair.events(pair.ua))
    assert isinstance(event, ResponseReceived) and event.response.status == 487
    assert event.request == invite
    assert pair.events(pair.pbx) == []
    assert pair.ua.open_transactions() == pair.pbx.open_transactions() == 0


def test_cancel_after_final_is_200_without_event(pair: AgentPair) -> None:
    invite = new_request(pair.ua, "INVITE")
    pair.send(pair.ua, invite)
    (received,) = pair.events(pair.pbx)
    assert isinstance(received, RequestReceived)
    pair.pbx.send_response(make_response(received.request, 200, to_tag="t"), 0.0)
    pair.pbx.receive(bytes(pair.ua.make_cancel(invite)), 0.0)
    assert pair.events(pair.pbx) == []
    (answer,) = pair.pbx.frames_to_send()
    assert answer.startswith("SIP/2.0 200 OK")


def test_cancel_without_invite_is_481(pair: AgentPair) -> None:
    invite = new_request(pair.ua, "INVITE")
    pair.ua.send_request(invite, 0.0)  # never delivered
    pair.send(pair.ua, pair.ua.make_cancel(invite))
    assert pair.events(pair.pbx) == []
    event = only(pair.events(pair.ua))
    assert isinstance(event, ResponseReceived) and event.response.status == 481


def test_reinvite_in_dialog(pair: AgentPair) -> None:
    invite, received = ring(pair)
    pair.send(
        pair.pbx, make_response(received, 200, to_tag="pbxtag", headers=[("Contact", PBX_CONTACT)])
    )
    (answered,) = pair.events(pair.ua)
    assert isinstance(answered, ResponseReceived)
    ua_dialog = Dialog.from_uac(invite, answered.response)
    pbx_dialog = Dialog.from_uas(received, "pbxtag", DialogState.CONFIRMED)
    pair.send(pair.ua, ua_dialog.create_ack(invite, via=via(pair.ua)))
    pair.events(pair.pbx)

    # the PBX (UAS of the first INVITE) puts the phone on hold: client and server swap roles
    contact = NameAddr(parse_uri("sip:1002@127.0.0.1:6000;transport=ws"))
    reinvite = pbx_dialog.create_request(
        "INVITE", via=via(pair.pbx), contact=contact, body=SDP, content_type="application/sdp"
    )
    pair.send(pair.pbx, reinvite)
    event = only(pair.events(pair.ua))
    assert isinstance(event, RequestReceived) and ua_dialog.matches(event.request)
    assert ua_dialog.receive_request(event.request) is None
    assert ua_dialog.remote_target == contact.uri
    pair.send(pair.ua, make_response(event.request, 200, headers=[("Contact", UA_CONTACT)]))
    (ok,) = pair.events(pair.pbx)
    assert isinstance(ok, ResponseReceived) and ok.request == reinvite
    pbx_dialog.receive_response(ok.response, reinvite)
    pair.send(pair.pbx, pbx_dialog.create_ack(reinvite, via=via(pair.pbx)))
    ack = only(pair.events(pair.ua))
    assert isinstance(ack, AckReceived) and ack.request.cseq.seq == reinvite.cseq.seq == 1


def test_info_in_dialog(pair: AgentPair) -> None:
    invite, received = ring(pair)
    pair.send(
        pair.pbx, make_response(received, 200, to_tag="pbxtag", headers=[("Contact", PBX_CONTACT)])
    )
    (answered,) = pair.events(pair.ua)
    assert isinstance(answered, ResponseReceived)
    ua_dialog = Dialog.from_uac(invite, answered.response)
    pbx_dialog = Dialog.from_uas(received, "pbxtag", DialogState.CONFIRMED)
    body = b"Signal=5\r\nDuration=120\r\n"
    info = ua_dialog.create_request(
        "INFO", via=via(pair.ua), body=body, content_type="application/dtmf-relay"
    )
    pair.send(pair.ua, info)
    event = only(pair.events(pair.pbx))
    assert isinstance(event, RequestReceived)
    assert event.request.body == body and event.request.cseq.seq == 2
    assert pbx_dialog.receive_request(event.request) is None
    pair.send(pair.pbx, make_response(event.request, 200))
    assert responses(pair.events(pair.ua)) == [200]


def test_2xx_retransmission_is_flagged(pair: AgentPair) -> None:
    invite, received = ring(pair)
    ok = make_response(received, 200, to_tag="pbxtag", headers=[("Contact", PBX_CONTACT)])
    frame = pair.send(pair.pbx, ok)
    first = only(pair.events(pair.ua))
    assert isinstance(first, ResponseReceived) and not first.retransmission
    pair.pbx.send_response(ok, 1.0)  # the UA core of the PBX retransmits its 2xx (§13.3.1.4)
    pair.ua.receive(frame, 1.0)
    again = only(pair.events(pair.ua))
    assert isinstance(again, ResponseReceived) and again.retransmission
    assert again.request == invite
    # a 2xx from another fork (new To tag) is not a retransmission
    forked = make_response(invite, 200, to_tag="fork2", headers=[("Contact", PBX_CONTACT)])
    pair.ua.receive(bytes(forked), 2.0)
    other = only(pair.events(pair.ua))
    assert isinstance(other, ResponseReceived) and not other.retransmission
    # after 64*T1 the UA core forgets the INVITE: a late 2xx is stray
    assert pair.ua.next_deadline() == 32.0
    pair.ua.handle_timeout(32.0)
    pair.ua.receive(frame, 32.0)
    assert isinstance(only(pair.events(pair.ua)), MessageRejected)


# --- timers ------------------------------------------------------------------------------------


def test_timer_b_fires_at_64_t1(pair: AgentPair) -> None:
    invite = new_request(pair.ua, "INVITE")
    pair.ua.send_request(invite, 0.0)
    assert pair.ua.next_deadline() == 32.0
    pair.ua.handle_timeout(31.9)
    assert pair.events(pair.ua) == [] and pair.ua.open_transactions() == 1
    pair.ua.handle_timeout(32.0)
    assert pair.events(pair.ua) == [TransactionTimeout(invite)]
    assert pair.ua.open_transactions() == 0 and pair.ua.next_deadline() is None


def test_timer_b_follows_t1() -> None:
    agent = Agent(t1=0.1, id_factory=counter("x"))
    agent.send_request(new_request(agent, "INVITE"), 10.0)
    assert agent.next_deadline() == pytest.approx(16.4)


def test_timer_b_stops_on_provisional(pair: AgentPair) -> None:
    ring(pair)
    assert pair.ua.next_deadline() is None
    pair.ua.handle_timeout(1000.0)
    assert pair.events(pair.ua) == []


def test_timer_f_for_non_invite(pair: AgentPair) -> None:
    register = new_request(pair.ua, "REGISTER")
    pair.send(pair.ua, register)
    (received,) = pair.events(pair.pbx)
    assert isinstance(received, RequestReceived)
    pair.now = 1.0
    pair.send(pair.pbx, make_response(received.request, 100))
    assert responses(pair.events(pair.ua)) == [100]
    pair.ua.handle_timeout(31.9)
    assert pair.events(pair.ua) == []
    pair.ua.handle_timeout(32.0)
    assert pair.events(pair.ua) == [TransactionTimeout(register)]


def test_timer_h_without_ack(pair: AgentPair) -> None:
    invite = new_request(pair.ua, "INVITE")
    pair.pbx.receive(pair.ua.send_request(invite, 0.0), 0.0)
    (received,) = pair.events(pair.pbx)
    assert isinstance(received, RequestReceived)
    pair.pbx.send_response(make_response(received.request, 486, to_tag="t"), 2.0)  # ACK lost
    assert pair.pbx.next_deadline() == 34.0
    pair.pbx.handle_timeout(33.9)
    assert pair.pbx.open_transactions() == 1
    pair.pbx.handle_timeout(34.0)
    assert pair.pbx.open_transactions() == 0 and pair.events(pair.pbx) == []


def test_timers_fire_during_receive_too(pair: AgentPair) -> None:
    invite = new_request(pair.ua, "INVITE")
    pair.ua.send_request(invite, 0.0)
    pair.ua.receive("garbage", 40.0)
    events = pair.events(pair.ua)
    assert [type(e) for e in events] == [MessageRejected, TransactionTimeout]


# --- retransmissions and bad input -------------------------------------------------------------


def test_retransmitted_request_gets_last_response(pair: AgentPair) -> None:
    invite = new_request(pair.ua, "INVITE")
    frame = pair.ua.send_request(invite, 0.0)
    pair.pbx.receive(frame, 0.0)
    (received,) = pair.events(pair.pbx)
    assert isinstance(received, RequestReceived)
    pair.pbx.receive(frame, 0.1)  # nothing sent yet: absorbed
    assert pair.pbx.frames_to_send() == [] and pair.events(pair.pbx) == []
    ringing = pair.pbx.send_response(make_response(received.request, 180, to_tag="t"), 0.2)
    pair.pbx.receive(frame, 0.3)
    assert pair.pbx.frames_to_send() == [ringing] and pair.events(pair.pbx) == []
    busy = pair.pbx.send_response(make_response(received.request, 486, to_tag="t"), 0.4)
    pair.pbx.receive(frame, 0.5)
    assert pair.pbx.frames_to_send() == [busy] and pair.events(pair.pbx) == []


def test_retransmitted_invite_after_2xx_gets_the_2xx(pair: AgentPair) -> None:
    invite = new_request(pair.ua, "INVITE")
    frame = pair.ua.send_request(invite, 0.0)
    pair.pbx.receive(frame, 0.0)
    (received,) = pair.events(pair.pbx)
    assert isinstance(received, RequestReceived)
    ok = pair.pbx.send_response(make_response(received.request, 200, to_tag="t"), 0.1)
    assert pair.pbx.open_transactions() == 0
    pair.pbx.receive(frame, 0.2)
    assert pair.pbx.frames_to_send() == [ok] and pair.events(pair.pbx) == []


def test_retransmitted_non_invite_in_trying_is_absorbed(pair: AgentPair) -> None:
    frame = pair.ua.send_request(new_request(pair.ua, "OPTIONS"), 0.0)
    pair.pbx.receive(frame, 0.0)
    pair.pbx.receive(frame, 0.1)
    assert len(pair.events(pair.pbx)) == 1 and pair.pbx.frames_to_send() == []


def test_garbage_is_rejected_without_answer(pair: AgentPair) -> None:
    pair.pbx.receive(b"\xff\xfe garbage", 0.0)
    event = only(pair.events(pair.pbx))
    assert isinstance(event, MessageRejected) and "garbage" in event.frame
    assert pair.pbx.frames_to_send() == []


BROKEN_INVITE = (
    "INVITE sip:1002@default SIP/2.0\r\n"
    "v: SIP/2.0/WS df7jal23ls0d.invalid;branch=z9hG4bKbad\r\n"
    "From: <sip:1001@default>;tag=a\r\n"
    "To: <sip:1002@default>\r\n"
    "i: broken-1\r\n"
    "CSeq: 1 INVITE\r\n"
    "Content-Length: 999\r\n\r\n"
)


def test_malformed_request_gets_400(pair: AgentPair) -> None:
    pair.pbx.receive(BROKEN_INVITE, 0.0)
    event = only(pair.events(pair.pbx))
    assert isinstance(event, MessageRejected) and "Content-Length" in event.error
    (frame,) = pair.pbx.frames_to_send()
    answer = parse_message(frame)
    assert isinstance(answer, Response) and answer.status == 400
    assert answer.call_id == "broken-1" and answer.top_via.branch == "z9hG4bKbad"
    assert answer.to.tag == "pbx1" and answer.cseq.method == "INVITE"
    assert pair.pbx.open_transactions() == 0


def test_malformed_ack_gets_no_answer(pair: AgentPair) -> None:
    pair.pbx.receive(BROKEN_INVITE.replace("INVITE", "ACK"), 0.0)
    assert isinstance(only(pair.events(pair.pbx)), MessageRejected)
    assert pair.pbx.frames_to_send() == []


def test_request_without_magic_cookie_gets_400(pair: AgentPair) -> None:
    request = new_request(pair.ua, "OPTIONS")
    old = request.top_via
    request = request.with_headers(
        request.headers.set("Via", str(Via("WS", old.host, None, (("branch", "1234"),))))
    )
    pair.pbx.receive(bytes(request), 0.0)
    event = only(pair.events(pair.pbx))
    assert isinstance(event, MessageRejected) and "branch" in event.error
    (frame,) = pair.pbx.frames_to_send()
    answer = parse_message(frame)
    assert isinstance(answer, Response) and answer.status == 400 and answer.to.tag == "pbx1"


def test_stray_response_is_dropped(pair: AgentPair) -> None:
    request = new_request(pair.ua, "OPTIONS")  # never sent
    pair.ua.receive(bytes(make_response(request, 200, to_tag="x")), 0.0)
    event = only(pair.events(pair.ua))
    assert isinstance(event, MessageRejected) and "no transaction" in event.error
    assert pair.ua.frames_to_send() == []


def test_response_without_call_id_is_rejected(pair: AgentPair) -> None:
    request = new_request(pair.ua, "OPTIONS")
    pair.ua.send_request(request, 0.0)
    broken = make_response(request, 200, to_tag="x")
    pair.ua.receive(bytes(broken.with_headers(broken.headers.remove("Call-ID"))), 0.0)
    assert isinstance(only(pair.events(pair.ua)), MessageRejected)
    assert pair.ua.open_transactions() == 1


def test_salvage_needs_a_request_line_and_the_key_headers() -> None:
    assert salvage_error_response("SIP/2.0 200 OK\r\n\r\n", 400, "t") is None
    assert salvage_error_response(BROKEN_INVITE.replace("i: broken-1\r\n", ""), 400, "t") is None
    assert salvage_error_response(BROKEN_INVITE.replace("CSeq: 1", "CSeq: x"), 400, "t") is None
    response = salvage_error_response(BROKEN_INVITE, 400, "t")
    assert response is not None and response.reason == "Bad Request"


# --- sending rules -----------------------------------------------------------------------------


def test_send_response_needs_an_open_transaction(pair: AgentPair) -> None:
    request = new_request(pair.ua, "OPTIONS")
    with pytest.raises(LocalProtocolError, match="no open server transaction"):
        pair.pbx.send_response(make_response(request, 200), 0.0)
    pair.pbx.receive(pair.ua.send_request(request, 0.0), 0.0)
    pair.pbx.send_response(make_response(request, 200, to_tag="t"), 0.0)
    with pytest.raises(LocalProtocolError):
        pair.pbx.send_response(make_response(request, 500, to_tag="t"), 0.0)


def test_second_final_response_is_refused(pair: AgentPair) -> None:
    invite = new_request(pair.ua, "INVITE")
    pair.pbx.receive(pair.ua.send_request(invite, 0.0), 0.0)
    pair.pbx.send_response(make_response(invite, 486, to_tag="t"), 0.0)
    with pytest.raises(LocalProtocolError, match="cannot send 200"):
        pair.pbx.send_response(make_response(invite, 200, to_tag="t"), 0.0)


def test_send_request_checks(pair: AgentPair) -> None:
    request = new_request(pair.ua, "OPTIONS")
    pair.ua.send_request(request, 0.0)
    with pytest.raises(LocalProtocolError, match="already open"):
        pair.ua.send_request(request, 0.0)
    no_cookie = request.with_headers(request.headers.set("Via", "SIP/2.0/WS h;branch=old"))
    with pytest.raises(LocalProtocolError, match="branch"):
        pair.ua.send_request(no_cookie, 0.0)
    with pytest.raises(LocalProtocolError, match="Via"):
        pair.ua.send_request(request.with_headers(request.headers.remove("Via")), 0.0)
    with pytest.raises(LocalProtocolError, match="only INVITE"):
        pair.ua.make_cancel(request)


def test_ack_opens_no_transaction(pair: AgentPair) -> None:
    ack = new_request(pair.ua, "ACK")
    frame = pair.ua.send_request(ack, 0.0)
    assert frame.startswith("ACK ") and pair.ua.open_transactions() == 0


# --- helpers -----------------------------------------------------------------------------------


def test_ids_come_from_the_factory() -> None:
    agent = Agent(id_factory=counter("id"))
    assert agent.new_branch() == "z9hG4bKid1"
    assert agent.new_tag() == "id2"
    assert agent.new_call_id() == "id3"
    default = Agent()
    assert default.new_branch().startswith("z9hG4bK") and default.new_tag() != default.new_tag()


def test_repr(pair: AgentPair) -> None:
    invite = new_request(pair.ua, "INVITE")
    pair.ua.send_request(invite, 0.0)
    pair.ua.receive("nonsense", 0.0)
    assert repr(pair.ua) == "<Agent transactions=1 events=1>"


def test_send_rules_for_broken_messages(pair: AgentPair) -> None:
    request = new_request(pair.ua, "OPTIONS")
    wrong_cseq = request.with_headers(request.headers.set("CSeq", "1 INFO"))
    with pytest.raises(LocalProtocolError, match="CSeq method"):
        pair.ua.send_request(wrong_cseq, 0.0)
    no_via = make_response(request, 200).with_headers(
        make_response(request, 200).headers.remove("Via")
    )
    with pytest.raises(LocalProtocolError, match="Via"):
        pair.pbx.send_response(no_via, 0.0)
    with pytest.raises(LocalProtocolError, match="UTF-8"):
        pair.ua.send_request(request.with_body(b"\xff\xfe", "application/octet-stream"), 0.0)


def test_uas_2xx_memory_expires_after_64_t1(pair: AgentPair) -> None:
    invite = new_request(pair.ua, "INVITE")
    frame = pair.ua.send_request(invite, 0.0)
    pair.pbx.receive(frame, 0.0)
    pair.events(pair.pbx)
    ok = make_response(invite, 200, to_tag="t")
    pair.pbx.send_response(ok, 0.0)
    pair.pbx.send_response(ok, 1.0)  # a UA-core retransmission of the 2xx is allowed
    assert pair.pbx.next_deadline() == 32.0
    pair.pbx.handle_timeout(32.0)
    assert pair.pbx.next_deadline() is None
    with pytest.raises(LocalProtocolError):
        pair.pbx.send_response(ok, 33.0)
