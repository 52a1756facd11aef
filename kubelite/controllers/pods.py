"""What controllers need to know about pods: activity, readiness, availability, ranking."""

from __future__ import annotations

import datetime
from typing import Any

from kubelite.controllers import conditions

Obj = dict[str, Any]


def parse_time(value: str | None) -> datetime.datetime | None:
    if not value:
        return None
    return datetime.datetime.strptime(value[:19], "%Y-%m-%dT%H:%M:%S").replace(
        tzinfo=datetime.UTC)


def is_active(pod: Obj) -> bool:
    """Counts toward replicas: not finished and not being deleted."""
    phase = (pod.get("status") or {}).get("phase")
    return phase not in ("Succeeded", "Failed") and not pod["metadata"].get("deletionTimestamp")


def is_ready(pod: Obj) -> bool:
    c = conditions.of(pod, "Ready")
    return c is not None and c.get("status") == "True"


def is_available(pod: Obj, min_ready_seconds: int, now: datetime.datetime) -> bool:
    """Ready for at least minReadySeconds."""
    if not is_ready(pod):
        return False
    if min_ready_seconds <= 0:
        return True
    since = parse_time((conditions.of(pod, "Ready") or {}).get("lastTransitionTime"))
    return since is not None and (now - since).total_seconds() >= min_ready_seconds


def deletion_rank(pod: Obj) -> tuple[int, int, int, int, int]:
    """Lower ranks are deleted first, as upstream's ActivePods ordering: unscheduled,
    then pending, then not ready, then more restarts, then newer."""
    spec, status = pod.get("spec") or {}, pod.get("status") or {}
    phase_rank = {"Pending": 0, "Unknown": 1, "Running": 2}.get(status.get("phase", ""), 0)
    restarts = sum(c.get("restartCount", 0) for c in status.get("containerStatuses") or [])
    created = parse_time(pod["metadata"].get("creationTimestamp"))
    age = -int(created.timestamp()) if created else 0
    return (1 if spec.get("nodeName") else 0, phase_rank, 1 if is_ready(pod) else 0,
            -restarts, age)
