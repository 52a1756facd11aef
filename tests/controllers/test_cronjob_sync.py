"""The CronJob controller over a fake store with a hand-moved clock: Jobs made at the right
times with the right shape, concurrency policies, suspend, missed runs, history limits."""

from __future__ import annotations

import copy
import datetime
from typing import Any

import pytest

from kubelite.client import factory, informer
from kubelite.controllers.cronjob import controller as cronjob_controller
from kubelite.controllers.cronjob import jobs
from tests.controllers import deployment_fakes

Obj = dict[str, Any]
UTC = datetime.UTC


def at(text: str) -> datetime.datetime:
    return datetime.datetime.fromisoformat(text).astimezone(UTC)


class Cluster:
    """A CronJob controller whose clock the test sets, and what it wrote."""

    def __init__(self, now: str = "2024-01-01T00:00:30Z") -> None:
        self.now = at(now)
        self.client = deployment_fakes.FakeClient()
        self.recorder = deployment_fakes.FakeRecorder()
        self.c = cronjob_controller.CronJobController(
            self.client, factory.InformerFactory(self.client), clock=lambda: self.now)
        self.c.recorder = self.recorder  # type: ignore[assignment]

    def add(self, **spec: Any) -> None:
        body: Obj = {"schedule": "*/1 * * * *", "concurrencyPolicy": "Allow", "suspend": False,
                     "successfulJobsHistoryLimit": 3, "failedJobsHistoryLimit": 1,
                     "jobTemplate": {"metadata": {"labels": {"team": "a"}}, "spec": {
                         "template": {"spec": {"restartPolicy": "Never", "containers": [
                             {"name": "c", "image": "busybox"}]}}}}}
        body.update(spec)
        self.client.put("cronjobs", {
            "apiVersion": "batch/v1", "kind": "CronJob", "spec": body,
            "metadata": {"name": "tick", "namespace": "default", "uid": "cj-uid",
                         "creationTimestamp": "2024-01-01T00:00:00Z"}})

    def refresh(self) -> None:
        for plural, inf in (("cronjobs", self.c.cj_informer), ("jobs", self.c.job_informer)):
            live = {informer.key_of(o): o for o in self.client.objects(plural)}
            for key in [k for k in list(inf._items) if k not in live]:
                inf._remove(inf._items[key])
            for obj in live.values():
                inf._upsert(copy.deepcopy(obj))

    async def sync(self, now: str | None = None) -> None:
        if now:
            self.now = at(now)
        self.refresh()
        await self.c.sync("default/tick")
        self.refresh()

    @property
    def cj(self) -> Obj:
        return self.client.store[("cronjobs", "default", "tick")]

    def jobs(self) -> list[str]:
        return [j["metadata"]["name"] for j in self.client.objects("jobs")]

    def finish(self, name: str, kind: str = "Complete", at_: str = "2024-01-01T00:05:00Z") -> None:
        job = self.client.store[("jobs", "default", name)]
        job["status"] = {"startTime": job["metadata"]["creationTimestamp"], "completionTime": at_,
                         "conditions": [{"type": kind, "status": "True"}]}
        self.client.put("jobs", job)

    def reasons(self) -> list[str]:
        return [reason for _, reason, _ in self.recorder.events]


async def test_no_job_before_the_first_time_and_requeue_at_it() -> None:
    k = Cluster("2024-01-01T00:00:30Z")
    k.add()
    await k.sync()
    assert k.jobs() == []
    assert k.c.queue._delayed and k.c.queue._delayed[0][2] == "default/tick"


async def test_job_made_at_the_scheduled_time() -> None:
    k = Cluster()
    k.add()
    await k.sync("2024-01-01T00:01:02Z")
    name = f"tick-{int(at('2024-01-01T00:01:00Z').timestamp()) // 60}"
    assert k.jobs() == [name]
    job = k.client.store[("jobs", "default", name)]
    assert job["metadata"]["labels"] == {"team": "a"}
    assert job["metadata"]["annotations"] == {jobs.SCHEDULED_ANNOTATION: "2024-01-01T00:01:00Z"}
    ref = job["metadata"]["ownerReferences"][0]
    assert (ref["kind"], ref["name"], ref["controller"]) == ("CronJob", "tick", True)
    assert job["spec"]["template"]["spec"]["restartPolicy"] == "Never"
    assert k.cj["status"]["lastScheduleTime"] == "2024-01-01T00:01:00Z"
    assert [a["name"] for a in k.cj["status"]["active"]] == [name]
    assert ("Normal", "SuccessfulCreate", f"Created job {name}") in k.recorder.events
    await k.sync("2024-01-01T00:01:30Z")
    assert k.jobs() == [name]          # the same time is not run twice


async def test_scheduled_annotation_in_the_time_zone() -> None:
    k = Cluster()
    k.add(timeZone="Asia/Tokyo")
    await k.sync("2024-01-01T00:01:02Z")
    job = k.client.objects("jobs")[0]
    assert job["metadata"]["annotations"][jobs.SCHEDULED_ANNOTATION] == \
        "2024-01-01T09:01:00+09:00"


