"""The HPA controller's reconcile with a fake API, a fake metrics source and a hand-set
clock: rescales, status, events and the default scale-down stabilization."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from kubelite.api import errors
from kubelite.client import factory, rest
from kubelite.controllers.podautoscaler import controller as hpa_controller
from tests.controllers import deployment_fakes
from tests.controllers import test_podautoscaler_compute as fakes
from tests.controllers import test_podautoscaler_replicas as r

Obj = dict[str, Any]
SCALE_PATH = "/apis/apps/v1/namespaces/ns/deployments/web/scale"


class FakeClient(rest.Client):
    """Serves one Deployment's /scale and records HPA status writes."""

    def __init__(self, replicas: int) -> None:
        super().__init__("https://127.0.0.1:1")
        self.replicas = replicas
        self.scale_writes: list[int] = []
        self.statuses: list[Obj] = []

    async def request(self, method: str, path: str, **kw: Any) -> Obj:
        if path != SCALE_PATH:
            raise errors.NotFound("apps", "deployments", path.rsplit("/", 2)[-2])
        if method == "PUT":
            self.replicas = kw["body"]["spec"]["replicas"]
            self.scale_writes.append(self.replicas)
        return {"kind": "Scale", "apiVersion": "autoscaling/v1",
                "metadata": {"name": "web", "namespace": "ns"},
                "spec": {"replicas": self.replicas},
                "status": {"replicas": self.replicas, "selector": "app=web"}}

    async def update(self, rt: Any, obj: Obj, subresource: str = "") -> Obj:
        self.statuses.append(copy.deepcopy(obj["status"]))
        return obj


class Env:
    def __init__(self, replicas: int, levels: list[int | None], *, target: int = 50,
                 name: str = "web", behavior: Obj | None = None) -> None:
        self.now = r.NOW.timestamp()
        self.client = FakeClient(replicas)
        self.source = fakes.FakeSource({"cpu": levels})
        self.c = hpa_controller.HorizontalController(
            self.client, factory.InformerFactory(self.client), source=self.source,
            clock=lambda: self.now, sync_period=1.0)
        self.recorder = deployment_fakes.FakeRecorder()
        self.c.recorder = self.recorder  # type: ignore[assignment]
        for i in range(max(replicas, len(levels))):
            pod = r.pod(i)
            pod["metadata"]["labels"] = {"app": "web"}
            self.c.pod_informer._upsert(pod)
        spec: Obj = {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment",
                                        "name": name},
                     "minReplicas": 1, "maxReplicas": 10, "metrics": [fakes.cpu(target)]}
        if behavior is not None:
            spec["behavior"] = behavior
        self.hpa = {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
                    "metadata": {"name": "h", "namespace": "ns", "uid": "u1"}, "spec": spec}

    async def sync(self) -> Obj:
        await self.c.reconcile("ns/h", copy.deepcopy(self.hpa))
        self.hpa["status"] = copy.deepcopy(self.client.statuses[-1])
        return self.hpa["status"]


def conds(status: Obj) -> dict[str, tuple[str, str]]:
    return {c["type"]: (c["status"], c["reason"]) for c in status["conditions"]}


async def test_scale_up() -> None:
    env = Env(3, [900, 1000, 1100], target=50)
    status = await env.sync()
    assert env.client.scale_writes == [6]
    assert (status["currentReplicas"], status["desiredReplicas"]) == (3, 6)
    assert status["lastScaleTime"] == "2026-01-01T12:00:00Z"
    assert status["currentMetrics"][0]["resource"]["current"] == {
        "averageValue": "1", "averageUtilization": 100}
    assert conds(status) == {"AbleToScale": ("True", "SucceededRescale"),
                             "ScalingActive": ("True", "ValidMetricFound"),
                             "ScalingLimited": ("False", "DesiredWithinRange")}
    assert env.recorder.events == [("Normal", "SuccessfulRescale", ("New size: 6; reason: cpu "
                                    "resource utilization (percentage of request) above "
                                    "target"))]


