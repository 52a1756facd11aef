"""Which scheduled time is due now, and when to look again (upstream's mostRecentScheduleTime).

Pure functions of the CronJob, the parsed schedule and `now`, so tests need no waiting.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any

from kubelite.api import cron

Obj = dict[str, Any]
MANY_MISSED = 100               # more missed times than this earns a warning event
NEXT_DELTA = datetime.timedelta(milliseconds=100)   # wake just after the time, not before


class InvalidSchedule(ValueError):
    """A schedule whose consecutive times are under a second apart (or never come)."""


@dataclass(frozen=True)
class Recent:
    earliest: datetime.datetime
    most_recent: datetime.datetime | None
    missed: int


def parse_time(value: str | None) -> datetime.datetime | None:
    if not value:
        return None
    return datetime.datetime.fromisoformat(value)


def format_time(t: datetime.datetime) -> str:
    return t.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _earliest(cj: Obj, now: datetime.datetime, with_deadline: bool) -> datetime.datetime:
    status = cj.get("status") or {}
    earliest = parse_time(status.get("lastScheduleTime")) or parse_time(
        cj["metadata"].get("creationTimestamp")) or now
    deadline = (cj.get("spec") or {}).get("startingDeadlineSeconds")
    if with_deadline and deadline is not None:
        earliest = max(earliest, now - datetime.timedelta(seconds=int(deadline)))
    return earliest


def most_recent(cj: Obj, now: datetime.datetime, schedule: cron.Schedule, *,
                with_deadline: bool) -> Recent:
    """The latest scheduled time in (earliest, now], and about how many were missed."""
    earliest = _earliest(cj, now, with_deadline)
    t1 = schedule.next(earliest)
    if t1 is None or now < t1:
        return Recent(earliest, None, 0)
    t2 = schedule.next(t1)
    if t2 is None or now < t2:
        return Recent(earliest, t1, 0)
    gap = round((t2 - t1).total_seconds())
    if gap < 1:
        raise InvalidSchedule("time difference between two schedules is less than 1 second")
    missed = int((now - t1).total_seconds()) // gap + 1
    # Start a step early and let the schedule walk forward: irregular schedules
    # (e.g. "30 6-16/4 * * 1-5") are not evenly spaced.
    t: datetime.datetime | None = schedule.next(t1 + datetime.timedelta(seconds=(missed - 2) * gap))
    latest = None
    while t is not None and t <= now:
        latest = t
        t = schedule.next(t)
    return Recent(earliest, latest, missed)


def due(cj: Obj, now: datetime.datetime, schedule: cron.Schedule) -> Recent:
    """The unmet scheduled time to act on now, if any (honouring startingDeadlineSeconds)."""
    recent = most_recent(cj, now, schedule, with_deadline=True)
    if recent.most_recent is not None and recent.most_recent > now:
        return Recent(recent.earliest, None, recent.missed)
    return recent


def requeue_after(cj: Obj, now: datetime.datetime, schedule: cron.Schedule) -> float | None:
    """Seconds until just after the next scheduled time (None: it never comes)."""
    try:
        recent = most_recent(cj, now, schedule, with_deadline=False)
    except InvalidSchedule:
        return None
    nxt = schedule.next(recent.most_recent or recent.earliest)
    if nxt is None:
        return None
    return (nxt + NEXT_DELTA - now).total_seconds()


def too_late(cj: Obj, scheduled: datetime.datetime, now: datetime.datetime) -> bool:
    deadline = (cj.get("spec") or {}).get("startingDeadlineSeconds")
    return deadline is not None and scheduled + datetime.timedelta(seconds=int(deadline)) < now
