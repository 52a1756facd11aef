"""The CronJob controller (upstream's v2): make a Job from spec.jobTemplate at each scheduled
time, track the active ones in status, honour suspend / startingDeadlineSeconds /
concurrencyPolicy, delete finished Jobs beyond the history limits, and wake itself just
after the next scheduled time with the work queue's delayed add.

The clock is injected (`clock=`) so tests can step through schedules without waiting.
"""

from __future__ import annotations

import copy
import datetime
import logging
from collections.abc import Callable
from typing import Any

from kubelite.api import cron, errors
from kubelite.client import events, factory, informer, rest
from kubelite.controllers import controller, ownership
from kubelite.controllers.cronjob import jobs, times

log = logging.getLogger(__name__)

Obj = dict[str, Any]
Clock = Callable[[], datetime.datetime]


def _utc_now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


class CronJobController(controller.Controller):
    name = "cronjob-controller"

    def __init__(self, client: rest.Client, informers: factory.InformerFactory, *,
                 clock: Clock = _utc_now) -> None:
        super().__init__(client, informers)
        self.clock = clock
        self.cj_rt = client.resource("batch/v1", "CronJob")
        self.job_rt = client.resource("batch/v1", "Job")
        self.cj_informer = informers.informer("batch/v1", "CronJob")
        self.job_informer = informers.informer("batch/v1", "Job",
                                               controller=informer.by_controller)
        self.recorder = events.Recorder(client, self.name)
        self.cj_informer.add_handlers(self.enqueue_handlers())
        self.job_informer.add_handlers(informer.Handlers(
            on_add=self._job_changed, on_update=self._job_updated, on_delete=self._job_changed))

    def _job_updated(self, old: Obj, new: Obj) -> None:
        if old["metadata"].get("resourceVersion") != new["metadata"].get("resourceVersion"):
            self._job_changed(new)

    def _job_changed(self, job: Obj) -> None:
        ref = ownership.controller_ref(job)
        if ref is not None and ref.get("kind") == "CronJob":
            self.queue.add(f"{job['metadata']['namespace']}/{ref['name']}")

    # -- reconcile ---------------------------------------------------------------------------

    async def sync(self, key: str) -> None:
        cached = self.cj_informer.get(key)
        if cached is None:
            return
        owned = self.job_informer.by_index("controller", cached["metadata"]["uid"])
        cj = await self._fresh_if_stale(copy.deepcopy(cached), owned)
        before = copy.deepcopy(cj.get("status") or {})
        cj["status"] = copy.deepcopy(before)
        now = self.clock()
        await self._track_children(cj, owned)
        requeue = await self._schedule(cj, now)
        if not cj["metadata"].get("deletionTimestamp"):
            await self._cleanup(cj, owned)
        if cj["status"] != before:
            cj["status"] = {k: v for k, v in cj["status"].items() if v}
            try:
                await self.client.update_status(self.cj_rt, cj)
            except errors.APIError as e:
                if not errors.is_not_found(e):
                    raise
        if requeue is not None:
            self.queue.add_after(key, max(requeue, 0.0))

    async def _fresh_if_stale(self, cj: Obj, owned: list[Obj]) -> Obj:
        """The server's copy when an unfinished Job is missing from the cached status.active:
        the Job's watch event can beat the CronJob's own status update."""
        active = {r.get("uid") for r in (cj.get("status") or {}).get("active") or []}
        if all(j["metadata"]["uid"] in active or jobs.finished_condition(j) for j in owned):
            return cj
        try:
            return await self.client.get(self.cj_rt, cj["metadata"]["name"],
                                         cj["metadata"]["namespace"])
        except errors.APIError as e:
            if errors.is_not_found(e):
                return cj
            raise

    async def _track_children(self, cj: Obj, owned: list[Obj]) -> None:
        """Drop finished and vanished Jobs from status.active; note the last success."""
        status = cj["status"]
        active_uids = {r.get("uid") for r in status.get("active") or []}
        for job in owned:
            uid, cond = job["metadata"]["uid"], jobs.finished_condition(job)
            if uid not in active_uids and cond is None:
                self.recorder.event(cj, "Warning", "UnexpectedJob",
                                    "Saw a job that the controller did not create or forgot: "
                                    f"{job['metadata']['name']}")
            elif uid in active_uids and cond is not None:
                _drop_active(cj, uid)
                self.recorder.event(cj, "Normal", "SawCompletedJob",
                                    f"Saw completed job: {job['metadata']['name']}, "
                                    f"condition: {cond}")
            if cond == "Complete":
                _note_success(status, job)
        seen = {j["metadata"]["uid"] for j in owned}
        for ref in list(status.get("active") or []):
            if ref.get("uid") not in seen and not await self._exists(ref):
                self.recorder.event(cj, "Normal", "MissingJob",
                                    f"Active job went missing: {ref.get('name')}")
                _drop_active(cj, ref.get("uid"))

    async def _exists(self, ref: Obj) -> bool:
        try:
            await self.client.get(self.job_rt, ref.get("name", ""), ref.get("namespace", ""))
        except errors.APIError as e:
            if errors.is_not_found(e):
                return False
            raise
        return True

    async def _schedule(self, cj: Obj, now: datetime.datetime) -> float | None:
        """Start the Job that is due, if any; seconds until the next look (None: never)."""
        spec = cj.get("spec") or {}
        if cj["metadata"].get("deletionTimestamp"):
            return None
        schedule = self._parse(cj)
        if schedule is None or spec.get("suspend"):
            return None
        try:
            recent = times.due(cj, now, schedule)
        except times.InvalidSchedule as e:
            self.recorder.event(cj, "Warning", "InvalidSchedule",
                                f"invalid schedule: {spec.get('schedule')} : {e}")
            return None
        if recent.most_recent is not None and recent.missed > times.MANY_MISSED:
            self.recorder.event(cj, "Warning", "TooManyMissedTimes",
                                "too many missed start times. Set or decrease "
                                ".spec.startingDeadlineSeconds or check clock skew")
        if recent.most_recent is not None:
            await self._start(cj, recent.most_recent, now, schedule.zone)
        return times.requeue_after(cj, now, schedule)

    def _parse(self, cj: Obj) -> cron.Schedule | None:
        spec = cj.get("spec") or {}
        text, tz = spec.get("schedule") or "", spec.get("timeZone")
        try:
            cron.zone(tz)
        except cron.ParseError as e:
            self.recorder.event(cj, "Warning", "UnknownTimeZone", f'invalid timeZone: "{tz}": {e}')
            return None
        if "TZ" in text:
            self.recorder.event(cj, "Warning", "UnsupportedSchedule",
                                f'CRON_TZ or TZ used in schedule "{text}" is not officially '
                                "supported, see https://kubernetes.io/docs/concepts/workloads/"
                                "controllers/cron-jobs/ for more details")
            return None
        try:
            return cron.parse(text, tz)
        except cron.ParseError as e:
            self.recorder.event(cj, "Warning", "UnparseableSchedule",
                                f'unparseable schedule: "{text}" : {e}')
            return None

    async def _start(self, cj: Obj, scheduled: datetime.datetime, now: datetime.datetime,
                     tz: datetime.tzinfo) -> None:
        status = cj["status"]
        if times.too_late(cj, scheduled, now):
            self.recorder.event(cj, "Warning", "MissSchedule",
                                "Missed scheduled time to start a job: "
                                f"{scheduled.astimezone(datetime.UTC):%a, %d %b %Y %H:%M:%S +0000}")
            return
        name = jobs.job_name(cj, scheduled)
        if any(r.get("name") == name for r in status.get("active") or []) or \
                status.get("lastScheduleTime") == times.format_time(scheduled):
            return
        policy = (cj.get("spec") or {}).get("concurrencyPolicy", "Allow")
        if policy == "Forbid" and status.get("active"):
            self.recorder.event(cj, "Normal", "JobAlreadyActive",
                                "Not starting job because prior execution is running and "
                                "concurrency policy is Forbid")
            return
        if policy == "Replace":
            for ref in list(status.get("active") or []):
                await self._delete_job(cj, ref.get("name", ""), ref.get("uid", ""))
        job = await self._create(cj, jobs.job_from_template(cj, scheduled, tz))
        status.setdefault("active", []).append(jobs.object_reference(job))
        status["lastScheduleTime"] = times.format_time(scheduled)

    async def _create(self, cj: Obj, job: Obj) -> Obj:
        """Create the Job, or take the one a previous attempt made (its name is the lock)."""
        ns, name = cj["metadata"]["namespace"], job["metadata"]["name"]
        try:
            created = await self.client.create(self.job_rt, job, ns)
        except errors.AlreadyExists:
            existing = await self.client.get(self.job_rt, name, ns)
            ref = ownership.controller_ref(existing)
            if ref is None or ref.get("uid") != cj["metadata"]["uid"]:
                raise
            return existing
        except errors.APIError as e:
            self.recorder.event(cj, "Warning", "FailedCreate", f"Error creating job: {e}")
            raise
        self.recorder.event(cj, "Normal", "SuccessfulCreate", f"Created job {name}")
        return created

    async def _delete_job(self, cj: Obj, name: str, uid: str) -> None:
        try:
            await self.client.delete(self.job_rt, name, cj["metadata"]["namespace"],
                                     propagation="Background")
        except errors.APIError as e:
            if not errors.is_not_found(e):
                self.recorder.event(cj, "Warning", "FailedDelete", f"Deleted job: {e}")
                raise
            _drop_active(cj, uid)         # someone else deleted it first
            return
        _drop_active(cj, uid)
        self.recorder.event(cj, "Normal", "SuccessfulDelete", f"Deleted job {name}")

    async def _cleanup(self, cj: Obj, owned: list[Obj]) -> None:
        live = [j for j in owned if not j["metadata"].get("deletionTimestamp")]
        for job in jobs.history_victims(cj, live):
            await self._delete_job(cj, job["metadata"]["name"], job["metadata"]["uid"])


def _drop_active(cj: Obj, uid: str | None) -> None:
    status = cj["status"]
    status["active"] = [r for r in status.get("active") or [] if r.get("uid") != uid]


def _note_success(status: Obj, job: Obj) -> None:
    done = times.parse_time((job.get("status") or {}).get("completionTime"))
    last = times.parse_time(status.get("lastSuccessfulTime"))
    if done is not None and (last is None or done > last):
        status["lastSuccessfulTime"] = times.format_time(done)
