"""Cron schedules as CronJob's spec.schedule reads them (robfig/cron's standard parser).

Five fields (minute hour day-of-month month day-of-week) with `*`, `?`, ranges, steps,
lists and month/weekday names, or a macro (@yearly ... @hourly, `@every <duration>`).
Day-of-month and day-of-week combine with OR unless either is a bare `*`/`?` (then AND).
Times are found in wall-clock time of a zone: a time that a DST jump skips never fires, one
that the clock passes twice fires twice, as upstream's Next does. Parse errors carry
upstream's words, because the API server returns them in its Invalid status.
"""

from __future__ import annotations

import datetime
import re
import zoneinfo
from dataclasses import dataclass

UTC = datetime.UTC
SEARCH_YEARS = 5          # upstream gives up (never fires) after this many years

MACROS = {"@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *", "@monthly": "0 0 1 * *",
          "@weekly": "0 0 * * 0", "@daily": "0 0 * * *", "@midnight": "0 0 * * *",
          "@hourly": "0 * * * *"}
_MONTHS = {m: i + 1 for i, m in enumerate(
    ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"])}
_DAYS = {d: i for i, d in enumerate(["sun", "mon", "tue", "wed", "thu", "fri", "sat"])}
# (minimum, maximum, names) per field, in spec order.
_BOUNDS: tuple[tuple[int, int, dict[str, int]], ...] = (
    (0, 59, {}), (0, 23, {}), (1, 31, {}), (1, 12, _MONTHS), (0, 6, _DAYS))
_DURATION_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)")
_UNIT_SECONDS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0,
                 "h": 3600.0}


class ParseError(ValueError):
    """A schedule that does not parse; str() is upstream's message."""


@dataclass(frozen=True)
class Fields:
    """The sets of values each field allows; `star` marks a bare `*`/`?` day field."""
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]
    dom_star: bool
    dow_star: bool

    def day_matches(self, d: datetime.date) -> bool:
        dom = d.day in self.days
        dow = (d.isoweekday() % 7) in self.weekdays
        return dom and dow if self.dom_star or self.dow_star else dom or dow


@dataclass(frozen=True)
class Schedule:
    """A parsed schedule: either cron fields in a zone, or a constant delay (@every)."""
    fields: Fields | None
    every: datetime.timedelta | None
    zone: datetime.tzinfo

    def next(self, after: datetime.datetime) -> datetime.datetime | None:
        """The first firing time strictly after `after` (None: none within five years)."""
        if self.every is not None:
            base = after.replace(microsecond=0)
            return base + self.every
        assert self.fields is not None
        return _next_fire(self.fields, self.zone, after)


def zone(name: str | None) -> datetime.tzinfo:
    """The zone of spec.timeZone (UTC when unset); ParseError names an unknown one."""
    if not name:
        return UTC
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as e:
        raise ParseError(f"unknown time zone {name}") from e


def parse(spec: str, time_zone: str | None = None) -> Schedule:
    """Parse spec.schedule, read in `time_zone` (an IANA name; UTC when unset)."""
    tz = zone(time_zone)
    if spec.startswith("@"):
        if spec.startswith("@every "):
            return Schedule(None, _parse_every(spec[len("@every "):]), tz)
        if spec not in MACROS:
            raise ParseError(f"unrecognized descriptor: {spec}")
        spec = MACROS[spec]
    parts = spec.split()
    if len(parts) != 5:
        raise ParseError(f"expected exactly 5 fields, found {len(parts)}: [{' '.join(parts)}]")
    sets = [_parse_field(p, *_BOUNDS[i]) for i, p in enumerate(parts)]
    minutes, hours, days, months, weekdays = (frozenset(s) for s, _ in sets)
    fields = Fields(minutes, hours, days, months, weekdays, dom_star=sets[2][1],
                    dow_star=sets[4][1])
    return Schedule(fields, None, tz)


def _parse_every(text: str) -> datetime.timedelta:
    """A Go duration, truncated to whole seconds and at least one second (upstream)."""
    body = text[1:] if text[:1] in "+-" else text
    parts = _DURATION_PART.findall(body)
    if not body or "".join(n + u for n, u in parts) != body or text.startswith("-"):
        raise ParseError(f'failed to parse duration @every {text}: time: invalid duration '
                         f'"{text}"')
    seconds = int(sum(float(n) * _UNIT_SECONDS[u] for n, u in parts))
    return datetime.timedelta(seconds=max(seconds, 1))


