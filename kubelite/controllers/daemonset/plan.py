"""The DaemonSet controller's decisions as pure functions of cached state.

`node_pods` maps a node name to the DaemonSet's pods for that node (pods that are both
finished and being deleted are left out, as upstream does). Every function here is
deterministic so tests can feed it state and check what it asks for.
"""

from __future__ import annotations

import datetime
import math
from dataclasses import dataclass, field
from typing import Any

from kubelite.controllers import pods
from kubelite.controllers.daemonset import placement

Obj = dict[str, Any]


@dataclass
class Actions:
    create_on: list[str] = field(default_factory=list)       # node names needing a pod
    delete: list[Obj] = field(default_factory=list)          # pods to delete
    failed: list[tuple[Obj, str]] = field(default_factory=list)  # (failed pod, node name)


def _age_key(pod: Obj) -> tuple[str, str]:
    return (pod["metadata"].get("creationTimestamp") or "", pod["metadata"]["name"])


def group_by_node(ds_pods: list[Obj]) -> dict[str, list[Obj]]:
    """The DaemonSet's pods by target node, without finished pods being deleted."""
    out: dict[str, list[Obj]] = {}
    for pod in ds_pods:
        phase = (pod.get("status") or {}).get("phase")
        if phase in ("Succeeded", "Failed") and pod["metadata"].get("deletionTimestamp"):
            continue
        node = placement.target_node(pod)
        if node is not None:
            out.setdefault(node, []).append(pod)
    return out


def manage(ds: Obj, nodes: list[Obj], node_pods: dict[str, list[Obj]]) -> Actions:
    """Pods to create and delete so each fitting node runs exactly one daemon pod."""
    acts = Actions()
    names = set()
    for node in nodes:
        name = node["metadata"]["name"]
        names.add(name)
        fit = placement.node_fit(ds, node)
        here = node_pods.get(name, [])
        if fit.should_run and not here:
            acts.create_on.append(name)
        elif fit.should_continue:
            _keep_one(acts, name, here)
        else:
            acts.delete += [p for p in here if not p["metadata"].get("deletionTimestamp")]
    for name, here in node_pods.items():
        if name not in names:     # unscheduled pods pinned to a node that is gone
            acts.delete += [p for p in here if not (p.get("spec") or {}).get("nodeName")
                            and not p["metadata"].get("deletionTimestamp")]
    return acts


def _keep_one(acts: Actions, node: str, here: list[Obj]) -> None:
    """Finished pods go (failed ones reported); of several running pods the oldest stays."""
    running = []
    for pod in here:
        if pod["metadata"].get("deletionTimestamp"):
            continue
        phase = (pod.get("status") or {}).get("phase")
        if phase == "Failed":
            acts.failed.append((pod, node))
            acts.delete.append(pod)
        elif phase == "Succeeded":
            acts.delete.append(pod)
        else:
            running.append(pod)
    acts.delete += sorted(running, key=_age_key)[1:]


def max_unavailable(ds: Obj, desired: int) -> int:
    """rollingUpdate.maxUnavailable scaled to the desired count (rounded up); at least 1
    when maxSurge is 0, like upstream."""
    rolling = ((ds.get("spec") or {}).get("updateStrategy") or {}).get("rollingUpdate") or {}
    value = _scaled(rolling.get("maxUnavailable", 1), desired)
    return value if value > 0 or _scaled(rolling.get("maxSurge", 0), desired) > 0 else 1


def _scaled(value: Any, total: int) -> int:
    if isinstance(value, str) and value.endswith("%"):
        return math.ceil(int(value[:-1]) * total / 100)
    return int(value or 0)


def desired_nodes(ds: Obj, nodes: list[Obj]) -> list[str]:
    return [n["metadata"]["name"] for n in nodes if placement.node_fit(ds, n).should_run]


def rolling_deletions(ds: Obj, nodes: list[Obj], node_pods: dict[str, list[Obj]], hash_: str,
                      now: datetime.datetime) -> list[Obj]:
    """Old pods to delete this round: unavailable ones always, available ones while fewer
    than maxUnavailable nodes lack an available pod (the manage step then recreates them)."""
    desired = desired_nodes(ds, nodes)
    budget = max_unavailable(ds, len(desired))
    min_ready = int((ds.get("spec") or {}).get("minReadySeconds") or 0)
    unavailable, replace, candidates = 0, [], []
    for name in sorted(set(node_pods) | set(desired)):   # a desired node without a pod is down
        live = [p for p in node_pods.get(name, []) if not p["metadata"].get("deletionTimestamp")]
        new = [p for p in live if placement.is_updated(p, hash_, ds)]
        old = [p for p in live if not placement.is_updated(p, hash_, ds)]
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


def status(ds: Obj, nodes: list[Obj], node_pods: dict[str, list[Obj]], hash_: str,
           now: datetime.datetime) -> Obj:
    """The DaemonSet status upstream computes, counting the oldest pod on each node."""
    min_ready = int((ds.get("spec") or {}).get("minReadySeconds") or 0)
    desired = current = ready = available = updated = misscheduled = 0
    for node in nodes:
        here = node_pods.get(node["metadata"]["name"], [])
        if not placement.node_fit(ds, node).should_run:
            misscheduled += 1 if here else 0
            continue
        desired += 1
        if not here:
            continue
        current += 1
        pod = min(here, key=_age_key)
        if pods.is_ready(pod):
            ready += 1
            available += 1 if pods.is_available(pod, min_ready, now) else 0
        updated += 1 if placement.is_updated(pod, hash_, ds) else 0
    out: Obj = {"currentNumberScheduled": current, "numberMisscheduled": misscheduled,
                "desiredNumberScheduled": desired, "numberReady": ready,
                "observedGeneration": ds["metadata"].get("generation", 1),
                "updatedNumberScheduled": updated, "numberAvailable": available,
                "numberUnavailable": desired - available}
    old = ds.get("status") or {}
    for key in ("collisionCount", "conditions"):
        if old.get(key):
            out[key] = old[key]
    return {k: v for k, v in out.items() if v or k in _REQUIRED_COUNTS}


_REQUIRED_COUNTS = frozenset({"currentNumberScheduled", "numberMisscheduled",
                              "desiredNumberScheduled", "numberReady"})
