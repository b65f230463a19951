"""The virtual xc_webrtc phone."""

from __future__ import annotations

from xctest.phone.call import Call, CallState
from xctest.phone.dtmf import Digit
from xctest.phone.events import Topic, XcEvent, XcType
from xctest.phone.identity import SipIdentity
from xctest.phone.phone import Phone, StackStatus

__all__ = [
    "Call",
    "CallState",
    "Digit",
    "Phone",
    "SipIdentity",
    "StackStatus",
    "Topic",
    "XcEvent",
    "XcType",
]
