"""A Job's status as the controller writes it: counts, times and conditions."""

from __future__ import annotations

from typing import Any

from kubelite.controllers import pods
from kubelite.controllers.job import indexes, state

Obj = dict[str, Any]


def condition(type_: str, reason: str, message: str, now: str, status: str = "True") -> Obj:
    return {"type": type_, "status": status, "lastProbeTime": now,
            "lastTransitionTime": now, "reason": reason, "message": message}


def set_condition(conds: list[Obj], new: Obj) -> bool:
    """Add `new` or update the condition of its type; True when something changed.
    The transition time moves only when the status flips."""
    for i, c in enumerate(conds):
        if c.get("type") != new["type"]:
            continue
        if c.get("status") == new["status"] and c.get("reason") == new["reason"] and \
                c.get("message") == new["message"]:
            return False
        if c.get("status") == new["status"]:
            new = {**new, "lastTransitionTime": c.get("lastTransitionTime",
                                                      new["lastTransitionTime"])}
        conds[i] = new
        return True
    conds.append(new)
    return True


def counted(job: Obj, counts: state.Counts) -> Obj:
    """The job's status with the counts filled in (conditions and times kept)."""
    old = dict(job.get("status") or {})
    for f in ("active", "succeeded", "failed", "completedIndexes"):
        old.pop(f, None)
    status: Obj = {**old, "ready": counts.ready, "terminating": counts.terminating,
                   "uncountedTerminatedPods": {}}
    if counts.active:
        status["active"] = len(counts.active)
    if counts.succeeded:
        status["succeeded"] = counts.succeeded
    if counts.failed:
        status["failed"] = counts.failed
    if state.is_indexed(job) and counts.completed:
        status["completedIndexes"] = indexes.format_intervals(counts.completed)
    return status


def after_writes(status: Obj, *, created: int = 0, removed: list[Obj] | None = None) -> None:
    """Account for pods this sync created or deleted, as upstream reports them at once:
    created pods are active, deleted ones terminating."""
    removed = removed or []
    active = int(status.get("active", 0)) + created - len(removed)
    status.pop("active", None)
    if active > 0:
        status["active"] = active
    status["ready"] = max(0, int(status.get("ready", 0)) - sum(map(pods.is_ready, removed)))
    status["terminating"] = int(status.get("terminating", 0)) + len(removed)
