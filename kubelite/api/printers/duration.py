"""Ages and durations as kubectl prints them (apimachinery duration.HumanDuration).

Precision falls as durations grow: "45s", "3m2s", "12m", "5h4m", "20h", "2d3h", "45d",
"2y30d", "9y". Timestamps are RFC 3339 strings; a missing one prints "<unknown>".
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

_NS = 1_000_000_000
_MINUTE, _HOUR = 60 * _NS, 3600 * _NS


def human(delta: timedelta) -> str:
    """A duration in the short form upstream prints in AGE-like columns."""
    ns = (delta // timedelta(microseconds=1)) * 1000
    seconds = int(ns / _NS)  # truncates toward zero, like Go's int(d.Seconds())
    if seconds < -1:
        return "<invalid>"
    if seconds < 0:
        return "0s"
    if seconds < 120:
        return f"{seconds}s"
    minutes = ns // _MINUTE
    if minutes < 10:
        s = (ns // _NS) % 60
        return f"{minutes}m{s}s" if s else f"{minutes}m"
    if minutes < 180:
        return f"{minutes}m"
    return _hours(ns // _HOUR, ns)


def _hours(hours: int, ns: int) -> str:
    if hours < 8:
        m = (ns // _MINUTE) % 60
        return f"{hours}h{m}m" if m else f"{hours}h"
    if hours < 48:
        return f"{hours}h"
    days = hours // 24
    if hours < 24 * 8:
        h = hours % 24
        return f"{days}d{h}h" if h else f"{days}d"
    if hours < 24 * 365 * 2:
        return f"{days}d"
    years = days // 365
    if hours < 24 * 365 * 8:
        d = days % 365
        return f"{years}y{d}d" if d else f"{years}y"
    return f"{years}y"


def parse_time(value: object) -> datetime | None:
    """An RFC 3339 timestamp (with or without fraction) as an aware datetime, or None."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def since(value: object, now: datetime) -> str:
    """translateTimestampSince: the age of a timestamp, "<unknown>" when unset."""
    then = parse_time(value)
    if then is None:
        return "<unknown>"
    return human(now - then)