def _parse_field(text: str, low: int, high: int, names: dict[str, int]) -> tuple[set[int], bool]:
    values: set[int] = set()
    star = False
    for expr in text.split(","):
        got, is_star = _parse_range(expr, low, high, names)
        values |= got
        star = star or is_star
    return values, star


def _parse_range(expr: str, low: int, high: int, names: dict[str, int]) -> tuple[set[int], bool]:
    range_step = expr.split("/")
    bounds = range_step[0].split("-")
    star = bounds[0] in ("*", "?")
    if star:
        start, end = low, high
    else:
        start = _value(bounds[0], names)
        if len(bounds) == 1:
            end = start
        elif len(bounds) == 2:
            end = _value(bounds[1], names)
        else:
            raise ParseError(f"too many hyphens: {expr}")
    step = 1
    if len(range_step) == 2:
        step = _int(range_step[1])
        if len(bounds) == 1 and not star:
            end = high                    # "N/step" means "N-max/step"
        star = star and step == 1
    elif len(range_step) > 2:
        raise ParseError(f"too many slashes: {expr}")
    _check_range(expr, start, end, step, low, high)
    return set(range(start, end + 1, step)), star


def _check_range(expr: str, start: int, end: int, step: int, low: int, high: int) -> None:
    if start < low:
        raise ParseError(f"beginning of range ({start}) below minimum ({low}): {expr}")
    if end > high:
        raise ParseError(f"end of range ({end}) above maximum ({high}): {expr}")
    if start > end:
        raise ParseError(f"beginning of range ({start}) beyond end of range ({end}): {expr}")
    if step == 0:
        raise ParseError(f"step of range should be a positive number: {expr}")


def _value(text: str, names: dict[str, int]) -> int:
    named = names.get(text.lower())
    return named if named is not None else _int(text)


def _int(text: str) -> int:
    if not re.fullmatch(r"[+-]?\d+", text):
        raise ParseError(f'failed to parse int from {text}: strconv.Atoi: parsing "{text}": '
                         "invalid syntax")
    n = int(text)
    if n < 0:
        raise ParseError(f"negative number ({n}) not allowed: {text}")
    return n


def _instants(day: datetime.date, hour: int, minute: int,
              tz: datetime.tzinfo) -> list[datetime.datetime]:
    """The absolute times a wall-clock time names: none in a DST gap, two in an overlap."""
    wall = datetime.datetime(day.year, day.month, day.day, hour, minute)
    if tz is UTC:
        return [wall.replace(tzinfo=UTC)]          # no gaps, no overlaps
    out = []
    for fold in (0, 1):
        t = wall.replace(tzinfo=tz, fold=fold)
        if t.astimezone(UTC).astimezone(tz).replace(tzinfo=None) == wall:
            out.append(t.astimezone(UTC))
    return sorted(set(out))


def _next_fire(f: Fields, tz: datetime.tzinfo,
               after: datetime.datetime) -> datetime.datetime | None:
    """Scan days in wall-clock order; within a day take the earliest instant past `after`."""
    after = after.astimezone(UTC)
    day = after.astimezone(tz).date() - datetime.timedelta(days=1)
    last = datetime.date(min(day.year + SEARCH_YEARS, 9999), 12, 31)
    hours, minutes = sorted(f.hours), sorted(f.minutes)
    while day <= last:
        if day.month in f.months and f.day_matches(day):
            found = _first_in_day(day, hours, minutes, tz, after)
            if found is not None:
                return found.astimezone(tz)
        day += datetime.timedelta(days=1)
    return None


def _first_in_day(day: datetime.date, hours: list[int], minutes: list[int],
                  tz: datetime.tzinfo, after: datetime.datetime) -> datetime.datetime | None:
    best: datetime.datetime | None = None
    local = after.astimezone(tz)
    for hour in hours:
        if day == local.date() and hour < local.hour - 1:
            continue                   # wholly before `after`, whatever the DST
        for minute in minutes:
            for t in _instants(day, hour, minute, tz):
                if t > after and (best is None or t < best):
                    best = t
        if best is not None and best.astimezone(tz).hour < hour - 1:
            break                      # later wall hours cannot come before it in time
    return best
