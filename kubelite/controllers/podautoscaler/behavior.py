"""From the metrics' wish to the size to set: stabilization windows and rate limits.

Without spec.behavior (autoscaling/v1 objects) upstream's fixed rules apply: scale-down
is stabilized over the controller's window (the highest recent recommendation wins) and
scale-up is capped at max(2 * current, 4). With spec.behavior, each direction has its own
stabilization window and policies (Pods / Percent per period) chosen by selectPolicy
(Max, Min, Disabled), counted against the scale events of each policy's period.

Every function returns (replicas, reason, message) with upstream's condition reasons.
The history is kept per HPA in `History`, which the caller owns; times are seconds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

Obj = dict[str, Any]
DEFAULT_DOWNSCALE_WINDOW = 300.0

READY = ("ReadyForNewScale", "recommended size matches current size")
DOWN_STABILIZED = ("ScaleDownStabilized", ("recent recommendations were higher than current "
                   "one, applying the highest recent recommendation"))
UP_STABILIZED = ("ScaleUpStabilized", ("recent recommendations were lower than current one, "
                 "applying the lowest recent recommendation"))
WITHIN = ("DesiredWithinRange", "the desired count is within the acceptable range")
TOO_FEW = ("TooFewReplicas", "the desired replica count is less than the minimum replica count")
TOO_MANY = ("TooManyReplicas", ("the desired replica count is more than the maximum replica "
            "count"))
UP_LIMIT = ("ScaleUpLimit", ("the desired replica count is increasing faster than the maximum "
            "scale rate"))
DOWN_LIMIT = ("ScaleDownLimit", ("the desired replica count is decreasing faster than the "
              "maximum scale rate"))


@dataclass
class History:
    """One HPA's recent recommendations and scale events: (time, replicas/change)."""
    recommendations: list[tuple[float, int]] = field(default_factory=list)
    up_events: list[tuple[float, int]] = field(default_factory=list)
    down_events: list[tuple[float, int]] = field(default_factory=list)


@dataclass(frozen=True)
class Decision:
    replicas: int
    able: tuple[str, str]        # AbleToScale (True) reason and message
    limited: tuple[str, str]     # ScalingLimited reason and message (True unless WITHIN)


def _remember(items: list[tuple[float, int]], entry: tuple[float, int], cutoff: float) -> None:
    """Replace one entry older than `cutoff` with `entry`, or append it."""
    for i, (stamp, _) in enumerate(items):
        if stamp < cutoff:
            items[i] = entry
            return
    items.append(entry)


def stabilize(history: History, desired: int, now: float, window: float) -> int:
    """Default rule: the highest recommendation within `window` seconds."""
    best = desired
    for stamp, replicas in history.recommendations:
        if stamp > now - window:
            best = max(best, replicas)
    _remember(history.recommendations, (now, desired), now - window)
    return best


def fixed_limits(current: int, desired: int, low: int, high: int) -> tuple[int, tuple[str, str]]:
    """Default rule: clamp to [min, max] and at most double (or reach 4) in one step."""
    up_limit = max(2 * current, 4)
    ceiling, why = (up_limit, UP_LIMIT) if high > up_limit else (high, TOO_MANY)
    if desired < low:
        return low, TOO_FEW
    if desired > ceiling:
        return ceiling, why
    return desired, WITHIN


def normalize_default(history: History, current: int, desired: int, *, low: int, high: int,
                      now: float, window: float = DEFAULT_DOWNSCALE_WINDOW) -> Decision:
    stable = stabilize(history, desired, now, window)
    able = READY if stable == desired else DOWN_STABILIZED
    final, limited = fixed_limits(current, stable, low, high)
    return Decision(final, able, limited)


def _window(rules: Obj, default: float) -> float:
    value = rules.get("stabilizationWindowSeconds")
    return default if value is None else float(value)


