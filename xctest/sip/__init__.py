"""xctest.sip: sans-IO SIP over WebSocket (RFC 3261, RFC 7118) for the phone and the simulator.

Codec (uri, headers, message, auth, sdp) plus state (transaction, dialog, agent).  Nothing in
this package may import asyncio, sockets, a clock or any other xctest layer than errors.
"""

from __future__ import annotations

from xctest.sip.agent import Agent
from xctest.sip.auth import (
    Challenge,
    Credentials,
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
from xctest.sip.headers import CSeq, Headers, Via, canonical_name, parse_cseq, parse_via
from xctest.sip.message import (
    REASONS,
    Request,
    Response,
    make_response,
    parse_message,
    serialize,
)
from xctest.sip.sdp import Codec, Direction, MediaSection, SessionDescription, parse_sdp
from xctest.sip.transaction import (
    ClientTransaction,
    ServerTransaction,
    TransactionState,
    client_key,
    server_key,
)
from xctest.sip.uri import NameAddr, Params, SipUri, parse_name_addr, parse_uri

__all__ = [
    "REASONS",
    "AckReceived",
    "Agent",
    "CSeq",
    "CancelReceived",
    "Challenge",
    "ClientTransaction",
    "Codec",
    "Credentials",
    "Dialog",
    "DialogState",
    "Direction",
    "Event",
    "Headers",
    "MediaSection",
    "MessageRejected",
    "NameAddr",
    "Params",
    "Request",
    "RequestReceived",
    "Response",
    "ResponseReceived",
    "ServerTransaction",
    "SessionDescription",
    "SipUri",
    "TransactionState",
    "TransactionTimeout",
    "Via",
    "answer_challenge",
    "canonical_name",
    "client_key",
    "make_response",
    "parse_challenge",
    "parse_credentials",
    "parse_cseq",
    "parse_message",
    "parse_name_addr",
    "parse_sdp",
    "parse_uri",
    "parse_via",
    "serialize",
    "server_key",
    "verify_credentials",
]
