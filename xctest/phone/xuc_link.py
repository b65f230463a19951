"""What a phone keeps of its XUC session (PROTOCOL.md §1.5, §3.7, §3.8, §5.8): the LineConfig
and IceConfig of the start-up, ICE renewal every ttl/2, the WebRTCCmd subscription, the
PhoneEvents (keyed by SIP Call-ID) and the CTI frames written into the phone's timeline.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from xctest.cti.client import CtiClient
from xctest.cti.messages import (
    GetConfig,
    GetIceConfig,
    IceConfig,
    LineConfig,
    Message,
    PhoneEvent,
    WebRTCCmd,
)
from xctest.errors import XctestError
from xctest.phone.ice import IceList
from xctest.timeline import Timeline

log = logging.getLogger(__name__)

ICE_CONFIG_TIMEOUT = 10.0


class XucLink:
    """The phone's side of one ``CtiClient``."""

    def __init__(
        self,
        cti: CtiClient,
        ice: IceList,
        timeline: Timeline,
        spawn: Callable[[Coroutine[Any, Any, Any]], None],
    ) -> None:
        self.cti = cti
        self._spawn = spawn
        self.ice = ice
        self.timeline = timeline
        self.phone_events: list[PhoneEvent] = []
        self._renewal: asyncio.TimerHandle | None = None
        self._stack_subscriptions: list[Callable[[], None]] = []
        cti.observer = self._observe
        cti.set_handler(PhoneEvent, self._on_phone_event)

    @property
    def is_open(self) -> bool:
        return not self.cti.closed.is_set()

    async def ask_line_config(self, handler: Callable[[LineConfig], None]) -> None:
        """Send ``getConfig line``; ``handler`` gets the next LineConfig, once (xc_webrtc's
        LineConfig handler removes itself on first use)."""

        def once(msg: Message) -> None:
            unsubscribe()
            if isinstance(msg, LineConfig):
                handler(msg)

        unsubscribe = self.cti.set_handler(LineConfig, once)
        await self.cti.send(GetConfig("line"))

    async def fetch_ice(self) -> None:
        """``getIceConfig`` → IceConfig applied to the ICE list; later IceConfigs (renewals)
        are applied too while the stack runs."""
        self._stack_subscriptions.append(self.cti.set_handler(IceConfig, self._on_ice_config))
        since = len(self.cti.received)
        await self.cti.send(GetIceConfig())
        await self.cti.wait_for(
            IceConfig,
            timeout=ICE_CONFIG_TIMEOUT,
            since=since,
            what="IceConfig in answer to getIceConfig (xc_webrtc does not start without it)",
        )

    def on_command(self, handler: Callable[[WebRTCCmd], None]) -> None:
        """Receive WebRTCCmd while the stack runs."""

        def typed(msg: Message) -> None:
            if isinstance(msg, WebRTCCmd):
                handler(msg)

        self._stack_subscriptions.append(self.cti.set_handler(WebRTCCmd, typed))

    def unique_id_of(self, sip_call_id: str) -> str | None:
        """The Asterisk uniqueId XUC reported for this SIP call (PhoneEvent SIPCALLID)."""
        for event in reversed(self.phone_events):
            if event.sip_call_id == sip_call_id:
                return event.unique_id
        return None

    def stop(self) -> None:
        """Stop ICE renewal and the stack's subscriptions (the CTI session stays open)."""
        if self._renewal is not None:
            self._renewal.cancel()
            self._renewal = None
        for unsubscribe in self._stack_subscriptions:
            unsubscribe()
        self._stack_subscriptions.clear()

    def _on_ice_config(self, msg: Message) -> None:
        if not isinstance(msg, IceConfig):
            return
        self.ice.apply(msg)
        if self._renewal is not None:
            self._renewal.cancel()
            self._renewal = None
        ttl = self.ice.turn_ttl
        if ttl:
            # xc_webrtc asks again every floor(ttl/2) s (PROTOCOL.md §3.7)
            loop = asyncio.get_running_loop()
            self._renewal = loop.call_later(max(1, ttl // 2), self._renew)

    def _renew(self) -> None:
        self._renewal = None
        self._spawn(self._send_renewal())

    async def _send_renewal(self) -> None:
        try:
            await self.cti.send(GetIceConfig())
        except XctestError as exc:
            log.info("%s: ICE renewal not sent: %s", self.cti.name, exc)

    def _on_phone_event(self, msg: Message) -> None:
        if isinstance(msg, PhoneEvent):
            self.phone_events.append(msg)

    def _observe(self, direction: str, name: str, fields: dict[str, Any]) -> None:
        self.timeline.add("cti", name, direction=direction, **fields)
