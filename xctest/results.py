"""Frozen result records shared by phones, simulator and reports.  Leaf module, pure data."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class TimelineEvent:
    """One thing a party saw, in the order it saw it.

    ``kind`` is ``"xc"`` (an xc_webrtc event), ``"sip"`` (a SIP message on the party's
    websocket), ``"cti"`` (a CTI message) or ``"audio"`` (a detection).  ``fields`` holds the
    kind-specific data; ``t`` is the loop time when it was recorded.
    """

    t: float
    party: str
    kind: str
    name: str
    fields: dict[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        extra = " ".join(f"{k}={v!r}" for k, v in self.fields.items() if k != "message")
        return f"{self.party} {self.kind}:{self.name}" + (f" {extra}" if extra else "")
