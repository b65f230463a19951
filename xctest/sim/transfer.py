"""Transfers requested through CTI, done the way XUC drives Asterisk for a WebRTC line
(PROTOCOL.md §3.5 attended transfer, Q5; §2 ``directTransfer``).

Attended: the transferor's phone has already held its call; the PBX rings the transferor's own
line with auto-answer (the consultation leg) and then the destination.  Complete bridges the
original party with the destination and releases both of the transferor's legs; cancel hangs up
the consultation.  Direct (blind): the transferor's leg is released and the original party is
connected to the destination.  Never imports the phone.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from xctest.sim.lab import User
from xctest.sim.legs import Bridge, Leg
from xctest.sim.pbx import Pbx

log = logging.getLogger(__name__)

CONSULT = "XCTEST_CONSULT"  # channel variable marking a consultation leg (never sent to clients)


class TransferRefused(Exception):
    """The transfer cannot be done now; the message says why."""


@dataclass
class Pending:
    """An attended transfer between its request and its completion or cancellation."""

    original: Leg  # the transferor's leg of the call being transferred
    destination: str


class Transfers:
    """Attended and direct transfers of one PBX."""

    def __init__(self, pbx: Pbx) -> None:
        self.pbx = pbx
        self.pending: dict[str, Pending] = {}  # by transferor login

    def attended(self, user: User, destination: str) -> None:
        """``attendedTransfer``: originate the consultation leg (unconfirmed (PROTOCOL.md Q5))."""
        if user.login in self.pending:
            raise TransferRefused(f"{user.login} already has a transfer in progress")
        original = self._established_leg(user)
        problem = self.pbx.originate(user, destination, {CONSULT: "1"})
        if problem is not None:
            raise TransferRefused(problem)
        self.pending[user.login] = Pending(original, destination)

    async def complete(self, user: User) -> None:
        """``completeTransfer``: the original party meets the destination."""
        pending = self.pending.get(user.login)
        if pending is None:
            raise TransferRefused(f"{user.login} has no transfer in progress")
        consult = self._consult_leg(user)
        first = self.pbx.bridge_of(pending.original)
        second = self.pbx.bridge_of(consult) if consult is not None else None
        if consult is None or first is None or second is None or not second.established:
            raise TransferRefused(f"the consultation of {user.login} is not answered yet")
        del self.pending[user.login]
        party, target = first.other(pending.original), second.other(consult)
        first.ended = second.ended = True
        bridge = Bridge(party, target, established=True)
        self.pbx.bridges.append(bridge)
        pending.original.feed = consult.feed = None
        self.pbx.connect_media(bridge)
        self._connected(party, target)
        self._connected(target, party)
        for leg in (pending.original, consult):
            await self.pbx.release_with_bye(leg)

    async def cancel(self, user: User) -> None:
        """``cancelTransfer``: hang up the consultation; the original call stays held."""
        if self.pending.pop(user.login, None) is None:
            raise TransferRefused(f"{user.login} has no transfer in progress")
        consult = self._consult_leg(user)
        if consult is not None:
            await self.pbx.hangup(consult)

    async def direct(self, user: User, destination: str) -> None:
        """``directTransfer``: release the user's leg, ring ``destination`` for the party."""
        original = self._established_leg(user)
        bridge = self.pbx.bridge_of(original)
        assert bridge is not None
        party = bridge.other(original)
        callee = self.pbx.lab.user_by_number(destination)
        bridge.ended = True
        party.feed = original.feed = None
        await self.pbx.release_with_bye(original)
        await self.pbx.dial_from(party, destination, callee)
        linked = self.pbx.bridge_of(party)
        if linked is not None and linked.established:
            self._connected(party, linked.other(party))

    def _connected(self, leg: Leg, other: Leg) -> None:
        user = self.pbx.lab.user_by_login(other.channel.user_login)
        name = user.display_name if user is not None else other.channel.number
        self.pbx.bus.set_connected(leg.channel, other.channel.number, name)

    def _established_leg(self, user: User) -> Leg:
        for leg in reversed(self.pbx.legs_of(user.login)):
            bridge = self.pbx.bridge_of(leg)
            if bridge is not None and bridge.established and CONSULT not in leg.channel.variables:
                return leg
        raise TransferRefused(f"{user.login} has no established call to transfer")

    def _consult_leg(self, user: User) -> Leg | None:
        legs = [g for g in self.pbx.legs_of(user.login) if CONSULT in g.channel.variables]
        return legs[-1] if legs else None
