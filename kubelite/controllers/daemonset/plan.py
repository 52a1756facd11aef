"""The DaemonSet controller's decisions as pure functions of cached state.

`node_pods` maps a node name to the DaemonSet's pods for that node (pods that are both
finished and being deleted are left out, as upstream does). Every function here is
deterministic so tests can feed it state and check what it asks for.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from typing import Any

from kubelite.controllers import pods
from kubelite.controllers.daemonset import placement, rolling

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


def manage(ds: Obj, nodes: list[Obj], node_pods: dict[str, list[Obj]], *, hash_: str = "",
           now: datetime.datetime | None = None) -> Actions:
    """Pods to create and delete so each fitting node runs exactly one daemon pod (or, while
    a surging update waits for the new pod, one old and one new)."""
    surge = hash_ if now is not None and allows_surge(ds) else None
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
            _keep_running(acts, name, here, ds, surge, now)
        else:
            acts.delete += [p for p in here if not p["metadata"].get("deletionTimestamp")]
    for name, here in node_pods.items():
        if name not in names:     # unscheduled pods pinned to a node that is gone
            acts.delete += [p for p in here if not (p.get("spec") or {}).get("nodeName")
                            and not p["metadata"].get("deletionTimestamp")]
    return acts


def _keep_running(acts: Actions, node: str, here: list[Obj], ds: Obj, surge: str | None,
                  now: datetime.datetime | None) -> None:
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
    running.sort(key=_age_key)
    if surge is None or now is None:
        acts.delete += running[1:]
        return
    new = [p for p in running if (p["metadata"].get("labels") or {}).get(
        placement.HASH_LABEL) == surge]
    old = [p for p in running if p not in new]
    acts.delete += new[1:] + old[1:]
    if new and old:
        min_ready = int((ds.get("spec") or {}).get("minReadySeconds") or 0)
        if not pods.is_ready(old[0]) or pods.is_available(new[0], min_ready, now):
            acts.delete.append(old[0])


def allows_surge(ds: Obj) -> bool:
    """maxSurge above zero (any percentage counts as one) on a RollingUpdate set."""
    strategy = (ds.get("spec") or {}).get("updateStrategy") or {}
    if strategy.get("type", "RollingUpdate") != "RollingUpdate":
        return False
    return rolling.scaled((strategy.get("rollingUpdate") or {}).get("maxSurge", 0), 1) > 0


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
