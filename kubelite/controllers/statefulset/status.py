"""A StatefulSet's status from its pods and revisions (pure).

Counts follow upstream: replicas are the pods the set has, ready ones are Running and
Ready, available ones have been ready for minReadySeconds; current/updated count pods
labelled with the current/update revision. A rolling update is complete when every pod is
updated and ready: the update revision then becomes the current one.
"""

from __future__ import annotations

import datetime
from typing import Any

from kubelite.controllers import pods
from kubelite.controllers.statefulset import identity, plan

Obj = dict[str, Any]


def compute(sts: Obj, owned: list[Obj], revs: plan.Revisions, collision_count: int,
            now: datetime.datetime) -> Obj:
    """The status the set should report."""
    min_ready = int(identity.spec(sts).get("minReadySeconds") or 0)
    status: Obj = {"observedGeneration": sts["metadata"].get("generation", 1),
                   "replicas": 0, "readyReplicas": 0, "availableReplicas": 0,
                   "currentReplicas": 0, "updatedReplicas": 0,
                   "currentRevision": revs.current, "updateRevision": revs.update,
                   "collisionCount": collision_count}
    for pod in owned:
        status["replicas"] += 1
        running = (pod.get("status") or {}).get("phase") == "Running"
        if running and pods.is_ready(pod):
            status["readyReplicas"] += 1
            if pods.is_available(pod, min_ready, now):
                status["availableReplicas"] += 1
        if pod["metadata"].get("deletionTimestamp"):
            continue
        revision = identity.revision_of(pod)
        status["currentReplicas"] += revision == revs.current
        status["updatedReplicas"] += revision == revs.update
    _complete_rollout(sts, status)
    conditions = (sts.get("status") or {}).get("conditions")
    if conditions:
        status["conditions"] = conditions
    return status


def _complete_rollout(sts: Obj, status: Obj) -> None:
    strategy = (identity.spec(sts).get("updateStrategy") or {}).get("type", "RollingUpdate")
    want = identity.replicas(sts)
    if strategy == "RollingUpdate" and status["updatedReplicas"] == want \
            and status["readyReplicas"] == want and status["replicas"] == want:
        status["currentRevision"] = status["updateRevision"]
        status["currentReplicas"] = status["updatedReplicas"]


def changed(sts: Obj, status: Obj) -> bool:
    old = dict(sts.get("status") or {})
    zero = {k: 0 for k in ("replicas", "readyReplicas", "availableReplicas",
                           "currentReplicas", "updatedReplicas", "collisionCount")}
    return {**zero, **old} != {**zero, **status}
