"""Reading a deployment's ReplicaSets: which is new, which are old, counts and orderings.

Pure functions over RS dicts as the informer cache holds them; nothing here writes.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from typing import Any

from kubelite.controllers.deployment import hashing

Obj = dict[str, Any]
DESIRED = "deployment.kubernetes.io/desired-replicas"
MAX = "deployment.kubernetes.io/max-replicas"


def spec_replicas(rs: Obj | None) -> int:
    if rs is None:
        return 0
    value = (rs.get("spec") or {}).get("replicas")
    return 1 if value is None else int(value)


def _status(rs: Obj | None, field: str) -> int:
    return int(((rs or {}).get("status") or {}).get(field) or 0)


def total_spec(rss: Iterable[Obj | None]) -> int:
    """Replicas the sets are asked for (upstream's GetReplicaCountForReplicaSets)."""
    return sum(spec_replicas(rs) for rs in rss if rs is not None)


def total_actual(rss: Iterable[Obj | None]) -> int:
    return sum(_status(rs, "replicas") for rs in rss if rs is not None)


def total_ready(rss: Iterable[Obj | None]) -> int:
    return sum(_status(rs, "readyReplicas") for rs in rss if rs is not None)


def total_available(rss: Iterable[Obj | None]) -> int:
    return sum(_status(rs, "availableReplicas") for rs in rss if rs is not None)


def available(rs: Obj | None) -> int:
    return _status(rs, "availableReplicas")


def active(rss: Iterable[Obj | None]) -> list[Obj]:
    """Sets asked for at least one replica."""
    return [rs for rs in rss if rs is not None and spec_replicas(rs) > 0]


def _created(rs: Obj) -> tuple[str, str]:
    return (rs["metadata"].get("creationTimestamp") or "", rs["metadata"]["name"])


def by_creation(rss: Iterable[Obj]) -> list[Obj]:
    """Oldest first; equal timestamps by name."""
    return sorted(rss, key=_created)


def by_size_newer(rss: Iterable[Obj]) -> list[Obj]:
    """Largest first; equal sizes newest first (scaling up favours new sets)."""
    def cmp(a: Obj, b: Obj) -> int:
        if spec_replicas(a) != spec_replicas(b):
            return spec_replicas(b) - spec_replicas(a)
        return (_created(a) < _created(b)) - (_created(a) > _created(b))
    return sorted(rss, key=functools.cmp_to_key(cmp))


def by_size_older(rss: Iterable[Obj]) -> list[Obj]:
    """Largest first; equal sizes oldest first (scaling down removes from old sets)."""
    return sorted(rss, key=lambda rs: (-spec_replicas(rs), _created(rs)))


def find_new(d: Obj, rss: Iterable[Obj]) -> Obj | None:
    """The oldest set whose template equals the deployment's (ignoring the hash label)."""
    template = (d.get("spec") or {}).get("template")
    for rs in by_creation(rss):
        if hashing.equal_ignore_hash((rs.get("spec") or {}).get("template"), template):
            return rs
    return None


def find_old(d: Obj, rss: list[Obj]) -> list[Obj]:
    """Every set but the new one."""
    new = find_new(d, rss)
    new_uid = new["metadata"]["uid"] if new is not None else None
    return [rs for rs in rss if rs["metadata"].get("uid") != new_uid]


def find_active_or_latest(new: Obj | None, old: list[Obj]) -> Obj | None:
    """The only active set; the newest set when none is active; None when several are."""
    if new is None and not old:
        return None
    newest_first = list(reversed(by_creation(old)))
    live = active(newest_first + [new])
    if not live:
        return new if new is not None else newest_first[0]
    return live[0] if len(live) == 1 else None


def annotation_int(rs: Obj | None, name: str) -> int | None:
    value = ((rs or {}).get("metadata", {}).get("annotations") or {}).get(name)
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def is_saturated(d: Obj, rs: Obj | None, desired: int) -> bool:
    """The new set runs the full count, was sized for it, and all of it is available."""
    if rs is None:
        return False
    return (spec_replicas(rs) == desired and annotation_int(rs, DESIRED) == desired
            and available(rs) == desired)


def replicas_annotations_need_update(rs: Obj, desired: int, maximum: int) -> bool:
    ann = rs["metadata"].get("annotations") or {}
    return ann.get(DESIRED) != str(desired) or ann.get(MAX) != str(maximum)


def set_replicas_annotations(rs: Obj, desired: int, maximum: int) -> bool:
    """Record the deployment size and its surge ceiling on the set; True if changed."""
    ann = rs["metadata"].setdefault("annotations", {})
    changed = False
    for name, value in ((DESIRED, str(desired)), (MAX, str(maximum))):
        if ann.get(name) != value:
            ann[name] = value
            changed = True
    return changed
