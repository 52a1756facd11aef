"""All of an HPA's metrics together, from a fake metrics source."""

from __future__ import annotations

from typing import Any

import pytest

from kubelite.controllers.podautoscaler import compute, replicas
from tests.controllers import test_podautoscaler_replicas as r

Obj = dict[str, Any]


class FakeSource:
    def __init__(self, by_resource: dict[str, list[int | None]] | None = None,
                 error: str = "") -> None:
        self.by_resource = by_resource or {}
        self.error = error
        self.asked: list[tuple[str, str, str]] = []

    async def pod_metrics(self, namespace: str, selector: str, resource: str,
                          container: str = "") -> dict[str, replicas.PodMetric]:
        self.asked.append((namespace, selector, resource))
        if self.error:
            raise replicas.MetricsError(self.error)
        return r.usage(self.by_resource.get(resource, []))


def cpu(percent: int) -> Obj:
    return {"type": "Resource", "resource": {"name": "cpu", "target": {
        "type": "Utilization", "averageUtilization": percent}}}


MEM_VALUE = {"type": "Resource", "resource": {"name": "memory", "target": {
    "type": "AverageValue", "averageValue": "50Mi"}}}
PODS_METRIC = {"type": "Pods", "pods": {"metric": {"name": "qps"}, "target": {
    "type": "AverageValue", "averageValue": "1"}}}


async def run(specs: list[Obj], source: FakeSource, current: int = 3) -> compute.Outcome:
    return await compute.for_metrics(specs, current, [r.pod(i) for i in range(3)], source,
                                     namespace="ns", selector="app=web", now=r.NOW)


async def test_valid_cpu_metric() -> None:
    source = FakeSource({"cpu": [300, 500, 700]})
    out = await run([cpu(30)], source)
    assert (out.replicas, out.metric, out.error) == (
        5, "cpu resource utilization (percentage of request)", "")
    assert out.active == (True, "ValidMetricFound", ("the HPA was able to successfully "
                          "calculate a replica count from cpu resource utilization "
                          "(percentage of request)"))
    assert out.statuses == [{"type": "Resource", "resource": {"name": "cpu", "current": {
        "averageValue": "500m", "averageUtilization": 50}}}]
    assert source.asked == [("ns", "app=web", "cpu")]


async def test_largest_proposal_wins() -> None:
    mib = 2**20 * 1000
    out = await run([cpu(50), MEM_VALUE], FakeSource({"cpu": [500, 500, 500],
                                                      "memory": [100 * mib] * 3}))
    assert (out.replicas, out.metric) == (6, "memory resource")
    assert out.statuses[1] == {"type": "Resource", "resource": {"name": "memory", "current": {
        "averageValue": "104857600"}}}   # DecimalSI, as upstream writes it


async def test_no_metrics_is_invalid() -> None:
    out = await run([cpu(50)], FakeSource({}))
    err = ("failed to get cpu utilization: unable to get metrics for resource cpu: no metrics "
           "returned from resource metrics API")
    assert out.replicas == -1
    assert out.error == f"invalid metrics (1 invalid out of 1), first error is: {err}"
    assert out.active == (False, "FailedGetResourceMetric",
                          f"the HPA was unable to compute the replica count: {err}")
    assert out.failures == [("FailedGetResourceMetric", err)]


@pytest.mark.parametrize(("cpu_levels", "want"), [
    ([1000, 1000, 1000], 6), ([100, 100, 100], -1)], ids=["up-proceeds", "down-blocked"])
async def test_one_invalid_metric_blocks_only_scale_down(cpu_levels: list[int | None],
                                                         want: int) -> None:
    out = await run([cpu(50), PODS_METRIC], FakeSource({"cpu": cpu_levels}))
    assert out.replicas == want
    assert out.failures[0][0] == "FailedGetPodsMetric"
    assert out.statuses[1] == {"type": ""}