async def test_completed_job_leaves_active_and_sets_last_success() -> None:
    k = Cluster()
    k.add()
    await k.sync("2024-01-01T00:01:02Z")
    (name,) = k.jobs()
    k.finish(name, at_="2024-01-01T00:01:40Z")
    await k.sync("2024-01-01T00:01:45Z")
    assert "active" not in k.cj["status"]
    assert k.cj["status"]["lastSuccessfulTime"] == "2024-01-01T00:01:40Z"
    assert ("Normal", "SawCompletedJob",
            f"Saw completed job: {name}, condition: Complete") in k.recorder.events


@pytest.mark.parametrize(("policy", "want_jobs", "reason"), [
    ("Allow", 2, "SuccessfulCreate"),
    ("Forbid", 1, "JobAlreadyActive"),
    ("Replace", 1, "SuccessfulDelete"),
])
async def test_concurrency_policy(policy: str, want_jobs: int, reason: str) -> None:
    k = Cluster()
    k.add(concurrencyPolicy=policy)
    await k.sync("2024-01-01T00:01:02Z")
    first, seen = k.jobs(), len(k.recorder.events)
    await k.sync("2024-01-01T00:02:02Z")
    assert len(k.jobs()) == want_jobs
    assert reason in k.reasons()[seen:]
    if policy == "Replace":
        assert first[0] not in k.jobs()
        assert [a["name"] for a in k.cj["status"]["active"]] == k.jobs()


async def test_suspended_makes_nothing() -> None:
    k = Cluster()
    k.add(suspend=True)
    await k.sync("2024-01-01T00:05:02Z")
    assert k.jobs() == []
    assert not k.c.queue._delayed


async def test_start_missed_past_deadline_is_skipped() -> None:
    k = Cluster()
    k.add(startingDeadlineSeconds=10)
    await k.sync("2024-01-01T00:01:30Z")
    assert k.jobs() == []
    await k.sync("2024-01-01T00:02:05Z")
    assert k.jobs() == [f"tick-{int(at('2024-01-01T00:02:00Z').timestamp()) // 60}"]


async def test_many_missed_runs_warn_and_start_the_latest() -> None:
    k = Cluster()
    k.add()
    await k.sync("2024-01-01T05:00:20Z")
    assert "TooManyMissedTimes" in k.reasons()
    assert k.jobs() == [f"tick-{int(at('2024-01-01T05:00:00Z').timestamp()) // 60}"]


async def test_history_limits_delete_oldest_finished() -> None:
    k = Cluster()
    k.add(successfulJobsHistoryLimit=1, failedJobsHistoryLimit=0)
    for minute in (1, 2, 3):
        await k.sync(f"2024-01-01T00:0{minute}:02Z")
    names = k.jobs()
    k.finish(names[0])
    k.finish(names[1])
    k.finish(names[2], "Failed")
    await k.sync("2024-01-01T00:03:30Z")
    assert k.jobs() == [names[1]]
    assert k.reasons().count("SuccessfulDelete") == 2


async def test_vanished_active_job_is_dropped() -> None:
    k = Cluster()
    k.add()
    await k.sync("2024-01-01T00:01:02Z")
    (name,) = k.jobs()
    del k.client.store[("jobs", "default", name)]
    await k.sync("2024-01-01T00:01:20Z")
    assert "active" not in k.cj["status"]
    assert ("Normal", "MissingJob", f"Active job went missing: {name}") in k.recorder.events


async def test_manual_job_is_not_adopted_into_active() -> None:
    k = Cluster()
    k.add()
    await k.client.create(k.c.job_rt, {"metadata": {
        "name": "manual", "namespace": "default",
        "ownerReferences": [{"apiVersion": "batch/v1", "kind": "CronJob", "name": "tick",
                             "uid": "cj-uid", "controller": True}]}, "spec": {}})
    await k.sync("2024-01-01T00:00:40Z")
    assert not k.cj.get("status", {}).get("active")
    assert "UnexpectedJob" in k.reasons()


async def test_bad_time_zone_is_reported() -> None:
    k = Cluster()
    k.add(timeZone="Mars/Olympus")
    await k.sync("2024-01-01T00:01:02Z")
    assert k.jobs() == []
    assert ("Warning", "UnknownTimeZone",
            'invalid timeZone: "Mars/Olympus": unknown time zone Mars/Olympus'
            ) in k.recorder.events


async def test_stale_cache_after_own_create_is_not_unexpected() -> None:
    k = Cluster()
    k.add()
    k.refresh()
    stale = copy.deepcopy(k.c.cj_informer.get("default/tick"))
    await k.sync("2024-01-01T00:01:02Z")
    k.c.cj_informer._upsert(stale)       # the Job's event arrived before our status write
    await k.c.sync("default/tick")
    assert "UnexpectedJob" not in k.reasons()
    assert k.reasons().count("SuccessfulCreate") == 1
    assert len(k.jobs()) == 1
