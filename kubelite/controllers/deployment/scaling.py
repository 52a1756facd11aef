"""Proportional scaling: spreading a change of spec.replicas over the active sets mid-rollout.

Each active set grows or shrinks in proportion to its share of the size the deployment
had when the set was last sized (its max-replicas annotation), so a rollout that is half
done stays half done; the rounding leftover goes to the largest set. Pure: returns
target sizes for the controller to write.
"""

from __future__ import annotations

from typing import Any

from kubelite.controllers.deployment import fenceposts, replicasets

Obj = dict[str, Any]
Plan = list[tuple[Obj, int]]


def _round(x: float) -> int:
    """Half away from zero, as Go's math.Round."""
    return int(x + 0.5) if x >= 0 else -int(-x + 0.5)


def _fraction(rs: Obj, d: Obj) -> int:
    desired = fenceposts.replicas(d)
    if desired == 0:
        return -replicasets.spec_replicas(rs)
    allowed = desired + fenceposts.max_surge(d)
    annotated = replicasets.annotation_int(rs, replicasets.MAX)
    if annotated is None:
        annotated = int((d.get("status") or {}).get("replicas") or 0)
    if annotated == 0:
        return 0
    size = replicasets.spec_replicas(rs)
    return _round(size * allowed / annotated) - size


def _proportion(rs: Obj, d: Obj, to_add: int, added: int) -> int:
    if replicasets.spec_replicas(rs) == 0 or to_add == 0 or to_add == added:
        return 0
    fraction, allowed = _fraction(rs, d), to_add - added
    return min(fraction, allowed) if to_add > 0 else max(fraction, allowed)


def proportional(d: Obj, new_rs: Obj | None, old_rss: list[Obj]) -> tuple[Plan, str]:
    """Target sizes of every active set after a resize, and "up"/"down"/"" for events."""
    active = replicasets.active([*old_rss, new_rs])
    desired = fenceposts.replicas(d)
    allowed = desired + fenceposts.max_surge(d) if desired > 0 else 0
    to_add = allowed - replicasets.total_spec(active)
    direction = ""
    if to_add > 0:
        active, direction = replicasets.by_size_newer(active), "up"
    elif to_add < 0:
        active, direction = replicasets.by_size_older(active), "down"
    sizes, added = [], 0
    for rs in active:
        step = _proportion(rs, d, to_add, added) if to_add else 0
        sizes.append(replicasets.spec_replicas(rs) + step)
        added += step
    if active and to_add:
        sizes[0] = max(0, sizes[0] + to_add - added)
    return list(zip(active, sizes)), direction
