"""Test doubles for the phone's unit tests: an SDP like aiortc's, a SIP identity, a scripted
SIP channel and a connected call with the PBX's view of its dialog."""

from __future__ import annotations

from types import SimpleNamespace

from xctest.audio.signature import signature_for
from xctest.phone.call import Call, CallState
from xctest.phone.context import PhoneContext
from xctest.phone.events import Topic
from xctest.phone.hold import Holds, offered_direction, with_direction
from xctest.phone.identity import SipIdentity
from xctest.sip.dialog import Dialog, DialogState
from xctest.sip.message import Request, Response, make_response
from xctest.timeline import Timeline

SDP = (
    "v=0\r\n"
    "o=- 3900000000 3900000000 IN IP4 0.0.0.0\r\n"
    "s=-\r\n"
    "t=0 0\r\n"
    "a=group:BUNDLE 0\r\n"
    "a=msid-semantic:WMS *\r\n"
    "m=audio 40000 UDP/TLS/RTP/SAVPF 96 0 8\r\n"
    "c=IN IP4 127.0.0.1\r\n"
    "a=sendrecv\r\n"
    "a=mid:0\r\n"
    "a=rtcp-mux\r\n"
    "a=rtpmap:96 opus/48000/2\r\n"
    "a=candidate:1 1 udp 2130706431 127.0.0.1 40000 typ host\r\n"
    "a=end-of-candidates\r\n"
    "a=ice-ufrag:AbCd\r\n"
    "a=ice-pwd:0123456789abcdef0123456789\r\n"
    "a=fingerprint:sha-256 AA:BB:CC\r\n"
    "a=setup:actpass\r\n"
)

IDENTITY = SipIdentity(
    impi="wr1001",
    password="x",
    domain="default",
    realm="default",
    display_name="Alice Archer",
    ws_url="ws://127.0.0.1:1/ws",
)


class FakeChannel:
    """Answers every request with ``status`` (the remote's SDP mirrored on 2xx)."""

    def __init__(self) -> None:
        self.status = 200
        self.requests: list[Request] = []
        self.sent: list[Request] = []
        self.responses: list[Response] = []

    async def request(self, req: Request) -> Response:
        self.requests.append(req)
        if self.status >= 300 or req.method != "INVITE":
            return make_response(req, self.status)
        body = with_direction(SDP, offered_direction(req.text).answer())
        return make_response(req, 200, body=body.encode(), content_type="application/sdp")

    async def send_request(self, req: Request) -> None:
        self.sent.append(req)

    async def send_response(self, resp: Response) -> None:
        self.responses.append(resp)


def connected_call(call_id: str = "c1") -> tuple[Call, Dialog]:
    """A connected outgoing call, and the PBX's view of its dialog."""
    invite = IDENTITY.invite_request("1002", call_id, "tagA", SDP)
    ok = make_response(invite, 200, to_tag="tagB", headers=[("Contact", "<sip:1002@pbx>")])
    peer = SimpleNamespace(
        on_remote_track=None,
        on_frames=None,
        track=SimpleNamespace(held=False),
        expect_receive=lambda expected: None,
    )
    call = Call(call_id, Topic.OUTGOING, invite, peer, [signature_for(0, "a")], "1002")
    call.dialog = Dialog.from_uac(invite, ok)
    call.local_sdp = SDP
    call.set_state(CallState.CONNECTED)
    remote = Dialog.from_uas(invite, "tagB", DialogState.CONFIRMED)
    return call, remote


def make_context(*calls: Call) -> tuple[PhoneContext, FakeChannel, list[tuple], list]:
    """A phone context over ``calls``: its channel, the events published, the coroutines
    spawned."""
    channel = FakeChannel()
    events: list[tuple] = []
    spawned: list = []
    ctx = PhoneContext(
        "alice",
        {c.sip_call_id: c for c in calls},
        lambda: channel,
        lambda: IDENTITY,
        lambda *args: events.append(args),
        spawned.append,
        Timeline("alice"),
    )
    return ctx, channel, events, spawned


def make_holds(*calls: Call) -> tuple[Holds, FakeChannel, list[tuple]]:
    ctx, channel, events, _ = make_context(*calls)
    return Holds(ctx), channel, events
