"""The TTL-after-finished controller: deletes a finished Job (Complete or Failed) once
spec.ttlSecondsAfterFinished has passed since it finished, with Background propagation
so the garbage collector removes its pods afterwards.

The finish time is the transition time of the job's Complete or Failed condition (its
completionTime when that is missing). A job whose time has not come is looked at again
when it has.
"""

from __future__ import annotations

import datetime
import logging
from typing import Any

from kubelite.api import errors
from kubelite.client import events, factory, rest
from kubelite.controllers import conditions, controller, pods

log = logging.getLogger(__name__)

Obj = dict[str, Any]


def finished_at(job: Obj) -> datetime.datetime | None:
    """When the job finished, or None while it has not."""
    for type_ in ("Complete", "Failed"):
        c = conditions.of(job, type_)
        if c is not None and c.get("status") == "True":
            return pods.parse_time(c.get("lastTransitionTime")) or pods.parse_time(
                (job.get("status") or {}).get("completionTime"))
    return None


def expires_in(job: Obj, now: datetime.datetime) -> float | None:
    """Seconds until the job should be deleted (<= 0: now); None: never (no TTL, not
    finished, or already being deleted)."""
    ttl = (job.get("spec") or {}).get("ttlSecondsAfterFinished")
    if ttl is None or job["metadata"].get("deletionTimestamp"):
        return None
    done = finished_at(job)
    if done is None:
        return None
    return float(ttl) - (now - done).total_seconds()


class TTLAfterFinishedController(controller.Controller):
    name = "ttl-after-finished-controller"

    def __init__(self, client: rest.Client, informers: factory.InformerFactory) -> None:
        super().__init__(client, informers)
        self.job_rt = client.resource("batch/v1", "Job")
        self.job_informer = informers.informer("batch/v1", "Job")
        self.job_informer.add_handlers(self.enqueue_handlers())

    async def sync(self, key: str) -> None:
        job = self.job_informer.get(key)
        if job is None:
            return
        left = expires_in(job, events.now_datetime())
        if left is None:
            return
        if left > 0:
            self.queue.add_after(key, left)
            return
        meta = job["metadata"]
        log.info("deleting finished job key=%s ttl=%s", key,
                 job["spec"].get("ttlSecondsAfterFinished"))
        try:
            await self.client.delete(self.job_rt, meta["name"], meta["namespace"],
                                     propagation="Background", uid=meta["uid"])
        except errors.APIError as e:
            if not errors.is_not_found(e):
                raise
