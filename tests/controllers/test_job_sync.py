"""The Job controller's sync over a fake store: what it creates, deletes and reports."""

from __future__ import annotations

import copy
import itertools
from typing import Any

from kubelite.client import factory, informer
from kubelite.controllers.job import controller as job_controller
from tests.controllers import deployment_fakes as fakes

Obj = dict[str, Any]


class NamingClient(fakes.FakeClient):
    """Also gives generateName objects a name, as the server does."""

    _suffix = itertools.count()

    async def create(self, rt: Any, obj: Obj, namespace: str = "") -> Obj:
        obj = copy.deepcopy(obj)
        meta = obj["metadata"]
        if not meta.get("name"):
            meta["name"] = f"{meta['generateName']}{next(self._suffix):05d}"
        return await super().create(rt, obj, namespace)


class Harness:
    def __init__(self) -> None:
        self.client = NamingClient()
        self.ctl = job_controller.JobController(self.client, factory.InformerFactory(self.client))
        self.recorder = fakes.FakeRecorder()
        self.ctl.recorder = self.recorder  # type: ignore[assignment]
        self.jobs_rt = self.client.resource("batch/v1", "Job")
        self.informers = {"jobs": self.ctl.job_informer, "pods": self.ctl.pod_informer}

    def refresh(self) -> None:
        for plural, inf in self.informers.items():
            live = {informer.key_of(o): o for o in self.client.objects(plural)}
            for key in [k for k in list(inf._items) if k not in live]:
                inf._remove(inf._items[key])
            for key, obj in live.items():
                cached = inf.get(key)
                if cached is None or cached["metadata"]["resourceVersion"] != \
                        obj["metadata"]["resourceVersion"]:
                    inf._upsert(copy.deepcopy(obj))

    async def sync(self) -> None:
        self.refresh()
        await self.ctl.sync("ns/pi")
        self.refresh()

    def job(self) -> Obj:
        return self.client.store[("jobs", "ns", "pi")]

    def pods(self) -> list[Obj]:
        return self.client.objects("pods")

    def set_phase(self, pod: Obj, phase: str) -> None:
        pod = copy.deepcopy(pod)
        pod["status"] = {"phase": phase}
        self.client.put("pods", pod)

    async def edit(self, **spec: Any) -> None:
        j = copy.deepcopy(self.job())
        j["spec"].update(spec)
        await self.client.update(self.jobs_rt, j)


async def new_harness(**spec: Any) -> Harness:
    h = Harness()
    body = {"parallelism": 2, "completions": 3, "backoffLimit": 6,
            "completionMode": "NonIndexed", "suspend": False,
            "selector": {"matchLabels": {"job-name": "pi"}},
            "template": {"metadata": {"labels": {"job-name": "pi"}}, "spec": {
                "restartPolicy": "Never", "containers": [{"name": "c", "image": "busybox"}]}}}
    body.update(spec)
    await h.client.create(h.jobs_rt, {"apiVersion": "batch/v1", "kind": "Job", "metadata": {
        "name": "pi", "namespace": "ns"}, "spec": body}, "ns")
    return h


async def test_runs_to_completion_without_overshooting() -> None:
    h = await new_harness()
    await h.sync()
    assert len(h.pods()) == 2 and h.job()["status"]["active"] == 2
    for p in h.pods():
        h.set_phase(p, "Succeeded")
    await h.sync()
    assert len(h.pods()) == 3            # only one more: completions - succeeded
    h.set_phase(h.pods()[-1], "Succeeded")
    await h.sync()
    status = h.job()["status"]
    assert status["succeeded"] == 3 and "active" not in status and status["completionTime"]
    assert [c["type"] for c in status["conditions"]] == ["SuccessCriteriaMet", "Complete"]
    assert ("Normal", "Completed", "Job completed") in h.recorder.events
    await h.sync()
    assert len(h.pods()) == 3


async def test_suspend_deletes_active_pods_and_resume_recreates() -> None:
    h = await new_harness()
    await h.sync()
    await h.edit(suspend=True)
    await h.sync()
    assert h.pods() == []
    suspended = h.job()["status"]["conditions"][0]
    assert (suspended["type"], suspended["status"], suspended["reason"]) == (
        "Suspended", "True", "JobSuspended")
    assert "startTime" not in h.job()["status"]
    await h.edit(suspend=False)
    await h.sync()
    assert len(h.pods()) == 2
    resumed = h.job()["status"]["conditions"][0]
    assert (resumed["status"], resumed["reason"]) == ("False", "JobResumed")


async def test_backoff_limit_deletes_running_pods_then_fails() -> None:
    h = await new_harness(backoffLimit=0)
    await h.sync()
    h.set_phase(h.pods()[0], "Failed")
    await h.sync()
    assert [c["type"] for c in h.job()["status"]["conditions"]] == ["FailureTarget"]
    assert h.job()["status"]["terminating"] == 1 and "active" not in h.job()["status"]
    await h.sync()                       # the running pod is gone: now the job has failed
    assert [c["type"] for c in h.job()["status"]["conditions"]] == ["FailureTarget", "Failed"]
    assert len(h.pods()) == 1 and h.job()["status"]["failed"] == 1
    assert ("Warning", "BackoffLimitExceeded",
            "Job has reached the specified backoff limit") in h.recorder.events


async def test_lower_parallelism_deletes_surplus() -> None:
    h = await new_harness(parallelism=3, completions=None)
    await h.sync()
    await h.edit(parallelism=1)
    await h.sync()
    assert len(h.pods()) == 1
    assert sum(1 for e in h.recorder.events if e[1] == "SuccessfulDelete") == 2


async def test_other_managers_jobs_are_left_alone() -> None:
    h = await new_harness(managedBy="example.com/queue")
    await h.sync()
    assert h.pods() == [] and not h.job().get("status")
