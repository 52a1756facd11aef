"""Ages print exactly as kubectl's HumanDuration does."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from kubelite.api.printers import duration

NOW = datetime(2025, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize("seconds,text", [
    (-5, "<invalid>"), (-1.5, "0s"), (0, "0s"), (5, "5s"), (119, "119s"), (120, "2m"),
    (182, "3m2s"), (599, "9m59s"), (600, "10m"), (10_799, "179m"), (10_800, "3h"),
    (5 * 3600 + 240, "5h4m"), (8 * 3600 + 59, "8h"), (47 * 3600, "47h"), (48 * 3600, "2d"),
    (51 * 3600, "2d3h"), (8 * 86400, "8d"), (45 * 86400, "45d"), (729 * 86400, "729d"),
    (730 * 86400, "2y"), (760 * 86400, "2y30d"), (8 * 365 * 86400, "8y"),
])
def test_human_duration(seconds: float, text: str) -> None:
    assert duration.human(timedelta(seconds=seconds)) == text


@pytest.mark.parametrize("stamp,text", [
    ("2024-12-31T23:59:55Z", "5s"),
    ("2024-12-31T23:56:58.123456789Z", "3m1s"),
    ("2024-12-30T21:00:00+00:00", "27h"),
    (None, "<unknown>"),
    ("", "<unknown>"),
    ("yesterday", "<unknown>"),
])
def test_since(stamp: str | None, text: str) -> None:
    assert duration.since(stamp, NOW) == text
