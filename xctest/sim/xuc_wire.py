"""The simulated XUC's wire variants (``Lab.xuc``): a CTI message as another XUC might write
it, e.g. with ids, numbers and numeric ``userData`` values as JSON numbers.  Pure.
"""

from __future__ import annotations

from typing import Any

from xctest.cti import messages as m
from xctest.sim.lab import XucWire

__all__ = ["as_sent"]

_TEXT_KEYS = frozenset({"SIPCALLID"})  # a Call-ID stays text whatever it looks like


def _number(value: Any) -> Any:
    """A decimal string without a leading zero as a JSON number; anything else as it is."""
    if isinstance(value, str) and value.isdigit() and not (len(value) > 1 and value[0] == "0"):
        return int(value)
    return value


def _event(payload: dict[str, Any]) -> dict[str, Any]:
    out = {k: _number(v) if k in ("DN", "otherDN") else v for k, v in payload.items()}
    data = payload.get("userData") or {}
    out["userData"] = {k: v if k in _TEXT_KEYS else _number(v) for k, v in data.items()}
    return out


def as_sent(msg: m.Message, wire: XucWire) -> m.Message:
    """``msg`` as this XUC writes it (unchanged unless ``wire.json_numbers``)."""
    if not wire.json_numbers:
        return msg
    payload = msg.to_payload()
    if isinstance(msg, m.LineConfig):
        payload = {k: _number(v) if k in ("id", "sipPort") else v for k, v in payload.items()}
    elif isinstance(msg, m.PhoneEvent):
        payload = _event(payload)
    elif isinstance(msg, m.CurrentCallsPhoneEvents):
        payload = {"events": [_event(e) for e in payload["events"]]}
    else:
        return msg
    return m.UnknownMessage(msg.wire_type(), payload)
