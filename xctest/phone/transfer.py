"""Transfers from the phone (PROTOCOL.md §3.5, §4.1): xc_webrtc holds its call and leaves the
work to XUC through CTI (attendedTransfer, completeTransfer, cancelTransfer, directTransfer).
The consultation leg then rings this phone with auto-answer.  Never imports the simulator.
"""

from __future__ import annotations

from collections.abc import Callable

from xctest.cti.messages import AttendedTransfer, CancelTransfer, CompleteTransfer, DirectTransfer
from xctest.errors import PhoneStateError
from xctest.phone.call import CallState
from xctest.phone.hold import Holds
from xctest.phone.xuc_link import XucLink


class Transfers:
    """The transfer commands of one phone."""

    def __init__(self, name: str, holds: Holds, link: Callable[[], XucLink | None]) -> None:
        self.name = name
        self.holds = holds
        self._link = link

    def _open_link(self, what: str) -> XucLink:
        link = self._link()
        if link is None or not link.is_open:
            raise PhoneStateError(f"{self.name}: {what} needs an open CTI session")
        return link

    async def attended(self, destination: str) -> None:
        """Refused when two sessions exist; otherwise hold the connected call, then CTI
        ``attendedTransfer``.  What XUC then does is unconfirmed (PROTOCOL.md Q5)."""
        link = self._open_link("attended transfer")
        live = self.holds.sessions()
        if len(live) > 1:
            raise PhoneStateError(
                f"{self.name}: attended transfer refused, {len(live)} sessions already exist"
            )
        for call in live:
            if call.state is CallState.CONNECTED and not call.local_held:
                await self.holds.set_held(call, True)
        await link.cti.send(AttendedTransfer(destination))

    async def complete(self) -> None:
        """CTI ``completeTransfer`` (the PBX then ends both of this phone's calls)."""
        await self._open_link("complete transfer").cti.send(CompleteTransfer())

    async def cancel(self) -> None:
        """CTI ``cancelTransfer`` (the PBX ends the consultation; the first call stays held)."""
        await self._open_link("cancel transfer").cti.send(CancelTransfer())

    async def direct(self, destination: str) -> None:
        """CTI ``directTransfer`` (blind: the PBX releases this phone's call)."""
        await self._open_link("direct transfer").cti.send(DirectTransfer(destination))
