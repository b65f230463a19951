"""The local addresses media may gather ICE host candidates on: those of a named network
interface, and those aioice finds on its own (every interface but loopback).  Pure lookups of
this machine's interfaces; no sockets.
"""

from __future__ import annotations

import ipaddress

import ifaddr

__all__ = ["interface_addresses", "is_loopback", "machine_addresses"]


def _address(ip: ifaddr.IP) -> tuple[str, bool]:
    """(address, usable): IPv6 link-local addresses (scope id set) are not gathered on."""
    if isinstance(ip.ip, str):
        return ip.ip, True
    address, _flow, scope = ip.ip
    return address, scope == 0


def interface_addresses(name: str) -> tuple[str, ...]:
    """The usable addresses of interface ``name``; ``LookupError`` naming the interfaces
    that exist when there is none such, or when it has no usable address."""
    adapters = {a.nice_name: a for a in ifaddr.get_adapters()}
    adapter = adapters.get(name)
    if adapter is None:
        raise LookupError(f"no network interface {name!r} here (there are: {', '.join(adapters)})")
    found = tuple(a for a, usable in map(_address, adapter.ips) if usable)
    if not found:
        raise LookupError(f"network interface {name!r} has no IP address")
    return found


def machine_addresses() -> tuple[str, ...]:
    """What ICE gathers on when no address is set: every usable address of every interface
    except loopback (aioice's rule)."""
    return tuple(
        address
        for adapter in ifaddr.get_adapters()
        for address, usable in map(_address, adapter.ips)
        if usable and not is_loopback(address)
    )


def is_loopback(address: str) -> bool:
    try:
        return ipaddress.ip_address(address.split("%")[0]).is_loopback
    except ValueError:
        return False
