"""The Jobs a CronJob makes: their names, their shape, when they are finished, which go.

A Job's name carries its scheduled time (minutes since the epoch), so a Job for a given
time is made once even if the controller restarts between creating it and writing status.
"""

from __future__ import annotations

import copy
import datetime
from typing import Any

from kubelite.controllers import ownership

Obj = dict[str, Any]
SCHEDULED_ANNOTATION = "batch.kubernetes.io/cronjob-scheduled-timestamp"


def job_name(cj: Obj, scheduled: datetime.datetime) -> str:
    return f"{cj['metadata']['name']}-{int(scheduled.timestamp()) // 60}"


def job_from_template(cj: Obj, scheduled: datetime.datetime,
                      tz: datetime.tzinfo) -> Obj:
    """A Job for the scheduled time, controlled by the CronJob (upstream's getJobFromTemplate2)."""
    template = (cj.get("spec") or {}).get("jobTemplate") or {}
    tmeta = template.get("metadata") or {}
    annotations = dict(tmeta.get("annotations") or {})
    annotations[SCHEDULED_ANNOTATION] = scheduled.astimezone(tz).isoformat().replace(
        "+00:00", "Z")
    meta: Obj = {"name": job_name(cj, scheduled), "namespace": cj["metadata"]["namespace"],
                 "annotations": annotations,
                 "ownerReferences": [ownership.owner_reference(cj)]}
    if tmeta.get("labels"):
        meta["labels"] = dict(tmeta["labels"])
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": meta,
            "spec": copy.deepcopy(template.get("spec") or {})}


def finished_condition(job: Obj) -> str | None:
    """"Complete" or "Failed" when the Job has that condition True, else None."""
    for cond in (job.get("status") or {}).get("conditions") or []:
        if cond.get("type") in ("Complete", "Failed") and cond.get("status") == "True":
            return str(cond["type"])
    return None


def object_reference(job: Obj) -> Obj:
    meta = job["metadata"]
    return {"apiVersion": "batch/v1", "kind": "Job", "name": meta["name"],
            "namespace": meta["namespace"], "uid": meta["uid"],
            "resourceVersion": meta.get("resourceVersion", "")}


def _start_order(job: Obj) -> tuple[int, str, str]:
    start = (job.get("status") or {}).get("startTime")
    return (0 if start else 1, start or "", job["metadata"]["name"])


def history_victims(cj: Obj, jobs: list[Obj]) -> list[Obj]:
    """Finished Jobs beyond the history limits, oldest start first."""
    spec = cj.get("spec") or {}
    out: list[Obj] = []
    for kind, attr in (("Complete", "successfulJobsHistoryLimit"),
                       ("Failed", "failedJobsHistoryLimit")):
        limit = spec.get(attr)
        if limit is None:
            continue
        done = sorted((j for j in jobs if finished_condition(j) == kind), key=_start_order)
        out += done[:max(len(done) - int(limit), 0)]
    return out
