"""xc_webrtc's event model: topics, the exact ``type`` strings and the handler registry
(PROTOCOL.md §4.2, §4.3).
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger(__name__)


class Topic(enum.StrEnum):
    GENERAL = "general"
    REGISTRATION = "registration"
    INCOMING = "incoming"
    OUTGOING = "outgoing"


class XcType(enum.StrEnum):
    """Event ``type`` strings, exactly as xc_webrtc publishes them."""

    STARTED = "Started"
    FAILED = "Failed"
    REGISTERED = "Registered"
    UNREGISTERED = "Unregistered"
    SETUP = "Setup"
    ESTABLISHING = "Establishing"
    RINGING = "Ringing"
    REMOTE_MEDIA_ADDED = "RemoteMediaAdded"
    CONNECTED = "Connected"
    TERMINATED = "Terminated"
    HOLD = "Hold"
    RESUME = "Resume"


@dataclass(frozen=True)
class XcEvent:
    """One xc_webrtc event.  ``type`` is None for the auto-answer quirk (PROTOCOL.md Q20)."""

    topic: Topic
    type: XcType | None
    data: dict[str, Any] | None = None
    sip_call_id: str | None = None

    def to_js(self) -> dict[str, Any]:
        """The object a JavaScript handler would receive."""
        out: dict[str, Any] = {"type": None if self.type is None else str(self.type)}
        if self.data is not None:
            out["data"] = dict(self.data)
        if self.sip_call_id is not None:
            out["sipCallId"] = self.sip_call_id
        return out


Handler = Callable[[XcEvent], None]


@dataclass
class Handlers:
    """``set_handler(topic, fn)`` returns an unsubscribe function, as in xc_webrtc."""

    _by_topic: dict[Topic, list[Handler]] = field(default_factory=dict)
    log_calls: bool = False

    def set_handler(self, topic: Topic | str, handler: Handler) -> Callable[[], None]:
        key = Topic(topic)
        self._by_topic.setdefault(key, []).append(handler)

        def unsubscribe() -> None:
            handlers = self._by_topic.get(key, [])
            if handler in handlers:
                handlers.remove(handler)

        return unsubscribe

    def clear(self) -> None:
        self._by_topic.clear()

    def publish(self, event: XcEvent) -> None:
        for handler in list(self._by_topic.get(event.topic, [])):
            if self.log_calls:
                log.info("handler %r <- %s/%s", handler, event.topic, event.type)
            try:
                handler(event)
            except Exception:
                log.exception("handler for %s/%s failed", event.topic, event.type)
