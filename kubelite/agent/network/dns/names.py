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
