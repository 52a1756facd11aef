"""RollingUpdate steps, as pure functions of cached state (upstream's rollingUpdate).

Without surge, old pods are deleted while fewer than maxUnavailable desired nodes lack an
available pod (the manage step then creates the new pod). With maxSurge, a new pod is
started beside an old one on at most maxSurge nodes at a time, and the old pod goes once
the new one is available.
"""

from __future__ import annotations

import datetime
import math
from typing import Any

from kubelite.controllers import pods
from kubelite.controllers.daemonset import placement

Obj = dict[str, Any]


def scaled(value: Any, total: int) -> int:
    """An int-or-percent of `total`, rounded up."""
    if isinstance(value, str) and value.endswith("%"):
        return math.ceil(int(value[:-1]) * total / 100)
    return int(value or 0)


def _params(ds: Obj) -> Obj:
    return ((ds.get("spec") or {}).get("updateStrategy") or {}).get("rollingUpdate") or {}


def max_surge(ds: Obj, desired: int) -> int:
    return scaled(_params(ds).get("maxSurge", 0), desired)


def max_unavailable(ds: Obj, desired: int) -> int:
    """maxUnavailable scaled to the desired count; 1 when both it and maxSurge are 0."""
    value = scaled(_params(ds).get("maxUnavailable", 1), desired)
    return value if value > 0 or max_surge(ds, desired) > 0 else 1


def desired_nodes(ds: Obj, nodes: list[Obj]) -> list[str]:
    return [n["metadata"]["name"] for n in nodes if placement.node_fit(ds, n).should_run]


def _split(ds: Obj, here: list[Obj], hash_: str) -> tuple[list[Obj], list[Obj]]:
    """(new, old) live pods on one node."""
    live = [p for p in here if not p["metadata"].get("deletionTimestamp")]
    new = [p for p in live if placement.is_updated(p, hash_, ds)]
    return new, [p for p in live if p not in new]


def _per_node(ds: Obj, nodes: list[Obj], node_pods: dict[str, list[Obj]]
              ) -> tuple[list[str], dict[str, list[Obj]]]:
    """Desired node names, and pods by node with every desired node present (maybe empty)."""
    desired = desired_nodes(ds, nodes)
    return desired, {name: node_pods.get(name, []) for name in sorted(set(node_pods) | set(desired))}


def deletions(ds: Obj, nodes: list[Obj], node_pods: dict[str, list[Obj]], hash_: str,
              now: datetime.datetime) -> list[Obj]:
    """Without surge: unavailable old pods always, available ones while fewer than
    maxUnavailable nodes lack an available pod."""
    desired, by_node = _per_node(ds, nodes, node_pods)
    budget = max_unavailable(ds, len(desired))
    min_ready = int((ds.get("spec") or {}).get("minReadySeconds") or 0)
    unavailable, replace, candidates = 0, [], []
    for here in by_node.values():
        new, old = _split(ds, here, hash_)
        if len(new) > 1 or len(old) > 1 or bool(new) == bool(old):
            unavailable += 1            # manage will create or trim; count it as down
        elif new:
            unavailable += 0 if pods.is_available(new[0], min_ready, now) else 1
        elif not pods.is_available(old[0], min_ready, now):
            replace.append(old[0])
        elif unavailable < budget:
            candidates.append(old[0])
    room = min(max(budget - unavailable, 0), len(candidates))
    return replace + candidates[:room]


def surge(ds: Obj, nodes: list[Obj], node_pods: dict[str, list[Obj]], hash_: str,
          now: datetime.datetime) -> tuple[list[str], list[Obj]]:
    """With surge: (nodes to start a new pod on, old pods to delete)."""
    desired, by_node = _per_node(ds, nodes, node_pods)
    fits = set(desired)
    min_ready = int((ds.get("spec") or {}).get("minReadySeconds") or 0)
    surging = available = 0
    delete: list[Obj] = []
    unfit: list[Obj] = []
    allowed: list[str] = []
    candidates: list[str] = []
    for name, here in by_node.items():
        new, old = _split(ds, here, hash_)
        if len(new) > 1 or len(old) > 1:
            surging += 1                 # manage trims the extras
            continue
        shown = old[0] if old else (new[0] if new else None)
        available += 1 if shown is not None and pods.is_available(shown, min_ready, now) else 0
        if not old:
            continue
        if not new:
            if name not in fits:
                (delete if not pods.is_available(old[0], min_ready, now) else unfit).append(
                    old[0])
            elif not pods.is_available(old[0], min_ready, now):
                allowed.append(name)
            elif surging < max_surge(ds, len(desired)):
                candidates.append(name)
        elif pods.is_available(new[0], min_ready, now):
            delete.append(old[0])
        else:
            surging += 1
    room = min(max(max_surge(ds, len(desired)) - surging, 0), len(candidates))
    spare = max(max_unavailable(ds, len(desired)) - (len(desired) - available), 0)
    return allowed + candidates[:room], delete + unfit[:spare]
