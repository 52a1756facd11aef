"""RollingUpdate arithmetic: how far the new set may grow and the old sets may shrink.

The total never exceeds replicas + maxSurge, and available pods never drop below
replicas - maxUnavailable. Old sets' unhealthy (unavailable) pods go first, since they
cost no availability and would otherwise block the rollout. Pure: returns target sizes,
the controller writes them.
"""

from __future__ import annotations

from typing import Any

from kubelite.controllers.deployment import fenceposts, replicasets

Obj = dict[str, Any]
Plan = list[tuple[Obj, int]]


def new_rs_new_replicas(d: Obj, all_rss: list[Obj | None], new_rs: Obj | None) -> int:
    """The size the new set may have now (upstream's NewRSNewReplicas)."""
    desired = fenceposts.replicas(d)
    if not fenceposts.is_rolling(d):
        return desired
    current_new = replicasets.spec_replicas(new_rs)
    surge = fenceposts.scaled_value(_rolling(d).get("maxSurge"), desired, round_up=True)
    max_total = desired + surge
    current = replicasets.total_spec(all_rss)
    if current >= max_total:
        return current_new
    return current_new + min(max_total - current, desired - current_new)


def _rolling(d: Obj) -> Obj:
    return ((d.get("spec") or {}).get("strategy") or {}).get("rollingUpdate") or {}


def new_rs_target(d: Obj, all_rss: list[Obj | None], new_rs: Obj) -> int | None:
    """The new set's next size, or None when it should stay as it is."""
    desired, have = fenceposts.replicas(d), replicasets.spec_replicas(new_rs)
    if have == desired:
        return None
    if have > desired:
        return desired
    target = new_rs_new_replicas(d, all_rss, new_rs)
    return None if target == have else target


def old_rs_targets(d: Obj, all_rss: list[Obj | None], old_active: list[Obj],
                   new_rs: Obj | None) -> Plan:
    """Scale-downs of old sets allowed now: unhealthy pods first, then by availability."""
    if replicasets.total_spec(old_active) == 0:
        return []
    min_available = fenceposts.replicas(d) - fenceposts.max_unavailable(d)
    new_unavailable = replicasets.spec_replicas(new_rs) - replicasets.available(new_rs)
    max_down = replicasets.total_spec(all_rss) - min_available - new_unavailable
    if max_down <= 0:
        return []
    sizes = {rs["metadata"]["name"]: replicasets.spec_replicas(rs) for rs in old_active}
    ordered = replicasets.by_creation(old_active)
    cleaned = 0
    for rs in ordered:
        name = rs["metadata"]["name"]
        if cleaned >= max_down:
            break
        unhealthy = sizes[name] - replicasets.available(rs)
        if sizes[name] == 0 or unhealthy <= 0:
            continue
        step = min(max_down - cleaned, unhealthy)
        sizes[name] -= step
        cleaned += step
    _scale_down_available(d, ordered, new_rs, sizes)
    return [(rs, sizes[rs["metadata"]["name"]]) for rs in ordered
            if sizes[rs["metadata"]["name"]] != replicasets.spec_replicas(rs)]


def _scale_down_available(d: Obj, ordered_old: list[Obj], new_rs: Obj | None,
                          sizes: dict[str, int]) -> None:
    """Shrink old sets, oldest first, while available pods stay above the minimum."""
    min_available = fenceposts.replicas(d) - fenceposts.max_unavailable(d)
    available = replicasets.total_available([*ordered_old, new_rs])
    budget = available - min_available
    for rs in ordered_old:
        if budget <= 0:
            break
        name = rs["metadata"]["name"]
        if sizes[name] == 0:
            continue
        step = min(sizes[name], budget)
        sizes[name] -= step
        budget -= step
