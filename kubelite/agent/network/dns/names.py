"""Addresses written as one DNS label (pod records, endpoints without a hostname)."""

from __future__ import annotations

import ipaddress


def dashed(address: str) -> str:
    """An address as one DNS label: 10.1.2.3 -> 10-1-2-3, 2001:db8::1 -> 2001-db8--1."""
    return address.replace(".", "-").replace(":", "-")


def undashed(label: str) -> str | None:
    """The address a dashed label stands for, or None if it is not one."""
    for text in (label.replace("-", "."), label.replace("-", ":")):
        try:
            return str(ipaddress.ip_address(text))
        except ValueError:
            continue
    return None


def unreversed(name: str) -> str | None:
    """The address of a reverse-lookup name (d.c.b.a.in-addr.arpa, nibbles.ip6.arpa), if any."""
    try:
        if name.endswith(".in-addr.arpa"):
            parts = name[: -len(".in-addr.arpa")].split(".")
            return str(ipaddress.IPv4Address(".".join(reversed(parts)))) if len(parts) == 4 else None
        if name.endswith(".ip6.arpa"):
            nibbles = name[: -len(".ip6.arpa")].split(".")
            if len(nibbles) != 32 or any(len(n) != 1 for n in nibbles):
                return None
            return str(ipaddress.IPv6Address(int("".join(reversed(nibbles)), 16)))
    except ValueError:
        return None
    return None