def stabilize_with_behavior(history: History, current: int, desired: int, now: float, *,
                            up_window: float, down_window: float) -> int:
    """Up: the lowest recommendation within its window; down: the highest within its."""
    up, down = desired, desired
    for stamp, replicas in history.recommendations:
        if stamp > now - up_window:
            up = min(up, replicas)
        if stamp > now - down_window:
            down = max(down, replicas)
    _remember(history.recommendations, (now, desired), now - max(up_window, down_window))
    return min(max(current, up), down)


def _change_in(events: list[tuple[float, int]], period: float, now: float) -> int:
    return sum(change for stamp, change in events if stamp > now - period)


def _start_of_period(history: History, current: int, period: float, now: float) -> int:
    return (current - _change_in(history.up_events, period, now)
            + _change_in(history.down_events, period, now))


def _proposals(history: History, current: int, rules: Obj, now: float, up: bool) -> list[int]:
    """What each policy allows, counted from the size at the start of its period."""
    out = []
    for policy in rules.get("policies") or []:
        start = _start_of_period(history, current, float(policy["periodSeconds"]), now)
        value = int(policy["value"])
        if policy["type"] == "Pods":
            out.append(start + value if up else start - value)
        elif up:
            out.append(math.ceil(start * (1 + value / 100)))
        else:
            out.append(int(start * (1 - value / 100)))
    return out


def up_limit(history: History, current: int, rules: Obj, now: float) -> int:
    """The most replicas scale-up policies allow now (Max picks the biggest change)."""
    select = rules.get("selectPolicy") or "Max"
    proposals = _proposals(history, current, rules, now, up=True)
    if select == "Disabled" or not proposals:
        return current
    return min(proposals) if select == "Min" else max(proposals)


def down_limit(history: History, current: int, rules: Obj, now: float) -> int:
    """The fewest replicas scale-down policies allow now (Max picks the biggest change)."""
    select = rules.get("selectPolicy") or "Max"
    proposals = _proposals(history, current, rules, now, up=False)
    if select == "Disabled" or not proposals:
        return current
    return max(proposals) if select == "Min" else min(proposals)


def rate_limits(history: History, current: int, desired: int, behavior: Obj, *, low: int,
                high: int, now: float) -> tuple[int, tuple[str, str]]:
    if desired > current:
        limit = max(up_limit(history, current, behavior.get("scaleUp") or {}, now), current)
        ceiling, why = (limit, UP_LIMIT) if high > limit else (high, TOO_MANY)
        return (ceiling, why) if desired > ceiling else (desired, WITHIN)
    if desired < current:
        limit = min(down_limit(history, current, behavior.get("scaleDown") or {}, now),
                    current)
        floor, why = (limit, DOWN_LIMIT) if low < limit else (low, TOO_FEW)
        return (floor, why) if desired < floor else (desired, WITHIN)
    return desired, WITHIN


def normalize_with_behavior(history: History, current: int, desired: int, behavior: Obj, *,
                            low: int, high: int, now: float,
                            default_down_window: float = DEFAULT_DOWNSCALE_WINDOW) -> Decision:
    up_window = _window(behavior.get("scaleUp") or {}, 0.0)
    down_window = _window(behavior.get("scaleDown") or {}, default_down_window)
    stable = stabilize_with_behavior(history, current, desired, now, up_window=up_window,
                                     down_window=down_window)
    if stable == desired:
        able = READY
    else:
        able = DOWN_STABILIZED if stable > desired else UP_STABILIZED
    final, limited = rate_limits(history, current, stable, behavior, low=low, high=high, now=now)
    return Decision(final, able, limited)


def record_scale(history: History, behavior: Obj | None, before: int, after: int,
                 now: float) -> None:
    """Remember a rescale for the policies' periods (only behaviors use them)."""
    if behavior is None or before == after:
        return
    up = after > before
    rules = behavior.get("scaleUp" if up else "scaleDown") or {}
    longest = max((float(p["periodSeconds"]) for p in rules.get("policies") or []),
                  default=0.0)
    events = history.up_events if up else history.down_events
    _remember(events, (now, abs(after - before)), now - longest)
