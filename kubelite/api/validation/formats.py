"""The string formats a CRD schema may name (the apiextensions set, common ones checked)."""

from __future__ import annotations

import base64
import binascii
import ipaddress
import re
import uuid

_DATE_TIME = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:?\d{2})?")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_HOSTNAME = re.compile(r"(?=.{1,253}$)[A-Za-z0-9]([-A-Za-z0-9]{0,61}[A-Za-z0-9])?"
                       r"(\.[A-Za-z0-9]([-A-Za-z0-9]{0,61}[A-Za-z0-9])?)*")
_DURATION = re.compile(r"([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+|0")


def _ip(value: str, version: int) -> bool:
    try:
        return ipaddress.ip_address(value).version == version
    except ValueError:
        return False


def _cidr(value: str) -> bool:
    try:
        ipaddress.ip_network(value, strict=False)
        return "/" in value
    except ValueError:
        return False


def _uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
        return len(value) == 36
    except ValueError:
        return False


def _byte(value: str) -> bool:
    try:
        base64.b64decode(value, validate=True)
        return True
    except (binascii.Error, ValueError):
        return False


_CHECKS = {
    "date-time": lambda v: bool(_DATE_TIME.fullmatch(v)),
    "date": lambda v: bool(_DATE.fullmatch(v)),
    "email": lambda v: bool(_EMAIL.fullmatch(v)),
    "hostname": lambda v: bool(_HOSTNAME.fullmatch(v)),
    "ipv4": lambda v: _ip(v, 4),
    "ipv6": lambda v: _ip(v, 6),
    "cidr": _cidr,
    "uuid": _uuid,
    "byte": _byte,
    "duration": lambda v: bool(_DURATION.fullmatch(v)),
}


def valid(fmt: str, value: str) -> bool:
    """Unknown formats pass, as upstream ignores formats it does not know."""
    check = _CHECKS.get(fmt)
    return True if check is None else check(value)
