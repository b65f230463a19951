"""What a phone's helpers (hold, keypad, incoming requests) share with it: its name, its
calls, its SIP channel and identity, and how it publishes xc_webrtc events and spawns work.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from xctest.phone.call import Call
from xctest.phone.events import Topic, XcType
from xctest.phone.identity import SipIdentity
from xctest.timeline import Timeline
from xctest.transport.sip_channel import SipChannel

Publish = Callable[[Topic, XcType | None, dict[str, Any] | None, str | None], None]
Spawn = Callable[[Coroutine[Any, Any, Any]], None]


@dataclass(frozen=True)
class PhoneContext:
    """Shared by a phone and its helpers; ``channel()`` raises ``PhoneStateError`` when the
    SIP stack is not started, ``identity()`` before the identity is known."""

    name: str
    calls: dict[str, Call]
    channel: Callable[[], SipChannel]
    identity: Callable[[], SipIdentity]
    publish: Publish
    spawn: Spawn
    timeline: Timeline

    def sessions(self) -> list[Call]:
        """Calls not terminated yet (xc_webrtc's sessions)."""
        return [c for c in self.calls.values() if not c.is_terminated]
