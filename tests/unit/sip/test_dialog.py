"""Dialogs (RFC 3261 §12): UAC and UAS views of one call, CSeq rules, ACK, target refresh."""

from __future__ import annotations

import pytest

from xctest.errors import LocalProtocolError
from xctest.sip.dialog import DIALOG_TABLE, Dialog, DialogInput, DialogState
from xctest.sip.headers import Via
from xctest.sip.message import Request, Response, make_response, parse_message
from xctest.sip.uri import NameAddr, parse_name_addr, parse_uri

UA_CONTACT = "<sip:1001@df7jal23ls0d.invalid;transport=ws>"
PBX_CONTACT = "<sip:1002@10.0.0.1:5060;transport=ws>"
RECORD_ROUTES = ("<sip:p1.example;lr>", "<sip:p2.example;lr>")


def via(branch: str = "z9hG4bKd1") -> Via:
    return Via("WS", "df7jal23ls0d.invalid", None, (("branch", branch),))


def invite(seq: int = 1) -> Request:
    text = (
        "INVITE sip:1002@xivo SIP/2.0\r\n"
        "Via: SIP/2.0/WS df7jal23ls0d.invalid;branch=z9hG4bKinv\r\n"
        "Max-Forwards: 70\r\n"
        f"Record-Route: {RECORD_ROUTES[0]}, {RECORD_ROUTES[1]}\r\n"
        'From: "Alice" <sip:1001@xivo>;tag=uatag\r\n'
        "To: <sip:1002@xivo>\r\n"
        "Call-ID: call-42\r\n"
        f"CSeq: {seq} INVITE\r\n"
        f"Contact: {UA_CONTACT}\r\n"
        "Content-Length: 0\r\n\r\n"
    )
    msg = parse_message(text)
    assert isinstance(msg, Request)
    return msg


def answer(request: Request, status: int = 200, contact: str = PBX_CONTACT) -> Response:
    headers = [("Record-Route", rr) for rr in RECORD_ROUTES] + [("Contact", contact)]
    return make_response(request, status, to_tag="pbxtag", headers=headers)


@pytest.fixture
def pair() -> tuple[Dialog, Dialog]:
    req = invite()
    ok = answer(req)
    return Dialog.from_uac(req, ok), Dialog.from_uas(req, "pbxtag", DialogState.CONFIRMED)


def test_uac_and_uas_views_agree(pair: tuple[Dialog, Dialog]) -> None:
    uac, uas = pair
    assert uac.call_id == uas.call_id == "call-42"
    assert uac.id == ("call-42", "uatag", "pbxtag")
    assert uas.id == ("call-42", "pbxtag", "uatag")
    assert uac.local_uri == uas.remote_uri
    assert uac.remote_uri == uas.local_uri
    assert uac.local_uri.tag is None and uas.local_uri.tag is None
    assert uac.local_uri.display_name == "Alice"
    assert uac.route_set == tuple(reversed(uas.route_set))
    assert uas.route_set == RECORD_ROUTES
    assert uac.remote_target == parse_uri("sip:1002@10.0.0.1:5060;transport=ws")
    assert uas.remote_target == parse_name_addr(UA_CONTACT).uri
    assert uac.state is uas.state is DialogState.CONFIRMED
    assert (uac.local_seq, uac.remote_seq) == (1, None)
    assert (uas.local_seq, uas.remote_seq) == (0, 1)


def test_early_dialog_from_180_then_confirm() -> None:
    req = invite()
    early = Dialog.from_uac(req, answer(req, 180, contact="<sip:early@10.0.0.9>"))
    assert early.state is DialogState.EARLY
    early.confirm(answer(req, 200))
    assert early.is_established
    assert early.remote_target.host == "10.0.0.1"


def test_from_uac_refuses_what_makes_no_dialog() -> None:
    req = invite()
    with pytest.raises(LocalProtocolError):
        Dialog.from_uac(req, answer(req, 486))
    with pytest.raises(LocalProtocolError):
        Dialog.from_uac(req, make_response(req, 180))  # no To tag


def test_requests_each_side_builds_match_the_other(pair: tuple[Dialog, Dialog]) -> None:
    uac, uas = pair
    bye = uas.create_request("BYE", via=via())
    assert uac.matches(bye) and not uas.matches(bye)
    assert bye.uri == uas.remote_target
    assert bye.headers.get_all("Route") == list(RECORD_ROUTES)
    assert bye.from_.tag == "pbxtag" and bye.to.tag == "uatag"
    assert bye.headers.get("Max-Forwards") == "70"
    assert bye.top_via.branch == "z9hG4bKd1"
    assert (bye.cseq.seq, bye.cseq.method) == (1, "BYE")
    assert uac.receive_request(bye) is None
    reply = make_response(bye, 200)
    assert uas.matches(reply) and not uac.matches(reply)

    info = uac.create_request(
        "INFO",
        via=via(),
        body=b"Signal=5\r\nDuration=120\r\n",
        content_type="application/dtmf-relay",
    )
    assert info.headers.get_all("Route") == list(reversed(RECORD_ROUTES))
    assert info.uri.host == "10.0.0.1"
    assert info.content_type == "application/dtmf-relay"
    assert info.body == b"Signal=5\r\nDuration=120\r\n"
    assert uas.matches(info)
    assert uas.receive_request(info) is None
    assert uas.remote_seq == 2


