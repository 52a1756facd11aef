"""Deployment status: counts from the sets, and the Available / Progressing conditions.

`kubectl rollout status` reads observedGeneration, replicas, updatedReplicas and
availableReplicas, and fails on Progressing=False/ProgressDeadlineExceeded; `kubectl wait
--for=condition=Available` reads the Available condition. Times are RFC 3339 strings.
A condition's lastTransitionTime moves only when its status changes.
"""

from __future__ import annotations

import copy
import datetime
from typing import Any

from kubelite.client import events
from kubelite.controllers import pods
from kubelite.controllers.conditions import find as get_condition
from kubelite.controllers.deployment import fenceposts, replicasets

Obj = dict[str, Any]
AVAILABLE, PROGRESSING, REPLICA_FAILURE = "Available", "Progressing", "ReplicaFailure"
MIN_AVAILABLE = "MinimumReplicasAvailable"
MIN_UNAVAILABLE = "MinimumReplicasUnavailable"
NEW_RS_CREATED = "NewReplicaSetCreated"
FOUND_NEW_RS = "FoundNewReplicaSet"
RS_UPDATED = "ReplicaSetUpdated"
NEW_RS_AVAILABLE = "NewReplicaSetAvailable"
TIMED_OUT = "ProgressDeadlineExceeded"
PAUSED = "DeploymentPaused"
RESUMED = "DeploymentResumed"
RS_CREATE_ERROR = "ReplicaSetCreateError"
NO_DEADLINE = 2147483647


def new_condition(type_: str, status: str, reason: str, message: str) -> Obj:
    stamp = events.now()
    return {"type": type_, "status": status, "lastUpdateTime": stamp,
            "lastTransitionTime": stamp, "reason": reason, "message": message}


def set_condition(status: Obj, cond: Obj) -> None:
    """Replace the condition of cond's type, unless status and reason are unchanged."""
    current = get_condition(status, cond["type"])
    if current is not None and current["status"] == cond["status"] and \
            current.get("reason") == cond.get("reason"):
        return
    if current is not None and current["status"] == cond["status"]:
        cond = dict(cond, lastTransitionTime=current.get("lastTransitionTime"))
    remove_condition(status, cond["type"])
    status.setdefault("conditions", []).append(cond)


def remove_condition(status: Obj, type_: str) -> None:
    kept = [c for c in status.get("conditions") or [] if c.get("type") != type_]
    if kept:
        status["conditions"] = kept
    else:
        status.pop("conditions", None)


def has_deadline(d: Obj) -> bool:
    seconds = (d.get("spec") or {}).get("progressDeadlineSeconds")
    return seconds is not None and int(seconds) != NO_DEADLINE


def calculate(all_rss: list[Obj | None], new_rs: Obj | None, d: Obj) -> Obj:
    """The status the sets imply, conditions carried over with Available recomputed."""
    available = replicasets.total_available(all_rss)
    old = d.get("status") or {}
    status: Obj = {
        "observedGeneration": int(d["metadata"].get("generation") or 0),
        "replicas": replicasets.total_actual(all_rss),
        "updatedReplicas": replicasets.total_actual([new_rs]),
        "readyReplicas": replicasets.total_ready(all_rss),
        "availableReplicas": available,
        "unavailableReplicas": max(0, replicasets.total_spec(all_rss) - available),
    }
    if old.get("collisionCount") is not None:
        status["collisionCount"] = old["collisionCount"]
    if old.get("conditions"):
        status["conditions"] = copy.deepcopy(old["conditions"])
    if available >= fenceposts.replicas(d) - fenceposts.max_unavailable(d):
        set_condition(status, new_condition(AVAILABLE, "True", MIN_AVAILABLE,
                                            "Deployment has minimum availability."))
    else:
        set_condition(status, new_condition(AVAILABLE, "False", MIN_UNAVAILABLE,
                                            "Deployment does not have minimum availability."))
    return status


def is_complete(d: Obj, status: Obj) -> bool:
    """Every replica updated and available, and the latest spec observed."""
    want = fenceposts.replicas(d)
    return (status.get("updatedReplicas", 0) == want and status.get("replicas", 0) == want
            and status.get("availableReplicas", 0) == want
            and status.get("observedGeneration", 0) >= int(d["metadata"].get("generation") or 0))


def is_progressing(d: Obj, new: Obj) -> bool:
    """More updated, fewer old, more ready or more available pods than last time."""
    old = d.get("status") or {}
    old_old = old.get("replicas", 0) - old.get("updatedReplicas", 0)
    new_old = new.get("replicas", 0) - new.get("updatedReplicas", 0)
    return (new.get("updatedReplicas", 0) > old.get("updatedReplicas", 0) or new_old < old_old
            or new.get("readyReplicas", 0) > old.get("readyReplicas", 0)
            or new.get("availableReplicas", 0) > old.get("availableReplicas", 0))


def seconds_to_deadline(d: Obj, cond: Obj, now: datetime.datetime) -> float:
    since = pods.parse_time(cond.get("lastUpdateTime")) or now
    deadline = int((d.get("spec") or {}).get("progressDeadlineSeconds") or 0)
    return (since - now).total_seconds() + deadline


def is_timed_out(d: Obj, status: Obj, now: datetime.datetime) -> bool:
    if not has_deadline(d):
        return False
    cond = get_condition(status, PROGRESSING)
    if cond is None or cond.get("reason") == NEW_RS_AVAILABLE:
        return False
    if cond.get("reason") == TIMED_OUT:
        return True
    return seconds_to_deadline(d, cond, now) < 0
