"""The channel variables XiVO's dial plan sets on a call (``XIVO_*``) and the attached data
of a CTI dial (``USR_*``), as they come back in PhoneEvent ``userData`` (PROTOCOL.md §3.2).

Pure functions of the lab; never imports the phone.
"""

from __future__ import annotations

from collections.abc import Mapping

from xctest.sim.lab import Lab, User

USR_PREFIX = "USR_"


def attached_data(variables: Mapping[str, str] | None) -> dict[str, str]:
    """CTI ``dial`` variables as channel variables: keys without ``USR_`` get it (XUC rule)."""
    out = {}
    for key, value in (variables or {}).items():
        name = key if key.startswith(USR_PREFIX) else USR_PREFIX + key
        out[name] = str(value)
    return out


def call_variables(lab: Lab, caller: User, dialled: str, callee: User | None) -> dict[str, str]:
    """``XIVO_*`` variables of a call from ``caller`` to the number ``dialled``."""
    found = {
        "XIVO_USERID": str(lab.user_id(caller.login)),
        "XIVO_CONTEXT": lab.context,
        "XIVO_SRCNUM": caller.number,
        "XIVO_DSTNUM": dialled,
        "XIVO_EXTENPATTERN": dialled,
    }
    if callee is not None:
        found["XIVO_DST_FIRSTNAME"] = callee.firstname
        found["XIVO_DST_LASTNAME"] = callee.lastname
    return found
