"""Typed events that ``xctest.sip.agent.Agent.next_event()`` hands to its transaction user.

Pure data: frozen dataclasses over ``message`` values.  Must stay sans-IO (stdlib and the sip
codec only).
"""

from __future__ import annotations

from dataclasses import dataclass

from xctest.sip.message import Request, Response

__all__ = [
    "AckReceived",
    "CancelReceived",
    "Event",
    "MessageRejected",
    "RequestReceived",
    "ResponseReceived",
    "TransactionTimeout",
]


@dataclass(frozen=True)
class RequestReceived:
    """A new request (not ACK, not CANCEL, not a retransmission); answer it with
    ``Agent.send_response``."""

    request: Request


@dataclass(frozen=True)
class AckReceived:
    """An ACK for a 2xx (a dialog-level request).  ACKs for non-2xx finals are absorbed by the
    server transaction and never reported."""

    request: Request


@dataclass(frozen=True)
class CancelReceived:
    """A CANCEL matched an open INVITE server transaction.  The agent already answered the
    CANCEL with 200; the TU should answer ``invite`` with 487."""

    request: Request
    invite: Request


@dataclass(frozen=True)
class ResponseReceived:
    """A response matched to one of our client transactions.

    ``retransmission`` is True for a repeated 2xx to an INVITE (same To tag), which the UA core
    must ACK again (RFC 3261 §13.2.2.4).
    """

    response: Response
    request: Request
    retransmission: bool = False


@dataclass(frozen=True)
class TransactionTimeout:
    """Timer B or F fired: ``request`` got no final response (RFC 3261 §17.1.1.2, §17.1.2.2)."""

    request: Request


@dataclass(frozen=True)
class MessageRejected:
    """A frame was dropped: unparseable, not RFC 3261 compliant, or a stray response.

    When it was recognisably a request, a 400 is waiting in ``Agent.frames_to_send()``.
    """

    error: str
    frame: str


Event = (
    RequestReceived
    | AckReceived
    | CancelReceived
    | ResponseReceived
    | TransactionTimeout
    | MessageRejected
)
