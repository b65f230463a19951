"""The phone's ICE server list as xc_webrtc manages it (PROTOCOL.md §3.7, §4.1):
``getIceUrls``/``setIceUrls``/``disableICE`` and the list built from an IceConfig.

Pure bookkeeping; the phone hands ``peer_servers()`` to each new peer connection.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from xctest.cti.messages import IceConfig
from xctest.cti.messages import IceServer as CtiIceServer
from xctest.media.peer import IceServer


class IceList:
    """RTCIceServer-shaped entries (``urls``, ``username``, ``credential``)."""

    def __init__(self) -> None:
        self._servers: tuple[CtiIceServer, ...] = ()
        self.turn_ttl: int | None = None

    def set_urls(self, entries: Iterable[Mapping[str, Any]]) -> None:
        """Replace the list; each entry may use ``urls`` (list or string) or legacy ``url``."""
        self._servers = tuple(CtiIceServer.from_json(dict(e)) for e in entries)

    def disable(self) -> None:
        """No STUN/TURN at all: host candidates only."""
        self._servers = ()
        self.turn_ttl = None

    def apply(self, config: IceConfig) -> None:
        """Take the servers of an IceConfig (neither entry present disables ICE servers)."""
        self._servers = config.servers()
        self.turn_ttl = config.turn_config.ttl if config.turn_config is not None else None

    def urls(self) -> list[dict[str, Any]]:
        """``getIceUrls()``: the list as the browser would receive it (no ``ttl``)."""
        return [s.to_rtc() for s in self._servers]

    def peer_servers(self) -> tuple[IceServer, ...]:
        return tuple(IceServer(s.urls, s.username, s.credential) for s in self._servers)

    def __repr__(self) -> str:
        return f"<IceList {[u for s in self._servers for u in s.urls]}>"
