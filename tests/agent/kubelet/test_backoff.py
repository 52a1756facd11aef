from __future__ import annotations

import pytest

from kubelite.agent.kubelet import backoff


def test_doubles_from_ten_seconds_to_five_minutes() -> None:
    b = backoff.BackOff()
    assert [b.next("k", float(t)) for t in range(7)] == [10, 20, 40, 80, 160, 300, 300]


@pytest.mark.parametrize(("finished", "now", "expected"), [
    (100.0, 105.0, True),    # 5 s after the exit, the 10 s window is still open
    (100.0, 111.0, False),   # window over: restart now
], ids=["inside-window", "after-window"])
def test_in_backoff_since(finished: float, now: float, expected: bool) -> None:
    b = backoff.BackOff()
    b.next("k", 100.0)
    assert b.in_backoff_since("k", finished, now) is expected


def test_first_crash_is_not_in_backoff_and_stale_entries_start_over() -> None:
    b = backoff.BackOff()
    assert not b.in_backoff_since("k", 0.0, 1.0)
    for t in range(4):
        b.next("k", float(t))
    assert b.next("k", 10_000.0) == 10  # untouched for more than 2 x 300 s


def test_forget_prefix_drops_one_pods_entries() -> None:
    b = backoff.BackOff()
    b.next("uid1/a", 0.0)
    b.next("uid2/a", 0.0)
    b.forget_prefix("uid1/")
    assert (b.get("uid1/a"), b.get("uid2/a")) == (0.0, 10)
