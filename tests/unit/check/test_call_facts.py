"""The facts ``xctest check`` reads from the XiVO's SDP answer (PROTOCOL.md Q15)."""

from __future__ import annotations

from xctest.check.call import answer_facts

ANSWER = (
    "v=0\r\no=- 1 1 IN IP4 10.0.0.5\r\ns=-\r\nt=0 0\r\n"
    "m=audio 14562 UDP/TLS/RTP/SAVPF 0 101\r\nc=IN IP4 10.0.0.5\r\n"
    "a=rtpmap:101 telephone-event/8000\r\na=rtpmap:0 PCMU/8000\r\na=setup:passive\r\n"
)


def test_the_dtls_role_and_the_first_codec_of_the_answer():
    assert answer_facts(ANSWER) == "a=setup:passive, codec PCMU/8000"


def test_what_the_answer_lacks_is_said():
    assert answer_facts("") == "a=setup:(none), codec (none)"
