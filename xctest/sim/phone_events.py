"""PhoneEvents derived from channel events, as XUC derives them from Asterisk's AMI stream
(PROTOCOL.md §3.2–§3.5).  Pure: one channel event in, the PhoneEvents for its user out.

Never imports the phone; knows nothing of SIP or sockets.
"""

from __future__ import annotations

from xctest.cti.messages import CallDirection, PhoneEvent, PhoneEventType
from xctest.sim.channels import Channel, ChannelEvent, ChannelState

# Marks a channel placed by a CTI ``dial`` (an originate); only those get the failure event.
ORIGINATED = "XCTEST_ORIGINATED"
# Q.850 causes of a call that never reached its destination
FAILURE_CAUSES = frozenset({1, 3, 17, 18, 19, 21, 27, 28, 34, 38})


def phone_events(event: ChannelEvent) -> list[PhoneEvent]:
    """The PhoneEvents XUC sends to the channel's user for one channel event.

    Mapping (unconfirmed (PROTOCOL.md Q3, Q4): placement inferred from channel states):
    Newstate Ring → EventDialing, Newstate Ringing → EventRinging, Newstate Up, Unhold and a
    new connected party while up → EventEstablished, Hold → EventOnHold, Hangup →
    EventReleased, preceded by the failure event (unconfirmed name, Q2) when a CTI-originated
    dial never got answered.
    """
    chan = event.channel
    kind: PhoneEventType | None = None
    if event.name == "Newstate":
        kind = {
            ChannelState.RING: PhoneEventType.DIALING,
            ChannelState.RINGING: PhoneEventType.RINGING,
            ChannelState.UP: PhoneEventType.ESTABLISHED,
        }.get(chan.state)
    elif event.name == "Hold":
        kind = PhoneEventType.ON_HOLD
    elif event.name == "Unhold":
        kind = PhoneEventType.ESTABLISHED
    elif event.name == "NewConnectedLine" and chan.state is ChannelState.UP and not chan.on_hold:
        kind = PhoneEventType.ESTABLISHED  # unconfirmed (PROTOCOL.md Q3): after a transfer
    elif event.name == "Hangup":
        out = []
        if ORIGINATED in chan.variables and not chan.was_up and event.cause in FAILURE_CAUSES:
            out.append(phone_event(chan, PhoneEventType.FAILURE))
        out.append(phone_event(chan, PhoneEventType.RELEASED))
        return out
    return [phone_event(chan, kind)] if kind is not None else []


def phone_event(chan: Channel, kind: PhoneEventType) -> PhoneEvent:
    """The PhoneEvent of ``kind`` for the user owning ``chan``."""
    user_data = {k: v for k, v in chan.variables.items() if k.startswith(("XIVO_", "USR_"))}
    if chan.sip_call_id:
        user_data["SIPCALLID"] = chan.sip_call_id
    return PhoneEvent(
        event_type=kind,
        dn=chan.number,
        other_dn=chan.other_number,
        other_dname=chan.other_name,
        linked_id=chan.linked_id,
        unique_id=chan.unique_id,
        # unconfirmed (PROTOCOL.md Q1): values "Incoming" / "Outgoing"
        call_direction=CallDirection(chan.direction),
        user_data=user_data,
    )