def test_cseq_increments(pair: tuple[Dialog, Dialog]) -> None:
    uac, _ = pair
    seqs = [uac.create_request("INFO", via=via()).cseq.seq for _ in range(3)]
    assert seqs == [2, 3, 4]
    assert uac.local_seq == 4


def test_out_of_order_cseq_is_answered_500(pair: tuple[Dialog, Dialog]) -> None:
    uac, uas = pair
    first = uac.create_request("INFO", via=via())
    second = uac.create_request("INFO", via=via())
    assert uas.receive_request(second) is None
    assert uas.receive_request(first) == 500
    assert uas.remote_seq == second.cseq.seq


def test_foreign_request_is_481(pair: tuple[Dialog, Dialog]) -> None:
    uac, uas = pair
    other = Dialog.from_uas(invite(), "othertag")
    assert uac.receive_request(other.create_request("BYE", via=via())) == 481
    uas.terminate()
    assert uas.receive_request(uac.create_request("BYE", via=via())) == 481


def test_ack_uses_the_invite_cseq(pair: tuple[Dialog, Dialog]) -> None:
    uac, uas = pair
    uac.create_request("INFO", via=via())
    reinvite = uac.create_request("INVITE", via=via(), contact=parse_name_addr(UA_CONTACT))
    ack = uac.create_ack(reinvite, via=via("z9hG4bKack"))
    assert ack.method == "ACK" and ack.cseq.seq == reinvite.cseq.seq == 3
    assert ack.cseq.method == "ACK"
    assert uac.local_seq == 3
    assert uas.matches(ack)
    assert uas.receive_request(ack) is None
    with pytest.raises(LocalProtocolError):
        uac.create_ack(ack, via=via())


def test_target_refresh_updates_remote_target(pair: tuple[Dialog, Dialog]) -> None:
    uac, uas = pair
    new_contact = NameAddr(parse_uri("sip:1001@moved.invalid;transport=ws"))
    reinvite = uac.create_request("INVITE", via=via(), contact=new_contact)
    assert uas.receive_request(reinvite) is None
    assert uas.remote_target == new_contact.uri
    # INFO carries no target refresh even with a Contact
    info = uac.create_request("INFO", via=via(), contact=NameAddr(parse_uri("sip:x@else")))
    uas.receive_request(info)
    assert uas.remote_target == new_contact.uri
    # UAC side: the 2xx to a re-INVITE refreshes too (§12.2.1.2)
    reinvite2 = uas.create_request("INVITE", via=via())
    ok = make_response(reinvite2, 200, headers=[("Contact", "<sip:1002@10.9.9.9>")])
    uas.receive_response(ok, reinvite2)
    assert uas.remote_target.host == "10.9.9.9"


def test_create_request_refusals(pair: tuple[Dialog, Dialog]) -> None:
    uac, _ = pair
    for method in ("ACK", "CANCEL"):
        with pytest.raises(LocalProtocolError):
            uac.create_request(method, via=via())
    uac.terminate()
    with pytest.raises(LocalProtocolError, match="terminated"):
        uac.create_request("BYE", via=via())


def test_state_table() -> None:
    assert DIALOG_TABLE[(DialogState.EARLY, DialogInput.CONFIRM)] is DialogState.CONFIRMED
    assert (DialogState.TERMINATED, DialogInput.CONFIRM) not in DIALOG_TABLE
    req = invite()
    dialog = Dialog.from_uas(req, "t")
    dialog.terminate()
    dialog.terminate()
    with pytest.raises(LocalProtocolError, match="cannot"):
        dialog.confirm()


def test_uas_confirm_ignores_its_own_2xx() -> None:
    req = invite()
    uas = Dialog.from_uas(req, "pbxtag")
    target = uas.remote_target
    uas.confirm(answer(req))
    assert uas.state is DialogState.CONFIRMED and uas.remote_target == target


def test_repr(pair: tuple[Dialog, Dialog]) -> None:
    uac, _ = pair
    uac.create_request("INFO", via=via())
    assert repr(uac) == "<Dialog call_id=call-42 state=CONFIRMED local_seq=2>"


def test_from_uac_needs_a_from_tag() -> None:
    req = invite()
    untagged = req.with_headers(req.headers.set("From", "<sip:1001@xivo>"))
    with pytest.raises(LocalProtocolError, match="From tag"):
        Dialog.from_uac(untagged, answer(req))


def test_matches_checks_call_id_and_tags(pair: tuple[Dialog, Dialog]) -> None:
    uac, uas = pair
    bye = uas.create_request("BYE", via=via())
    assert not uac.matches(bye.with_headers(bye.headers.set("Call-ID", "other")))
    assert not uac.matches(bye.with_headers(bye.headers.set("To", "<sip:1001@xivo>;tag=zz")))
    assert not uac.matches(bye.with_headers(bye.headers.set("From", "<sip:1002@xivo>;tag=zz")))


def test_uac_confirm_rules() -> None:
    req = invite()
    tagless_ok = make_response(req, 200, headers=[("Contact", PBX_CONTACT)])
    dialog = Dialog.from_uac(req, tagless_ok)  # RFC 2543 peers: no To tag, remote tag null
    assert dialog.remote_tag is None
    early = Dialog.from_uac(req, answer(req, 183))
    with pytest.raises(LocalProtocolError, match="cannot confirm"):
        early.confirm(answer(req, 486))
    assert early.state is DialogState.EARLY
    early.remote_tag = None
    early.receive_response(answer(req, 200), req)
    assert early.is_established and early.remote_tag == "pbxtag"
    early.receive_response(answer(req, 486), req)
    assert early.is_established
