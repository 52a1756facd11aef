"""Cron schedules: parsing (with upstream's messages) and next times across month ends,
leap days and DST; which time is due and when to look again."""

from __future__ import annotations

import datetime
from typing import Any

import pytest

from kubelite.api import cron
from kubelite.controllers.cronjob import times

UTC = datetime.UTC


def at(text: str) -> datetime.datetime:
    return datetime.datetime.fromisoformat(text).astimezone(UTC)


@pytest.mark.parametrize(("spec", "tz", "after", "want"), [
    ("*/15 * * * *", None, "2024-01-31T23:50:00Z", "2024-02-01T00:00:00Z"),
    ("*/15 * * * *", None, "2024-01-31T23:15:00Z", "2024-01-31T23:30:00Z"),
    ("* * * * *", None, "2024-05-01T10:00:30Z", "2024-05-01T10:01:00Z"),
    ("0 0 29 2 *", None, "2024-03-01T00:00:00Z", "2028-02-29T00:00:00Z"),
    ("0 0 31 * *", None, "2024-04-01T00:00:00Z", "2024-05-31T00:00:00Z"),
    ("@monthly", None, "2024-12-15T00:00:00Z", "2025-01-01T00:00:00Z"),
    ("@yearly", None, "2024-06-01T00:00:00Z", "2025-01-01T00:00:00Z"),
    ("@weekly", None, "2024-05-01T00:00:00Z", "2024-05-05T00:00:00Z"),   # a Sunday
    ("@hourly", None, "2024-05-01T10:59:59Z", "2024-05-01T11:00:00Z"),
    ("0 9 * JAN-mar mon-FRI", None, "2024-03-29T10:00:00Z", "2025-01-01T09:00:00Z"),
    ("0 0 13 * 5", None, "2024-09-01T00:00:00Z", "2024-09-06T00:00:00Z"),  # 13th OR Friday
    ("0 0 */10 * *", None, "2024-01-21T00:00:00Z", "2024-01-31T00:00:00Z"),
    ("5 4-10/3 * * *", None, "2024-01-01T07:06:00Z", "2024-01-01T10:05:00Z"),
    ("0 12 * * *", "Asia/Tokyo", "2024-01-01T00:00:00Z", "2024-01-01T03:00:00Z"),
    ("30 2 * * *", "America/New_York", "2024-03-09T12:00:00Z", "2024-03-11T06:30:00Z"),
    ("30 1 * * *", "America/New_York", "2024-11-03T05:30:00Z", "2024-11-03T06:30:00Z"),
    ("0 0 * * *", "Europe/Berlin", "2024-03-30T23:00:00Z", "2024-03-31T22:00:00Z"),
    ("@every 1h30m", None, "2024-01-01T00:00:00.5Z", "2024-01-01T01:30:00Z"),
], ids=lambda v: str(v))
def test_next_time(spec: str, tz: str | None, after: str, want: str) -> None:
    got = cron.parse(spec, tz).next(at(after))
    assert got is not None and got.astimezone(UTC) == at(want)


def test_impossible_date_never_fires() -> None:
    assert cron.parse("0 0 30 2 *").next(at("2024-01-01T00:00:00Z")) is None


@pytest.mark.parametrize(("spec", "message"), [
    ("* * * *", "expected exactly 5 fields, found 4: [* * * *]"),
    ("60 * * * *", "end of range (60) above maximum (59): 60"),
    ("* * 0 * *", "beginning of range (0) below minimum (1): 0"),
    ("* * * * 7", "end of range (7) above maximum (6): 7"),
    ("5-3 * * * *", "beginning of range (5) beyond end of range (3): 5-3"),
    ("*/0 * * * *", "step of range should be a positive number: */0"),
    ("1-2-3 * * * *", "too many hyphens: 1-2-3"),
    ("x * * * *", 'failed to parse int from x: strconv.Atoi: parsing "x": invalid syntax'),
    ("@fortnightly", "unrecognized descriptor: @fortnightly"),
], ids=lambda v: str(v))
def test_bad_schedules_say_why(spec: str, message: str) -> None:
    with pytest.raises(cron.ParseError) as info:
        cron.parse(spec)
    assert str(info.value) == message


def test_unknown_zone() -> None:
    with pytest.raises(cron.ParseError, match="unknown time zone Mars/Olympus"):
        cron.parse("* * * * *", "Mars/Olympus")


def cronjob(created: str, last: str | None = None, **spec: Any) -> dict[str, Any]:
    status = {"lastScheduleTime": last} if last else {}
    return {"metadata": {"name": "tick", "creationTimestamp": created},
            "spec": {"schedule": "*/1 * * * *", **spec}, "status": status}


@pytest.mark.parametrize(("cj", "now", "due", "missed"), [
    (cronjob("2024-01-01T00:00:10Z"), "2024-01-01T00:00:50Z", None, 0),
    (cronjob("2024-01-01T00:00:10Z"), "2024-01-01T00:01:00Z", "2024-01-01T00:01:00Z", 0),
    (cronjob("2024-01-01T00:00:10Z", "2024-01-01T00:01:00Z"), "2024-01-01T00:01:30Z", None, 0),
    (cronjob("2024-01-01T00:00:10Z"), "2024-01-01T00:10:20Z", "2024-01-01T00:10:00Z", 10),
    (cronjob("2024-01-01T00:00:10Z"), "2024-01-01T05:00:20Z", "2024-01-01T05:00:00Z", 300),
    (cronjob("2024-01-01T00:00:10Z", startingDeadlineSeconds=90), "2024-01-01T05:00:20Z",
     "2024-01-01T05:00:00Z", 2),
], ids=["before-first", "first", "already-done", "ten-missed", "many-missed", "deadline"])
def test_due(cj: dict[str, Any], now: str, due: str | None, missed: int) -> None:
    recent = times.due(cj, at(now), cron.parse("*/1 * * * *"))
    assert recent.most_recent == (at(due) if due else None)
    assert recent.missed == missed


def test_requeue_just_after_next_time() -> None:
    cj = cronjob("2024-01-01T00:00:10Z", "2024-01-01T00:01:00Z")
    wait = times.requeue_after(cj, at("2024-01-01T00:01:20Z"), cron.parse("*/1 * * * *"))
    assert wait == pytest.approx(40.1)


def test_too_late() -> None:
    cj = cronjob("2024-01-01T00:00:00Z", startingDeadlineSeconds=30)
    assert times.too_late(cj, at("2024-01-01T00:01:00Z"), at("2024-01-01T00:01:31Z"))
    assert not times.too_late(cj, at("2024-01-01T00:01:00Z"), at("2024-01-01T00:01:29Z"))
