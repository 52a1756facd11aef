"""NodeMetrics and PodMetrics from stats summaries, in metrics-server's shapes."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from kubelite.apiserver import metrics_objects as mo

NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
Obj = dict[str, Any]


def _stats(nano_cores: int | None, working_set: int | None, at: str = "2026-01-02T03:04:00Z"
           ) -> Obj:
    cpu: Obj = {"time": at, "usageCoreNanoSeconds": 7}
    if nano_cores is not None:
        cpu["usageNanoCores"] = nano_cores
    mem: Obj = {"time": at}
    if working_set is not None:
        mem["workingSetBytes"] = working_set
    return {"cpu": cpu, "memory": mem}


def _pod(name: str = "web", uid: str = "u1", phase: str = "Running") -> Obj:
    return {"metadata": {"name": name, "namespace": "ns", "uid": uid, "labels": {"app": name}},
            "spec": {"nodeName": "n1", "containers": [{"name": "a"}, {"name": "b"}]},
            "status": {"phase": phase}}


def _entry(uid: str = "u1", **containers: Obj) -> Obj:
    return {"podRef": {"name": "web", "namespace": "ns", "uid": uid},
            "containers": [{"name": n, **s} for n, s in containers.items()]}


@pytest.mark.parametrize(("seconds", "text"), [
    (0, "0s"), (10, "10s"), (10.5, "10.5s"), (0.25, "250ms"), (0.0000015, "1.5µs"),
    (75, "1m15s"), (3600, "1h0m0s"), (3725.125, "1h2m5.125s"),
])
def test_go_duration(seconds: float, text: str) -> None:
    assert mo.go_duration(seconds) == text


@pytest.mark.parametrize(("nano", "cpu"), [
    (0, "0"), (1_000_000, "1m"), (500_000_000, "500m"), (2_000_000_000, "2"),
    (123_456_789, "123456789n"),
])
def test_cpu_quantity(nano: int, cpu: str) -> None:
    assert mo.cpu_quantity(nano) == cpu


@pytest.mark.parametrize(("size", "memory"), [
    (0, "0"), (1000, "1k"), (2048, "2Ki"), (1536000, "1500Ki"), (1234567, "1234567"),
    (512 << 20, "512Mi"),
])
def test_memory_quantity(size: int, memory: str) -> None:
    assert mo.memory_quantity(size) == memory


def test_node_metrics() -> None:
    node = {"metadata": {"name": "n1", "labels": {"zone": "a"}, "uid": "x"}}
    got = mo.node_metrics(node, {"node": _stats(250_000_000, 3 << 20)}, NOW)
    assert got == {"kind": "NodeMetrics", "apiVersion": "metrics.k8s.io/v1beta1",
                   "metadata": {"name": "n1", "creationTimestamp": "2026-01-02T03:04:05Z",
                                "labels": {"zone": "a"}},
                   "timestamp": "2026-01-02T03:04:00Z", "window": "10s",
                   "usage": {"cpu": "250m", "memory": "3Mi"}}
    assert mo.node_metrics(node, {"node": _stats(None, 3 << 20)}, NOW) is None
    assert mo.node_metrics(node, {}, NOW) is None


def test_pod_metrics() -> None:
    entry = _entry(a=_stats(1_000_000, 1024, "2026-01-02T03:04:01Z"), b=_stats(0, 0))
    got = mo.pod_metrics(_pod(), entry, NOW)
    assert got == {"kind": "PodMetrics", "apiVersion": "metrics.k8s.io/v1beta1",
                   "metadata": {"name": "web", "namespace": "ns",
                                "creationTimestamp": "2026-01-02T03:04:05Z",
                                "labels": {"app": "web"}},
                   "timestamp": "2026-01-02T03:04:00Z", "window": "10s",
                   "containers": [{"name": "a", "usage": {"cpu": "1m", "memory": "1Ki"}},
                                  {"name": "b", "usage": {"cpu": "0", "memory": "0"}}]}


@pytest.mark.parametrize("entry", [
    _entry(a=_stats(1, 1), b=_stats(None, 1)),     # a container without a rate yet
    _entry(),                                     # no running containers
    _entry(uid="older", a=_stats(1, 1)),          # an earlier pod of the same name
], ids=["missing-rate", "no-containers", "other-uid"])
def test_pods_without_full_metrics_are_left_out(entry: Obj) -> None:
    assert mo.pod_metrics(_pod(), entry, NOW) is None


def test_hollow_nodes_report_zero_for_running_pods() -> None:
    node = {"metadata": {"name": "hollow-0", "annotations": {mo.HOLLOW_ANNOTATION: "fake"}}}
    assert mo.is_hollow(node) and not mo.is_hollow({"metadata": {"name": "real"}})
    summary = mo.hollow_summary(node, [_pod(), _pod("waiting", "u2", "Pending")], NOW)
    assert mo.node_metrics(node, summary, NOW)["usage"] == {"cpu": "0", "memory": "0"}  # type: ignore[index]
    index = mo.pods_by_name(summary)
    assert list(index) == [("ns", "web")]
    got = mo.pod_metrics(_pod(), index[("ns", "web")], NOW)
    assert got is not None and [c["name"] for c in got["containers"]] == ["a", "b"]
