"""What a Job's pods add up to, and what the job should do next: pure functions.

Counting needs no pod finalizers: a finished pod stays until its job is deleted, so the
counts come from the pods that exist, and never fall below what status already says (a
pod that vanished stays counted; none is counted twice).
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from typing import Any

from kubelite.controllers import conditions, pods
from kubelite.controllers.job import indexes

Obj = dict[str, Any]
BACKOFF_MESSAGE = "Job has reached the specified backoff limit"
DEADLINE_MESSAGE = "Job was active longer than specified deadline"
COMPLETE_MESSAGE = "Reached expected number of succeeded pods"


@dataclass
class Counts:
    active: list[Obj] = field(default_factory=list)
    succeeded: int = 0
    failed: int = 0
    ready: int = 0
    terminating: int = 0
    restarts: int = 0                     # container restarts of active pods (OnFailure)
    completed: set[int] = field(default_factory=set)   # Indexed jobs only


def is_indexed(job: Obj) -> bool:
    return job["spec"].get("completionMode") == "Indexed"


def is_finished(job: Obj) -> bool:
    return any(_true(job, t) for t in ("Complete", "Failed"))


def _true(job: Obj, type_: str) -> bool:
    c = conditions.of(job, type_)
    return c is not None and c.get("status") == "True"


def _restarts(pod: Obj) -> int:
    status = pod.get("status") or {}
    return sum(int(c.get("restartCount", 0)) for key in ("initContainerStatuses",
                                                          "containerStatuses")
               for c in status.get(key) or [])


def count(job: Obj, owned: list[Obj]) -> Counts:
    """Tally the job's pods on top of what its status already counted."""
    status = job.get("status") or {}
    completions = int(job["spec"].get("completions") or 0)
    out = Counts()
    succeeded = failed = 0
    if is_indexed(job):
        out.completed = indexes.parse(status.get("completedIndexes"), completions)
    for pod in owned:
        phase = (pod.get("status") or {}).get("phase")
        if phase == "Succeeded":
            succeeded += 1
            index = indexes.of_pod(pod, completions) if is_indexed(job) else None
            if index is not None:
                out.completed.add(index)
        elif phase == "Failed":
            failed += 1
        elif pod["metadata"].get("deletionTimestamp"):
            out.terminating += 1
        else:
            out.active.append(pod)
            out.ready += 1 if pods.is_ready(pod) else 0
            out.restarts += _restarts(pod)
    if is_indexed(job):
        out.succeeded = len(out.completed)
    else:
        out.succeeded = max(int(status.get("succeeded", 0)), succeeded)
    out.failed = max(int(status.get("failed", 0)), failed)
    return out


def failure(job: Obj, counts: Counts, now: datetime.datetime) -> tuple[str, str] | None:
    """(reason, message) when the job must fail: too many failures or past its deadline."""
    target = conditions.of(job, "FailureTarget")
    if target is not None and target.get("status") == "True":
        return target.get("reason", ""), target.get("message", "")
    spec = job["spec"]
    limit = int(spec.get("backoffLimit", 6))
    if counts.failed > limit:
        return "BackoffLimitExceeded", BACKOFF_MESSAGE
    template_spec = (spec.get("template") or {}).get("spec") or {}
    if template_spec.get("restartPolicy") == "OnFailure" and counts.restarts and \
            counts.restarts >= max(limit, 1):
        return "BackoffLimitExceeded", BACKOFF_MESSAGE
    left = deadline_left(job, now)
    if left is not None and left <= 0:
        return "DeadlineExceeded", DEADLINE_MESSAGE
    return None


def deadline_left(job: Obj, now: datetime.datetime) -> float | None:
    """Seconds until activeDeadlineSeconds runs out, or None when there is no deadline."""
    deadline = job["spec"].get("activeDeadlineSeconds")
    start = pods.parse_time((job.get("status") or {}).get("startTime"))
    if deadline is None or start is None or job["spec"].get("suspend"):
        return None
    return float(deadline) - (now - start).total_seconds()


def complete(job: Obj, counts: Counts) -> bool:
    """Enough pods succeeded (or, with no completions set, one did and none still runs)."""
    completions = job["spec"].get("completions")
    if completions is None:
        return counts.succeeded > 0 and not counts.active
    return counts.succeeded >= int(completions)


def want_active(job: Obj, counts: Counts) -> int:
    """How many pods should run now (upstream's manageJob arithmetic)."""
    spec = job["spec"]
    parallelism = int(spec.get("parallelism", 1))
    completions = spec.get("completions")
    if completions is None:
        return len(counts.active) if counts.succeeded > 0 else parallelism
    return max(0, min(parallelism, int(completions) - counts.succeeded))


def missing_indexes(job: Obj, counts: Counts, n: int) -> list[int]:
    """The lowest `n` indexes neither completed nor held by an active pod."""
    completions = int(job["spec"].get("completions") or 0)
    busy = {indexes.of_pod(p, completions) for p in counts.active}
    free = (i for i in range(completions) if i not in counts.completed and i not in busy)
    return [i for _, i in zip(range(n), free, strict=False)]


def surplus(job: Obj, counts: Counts) -> list[Obj]:
    """Active pods to delete: beyond want_active, plus duplicate or out-of-range indexes."""
    victims: list[Obj] = []
    keep = counts.active
    if is_indexed(job):
        completions = int(job["spec"].get("completions") or 0)
        seen: set[int] = set()
        keep = []
        for pod in sorted(counts.active, key=pods.deletion_rank, reverse=True):
            index = indexes.of_pod(pod, completions)
            if index is None or index in seen or index in counts.completed:
                victims.append(pod)
            else:
                seen.add(index)
                keep.append(pod)
    extra = len(keep) - want_active(job, counts)
    if extra > 0:
        victims.extend(sorted(keep, key=pods.deletion_rank)[:extra])
    return victims
