"""The Job controller: runs a Job's pods to completion (upstream pkg/controller/job).

Each sync claims the job's pods, counts them (state.count), then takes one branch:
fail (backoff limit or deadline: delete active pods, FailureTarget, then Failed once no
pod is left running), complete (SuccessCriteriaMet, then Complete with completionTime),
suspend (delete active pods, Suspended condition) or run (create pods up to
parallelism, one per missing index for Indexed jobs; delete the surplus). Status is
written last. A finished job is never touched again.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from kubelite.api import errors, labels
from kubelite.client import events, factory, informer, rest
from kubelite.controllers import controller, dependents, expectations, ownership
from kubelite.controllers.job import state, template
from kubelite.controllers.job import status as status_mod

log = logging.getLogger(__name__)

Obj = dict[str, Any]
BURST = 500
MANAGER = "kubernetes.io/job-controller"     # spec.managedBy of jobs this controller runs


def selector_of(job: Obj) -> labels.Selector:
    return labels.from_label_selector(job["spec"].get("selector") or {})


class JobController(controller.Controller):
    name = "job-controller"

    def __init__(self, client: rest.Client, informers: factory.InformerFactory) -> None:
        super().__init__(client, informers)
        self.job_rt = client.resource("batch/v1", "Job")
        self.pod_rt = client.resource("v1", "Pod")
        self.job_informer = informers.informer("batch/v1", "Job")
        self.pod_informer = informers.informer("v1", "Pod", controller=informer.by_controller)
        self.expectations = expectations.Expectations()
        self.recorder = events.Recorder(client, self.name)
        self.job_informer.add_handlers(self.enqueue_handlers())
        self.dependents = dependents.Dependents(
            "Job", self.queue, self.expectations,
            lambda ns: self.job_informer.by_index("namespace", ns),
            lambda job, found: bool(job["spec"].get("selector"))
            and selector_of(job).matches(found))
        self.pod_informer.add_handlers(self.dependents.handlers())

    # -- reconcile ---------------------------------------------------------------------------

    async def sync(self, key: str) -> None:
        job = self.job_informer.get(key)
        if job is None:
            self.expectations.forget(key)
            return
        if state.is_finished(job) or job["metadata"].get("deletionTimestamp") or \
                job["spec"].get("managedBy", MANAGER) != MANAGER:
            return
        counts = state.count(job, await self._claim(job))
        status = status_mod.counted(job, counts)
        conds: list[Obj] = list(status.get("conditions") or [])
        if not job["spec"].get("suspend"):
            status.setdefault("startTime", events.now())
        act = self.expectations.satisfied(key)
        now = events.now_datetime()
        failure = state.failure(job, counts, now)
        if failure is not None:
            await self._fail(job, counts, status, conds, failure, act=act)
        elif state.complete(job, counts):
            await self._complete(job, counts, status, conds, act=act)
        elif job["spec"].get("suspend"):
            await self._suspend(job, counts, status, conds, act=act)
        else:
            await self._run(key, job, counts, status, conds, act=act)
        if conds:
            status["conditions"] = conds
        await self._write_status(job, status)

    async def _claim(self, job: Obj) -> list[Obj]:
        """Owned pods that match the selector, after adopting matching orphans."""
        selector = selector_of(job)
        return await ownership.claim(
            self.client, self.pod_rt, job,
            self.pod_informer.by_index("namespace", job["metadata"]["namespace"]),
            lambda pod: selector.matches(pod["metadata"].get("labels") or {}),
            may_adopt=bool(job["spec"].get("selector")))

    # -- the four branches -------------------------------------------------------------------

    async def _fail(self, job: Obj, counts: state.Counts, status: Obj, conds: list[Obj],
                    failure: tuple[str, str], *, act: bool) -> None:
        reason, message = failure
        stamp = events.now()
        if act and counts.active:
            await self._delete(job, status, counts.active)
        if status_mod.set_condition(conds, status_mod.condition(
                "FailureTarget", reason, message, stamp)):
            self.recorder.event(job, "Warning", reason, message)
        if not counts.active and not counts.terminating:
            status_mod.set_condition(conds, status_mod.condition("Failed", reason, message,
                                                                 stamp))

    async def _complete(self, job: Obj, counts: state.Counts, status: Obj, conds: list[Obj],
                        *, act: bool) -> None:
        stamp = events.now()
        if act and counts.active:
            await self._delete(job, status, counts.active)
        status_mod.set_condition(conds, status_mod.condition(
            "SuccessCriteriaMet", "CompletionsReached", state.COMPLETE_MESSAGE, stamp))
        if counts.active or counts.terminating:
            return
        status_mod.set_condition(conds, status_mod.condition(
            "Complete", "CompletionsReached", state.COMPLETE_MESSAGE, stamp))
        status["completionTime"] = stamp
        self.recorder.event(job, "Normal", "Completed", "Job completed")

    async def _suspend(self, job: Obj, counts: state.Counts, status: Obj, conds: list[Obj],
                       *, act: bool) -> None:
        if act and counts.active:
            await self._delete(job, status, counts.active)
        if status_mod.set_condition(conds, status_mod.condition(
                "Suspended", "JobSuspended", "Job suspended", events.now())):
            self.recorder.event(job, "Normal", "Suspended", "Job suspended")
        status.pop("startTime", None)

    async def _run(self, key: str, job: Obj, counts: state.Counts, status: Obj,
                   conds: list[Obj], *, act: bool) -> None:
        stamp = events.now()
        suspended = next((c for c in conds if c.get("type") == "Suspended"), None)
        if suspended is not None and status_mod.set_condition(conds, status_mod.condition(
                "Suspended", "JobResumed", "Job resumed", stamp, status="False")):
            self.recorder.event(job, "Normal", "Resumed", "Job resumed")
            status["startTime"] = stamp
        left = state.deadline_left({**job, "status": status}, events.now_datetime())
        if left is not None:
            self.queue.add_after(key, max(left, 0.0) + 0.05)
        if not act:
            return
        victims = state.surplus(job, counts)
        if victims:
            await self._delete(job, status, victims)
            return
        need = min(state.want_active(job, counts) - len(counts.active), BURST)
        if job["spec"].get("podReplacementPolicy") == "Failed":
            need -= counts.terminating       # replace a pod only once it has fully failed
        if need <= 0:
            return
        slots: list[int | None] = list(state.missing_indexes(job, counts, need)) \
            if state.is_indexed(job) else [None] * need
        if slots:
            status_mod.after_writes(status, created=await self._create(key, job, slots))

    # -- writes ------------------------------------------------------------------------------

    async def _create(self, key: str, job: Obj, slots: list[int | None]) -> int:
        """Create in growing batches (1, 2, 4...) so a broken template fails fast;
        returns how many were created."""
        self.expectations.expect(key, adds=len(slots))
        done, batch = 0, 1
        while done < len(slots):
            chunk = slots[done:done + batch]
            results = await asyncio.gather(*(self._create_one(job, i) for i in chunk),
                                           return_exceptions=True)
            done += len(chunk)
            failures = [r for r in results if isinstance(r, BaseException)]
            if failures:
                for _ in range(len(failures) + len(slots) - done):
                    self.expectations.observed_add(key)
                self.recorder.event(job, "Warning", "FailedCreate",
                                    f"Error creating: {failures[0]}")
                return done - len(failures)
            batch *= 2
        return done

    async def _create_one(self, job: Obj, index: int | None) -> None:
        pod = await self.client.create(self.pod_rt, template.pod_for(job, index),
                                       job["metadata"]["namespace"])
        self.recorder.event(job, "Normal", "SuccessfulCreate",
                            f"Created pod: {pod['metadata']['name']}")

    async def _delete(self, job: Obj, status: Obj, victims: list[Obj]) -> None:
        status_mod.after_writes(status, removed=victims)
        key = informer.key_of(job)
        self.expectations.expect(key, deletes=len(victims))

        async def one(pod: Obj) -> None:
            name = pod["metadata"]["name"]
            try:
                await self.client.delete(self.pod_rt, name, pod["metadata"]["namespace"])
                self.recorder.event(job, "Normal", "SuccessfulDelete", f"Deleted pod: {name}")
            except errors.APIError as e:
                self.expectations.observed_delete(key)
                if not errors.is_not_found(e):
                    raise

        await asyncio.gather(*(one(p) for p in victims))

    async def _write_status(self, job: Obj, status: Obj) -> None:
        if status == (job.get("status") or {}):
            return
        try:
            await self.client.update_status(self.job_rt, {**job, "status": status})
        except errors.APIError as e:
            if not errors.is_not_found(e):
                raise