async def test_scale_up_rate_limited_without_behavior() -> None:
    env = Env(2, [5000, 5000], target=50)
    status = await env.sync()
    assert env.client.scale_writes == [4]
    assert conds(status)["ScalingLimited"] == ("True", "ScaleUpLimit")


async def test_scale_down_waits_for_the_window() -> None:
    env = Env(4, [100, 100, 100, 100], target=50)
    status = await env.sync()
    assert env.client.scale_writes == []
    assert status["desiredReplicas"] == 4
    assert conds(status)["AbleToScale"] == ("True", "ScaleDownStabilized")
    env.now += 301
    status = await env.sync()
    assert env.client.scale_writes == [1]
    assert conds(status)["ScalingLimited"] == ("False", "DesiredWithinRange")
    assert env.recorder.events[-1] == ("Normal", "SuccessfulRescale",
                                       "New size: 1; reason: All metrics below target")


async def test_behavior_window_zero_scales_down_at_once() -> None:
    env = Env(4, [100, 100, 100, 100], target=50,
              behavior={"scaleDown": {"stabilizationWindowSeconds": 0, "selectPolicy": "Max",
                                      "policies": [{"type": "Pods", "value": 1,
                                                    "periodSeconds": 60}]}})
    status = await env.sync()
    assert env.client.scale_writes == [3]
    assert conds(status)["ScalingLimited"] == ("True", "ScaleDownLimit")
    env.now += 30
    await env.sync()
    assert env.client.scale_writes == [3]      # one pod per minute
    env.now += 31
    await env.sync()
    assert env.client.scale_writes == [3, 2]


async def test_steady_within_tolerance_writes_status_once() -> None:
    env = Env(3, [520, 480, 500], target=50)
    status = await env.sync()
    assert conds(status)["AbleToScale"] == ("True", "ReadyForNewScale")
    await env.c.reconcile("ns/h", copy.deepcopy(env.hpa))
    assert env.client.scale_writes == [] and len(env.client.statuses) == 1


@pytest.mark.parametrize(("replicas", "want", "reason"), [
    (12, 10, "Current number of replicas above Spec.MaxReplicas"),
    (0, None, ""),
], ids=["above-max", "scaled-to-zero-disables"])
async def test_out_of_range(replicas: int, want: int | None, reason: str) -> None:
    env = Env(replicas, [100] * max(replicas, 1))
    status = await env.sync()
    if want is None:
        assert env.client.scale_writes == []
        assert conds(status)["ScalingActive"] == ("False", "ScalingDisabled")
        assert status["desiredReplicas"] == 0
    else:
        assert env.client.scale_writes == [want]
        assert env.recorder.events == [("Normal", "SuccessfulRescale",
                                        f"New size: {want}; reason: {reason}")]


async def test_missing_target() -> None:
    env = Env(3, [100], name="gone")
    status = await env.sync()
    assert conds(status)["AbleToScale"] == ("False", "FailedGetScale")
    assert env.recorder.events[0][:2] == ("Warning", "FailedGetScale")


async def test_status_conflict_is_written_onto_the_fresh_object() -> None:
    env = Env(3, [900, 1000, 1100], target=50)
    written: list[Obj] = []

    async def conflicting(rt: Any, obj: Obj, subresource: str = "") -> Obj:
        if obj["metadata"].get("resourceVersion") != "2":
            raise errors.Conflict("autoscaling", "horizontalpodautoscalers", "h", "modified")
        written.append(obj)
        return obj

    async def fresh(rt: Any, name: str, namespace: str = "") -> Obj:
        return {**copy.deepcopy(env.hpa), "metadata": {**env.hpa["metadata"],
                                                       "resourceVersion": "2"}}

    env.client.update = conflicting  # type: ignore[method-assign]
    env.client.get = fresh  # type: ignore[method-assign]
    await env.c.reconcile("ns/h", copy.deepcopy(env.hpa))
    assert env.client.scale_writes == [6]
    assert written[0]["status"]["desiredReplicas"] == 6
