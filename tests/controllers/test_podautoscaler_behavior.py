"""Stabilization windows and scaling policies, with an explicit clock (seconds)."""

from __future__ import annotations

from typing import Any

import pytest

from kubelite.controllers.podautoscaler import behavior

Obj = dict[str, Any]
B = behavior


@pytest.mark.parametrize(("current", "desired", "low", "high", "want", "why"), [
    (3, 10, 1, 20, 6, B.UP_LIMIT),
    (1, 10, 1, 20, 4, B.UP_LIMIT),
    (10, 25, 1, 20, 20, B.TOO_MANY),
    (3, 0, 1, 20, 1, B.TOO_FEW),
    (3, 5, 1, 20, 5, B.WITHIN),
    (5, 2, 2, 20, 2, B.WITHIN),
], ids=["double", "at-least-four", "max", "min", "within-up", "within-down"])
def test_fixed_limits(current: int, desired: int, low: int, high: int, want: int,
                      why: tuple[str, str]) -> None:
    assert B.fixed_limits(current, desired, low, high) == (want, why)


def test_default_downscale_stabilization() -> None:
    h = B.History(recommendations=[(0.0, 5)])
    first = B.normalize_default(h, 5, 2, low=1, high=10, now=100.0)
    assert (first.replicas, first.able) == (5, B.DOWN_STABILIZED)
    later = B.normalize_default(h, 5, 2, low=1, high=10, now=301.0)
    assert (later.replicas, later.able, later.limited) == (2, B.READY, B.WITHIN)
    up = B.normalize_default(h, 2, 3, low=1, high=10, now=302.0)
    assert (up.replicas, up.able) == (3, B.READY)      # scale-up is never delayed


def test_default_window_keeps_history_bounded() -> None:
    h = B.History()
    for t in range(0, 3000, 15):
        B.normalize_default(h, 3, 3, low=1, high=10, now=float(t))
    assert len(h.recommendations) <= 300 // 15 + 1


def rules(select: str = "Max", window: int | None = None, **policies: tuple[int, int]) -> Obj:
    out: Obj = {"selectPolicy": select, "policies": [
        {"type": kind, "value": v, "periodSeconds": p} for kind, (v, p) in policies.items()]}
    if window is not None:
        out["stabilizationWindowSeconds"] = window
    return out


UP_DEFAULT = rules(window=0, Pods=(4, 15), Percent=(100, 15))
DOWN_DEFAULT = rules(Percent=(100, 15))


@pytest.mark.parametrize(("current", "desired", "up", "down", "low", "high", "want", "why"), [
    (1, 10, UP_DEFAULT, DOWN_DEFAULT, 1, 20, 5, B.UP_LIMIT),
    (10, 50, UP_DEFAULT, DOWN_DEFAULT, 1, 30, 20, B.UP_LIMIT),
    (10, 50, UP_DEFAULT, DOWN_DEFAULT, 1, 15, 15, B.TOO_MANY),
    (10, 50, rules("Min", Pods=(4, 15), Percent=(100, 15)), DOWN_DEFAULT, 1, 30, 14,
     B.UP_LIMIT),
    (10, 50, rules("Disabled", Pods=(4, 15)), DOWN_DEFAULT, 1, 30, 10, B.UP_LIMIT),
    (100, 10, UP_DEFAULT, rules(window=0, Percent=(10, 60)), 1, 200, 90, B.DOWN_LIMIT),
    (100, 10, UP_DEFAULT, rules("Min", window=0, Percent=(10, 60), Pods=(5, 60)), 1, 200, 95,
     B.DOWN_LIMIT),
    (100, 10, UP_DEFAULT, rules("Max", window=0, Percent=(10, 60), Pods=(5, 60)), 1, 200, 90,
     B.DOWN_LIMIT),
    (100, 10, UP_DEFAULT, rules("Disabled", window=0, Percent=(10, 60)), 1, 200, 100,
     B.DOWN_LIMIT),
    (10, 1, UP_DEFAULT, rules(window=0, Percent=(100, 15)), 3, 20, 3, B.TOO_FEW),
    (10, 4, UP_DEFAULT, rules(window=0, Percent=(100, 15)), 3, 20, 4, B.WITHIN),
], ids=["up-pods-policy", "up-percent-policy", "up-max", "up-select-min", "up-disabled",
        "down-percent", "down-select-min", "down-select-max", "down-disabled", "down-min",
        "down-within"])
def test_policies(current: int, desired: int, up: Obj, down: Obj, low: int, high: int,
                  want: int, why: tuple[str, str]) -> None:
    d = B.normalize_with_behavior(B.History(), current, desired,
                                  {"scaleUp": up, "scaleDown": down}, low=low, high=high,
                                  now=1000.0)
    assert (d.replicas, d.limited) == (want, why)


def test_policy_periods_count_past_events() -> None:
    spec = {"scaleUp": rules(window=0, Pods=(4, 60)), "scaleDown": DOWN_DEFAULT}
    h = B.History()
    first = B.normalize_with_behavior(h, 2, 20, spec, low=1, high=50, now=0.0)
    assert first.replicas == 6
    B.record_scale(h, spec, 2, 6, 0.0)
    inside = B.normalize_with_behavior(h, 6, 20, spec, low=1, high=50, now=30.0)
    assert (inside.replicas, inside.limited) == (6, B.UP_LIMIT)   # 4 pods already added
    after = B.normalize_with_behavior(h, 6, 20, spec, low=1, high=50, now=61.0)
    assert after.replicas == 10


def test_behavior_stabilization_windows() -> None:
    spec = {"scaleUp": rules(window=60, Pods=(100, 15)), "scaleDown": rules(window=120,
                                                                          Percent=(100, 15))}
    h = B.History(recommendations=[(0.0, 3)])
    up = B.normalize_with_behavior(h, 3, 6, spec, low=1, high=20, now=10.0)
    assert (up.replicas, up.able) == (3, B.UP_STABILIZED)
    up_later = B.normalize_with_behavior(h, 3, 6, spec, low=1, high=20, now=65.0)
    assert (up_later.replicas, up_later.able) == (6, B.READY)
    down = B.normalize_with_behavior(h, 6, 1, spec, low=1, high=20, now=70.0)
    assert (down.replicas, down.able) == (6, B.DOWN_STABILIZED)
    down_later = B.normalize_with_behavior(h, 6, 1, spec, low=1, high=20, now=200.0)
    assert (down_later.replicas, down_later.able) == (1, B.READY)


def test_unset_scale_down_window_uses_controller_default() -> None:
    spec = {"scaleUp": UP_DEFAULT, "scaleDown": DOWN_DEFAULT}
    h = B.History(recommendations=[(0.0, 4)])
    held = B.normalize_with_behavior(h, 4, 1, spec, low=1, high=10, now=299.0,
                                     default_down_window=300.0)
    free = B.normalize_with_behavior(h, 4, 1, spec, low=1, high=10, now=299.0,
                                     default_down_window=10.0)
    assert (held.replicas, free.replicas) == (4, 1)


def test_record_scale_without_behavior_keeps_nothing() -> None:
    h = B.History()
    B.record_scale(h, None, 1, 5, 0.0)
    B.record_scale(h, {"scaleUp": UP_DEFAULT}, 1, 5, 0.0)
    assert h.up_events == [(0.0, 4)] and h.down_events == []
