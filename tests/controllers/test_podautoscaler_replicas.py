"""The replica calculator on upstream's examples: ready, unready and missing pods."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from kubelite.controllers.podautoscaler import metrics, replicas

NOW = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
Obj = dict[str, Any]


def _iso(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def pod(i: int, *, ready: bool = True, phase: str = "Running", cpu: str = "1",
        started_ago: float = 600.0, deleted: bool = False) -> Obj:
    start = NOW - timedelta(seconds=started_ago)
    meta: Obj = {"name": f"p{i}", "namespace": "ns"}
    if deleted:
        meta["deletionTimestamp"] = _iso(NOW)
    return {"metadata": meta,
            "spec": {"containers": [{"name": "c", "resources": {"requests": {
                "cpu": cpu, "memory": "100Mi"}}}]},
            "status": {"phase": phase, "startTime": _iso(start), "conditions": [
                {"type": "Ready", "status": "True" if ready else "False",
                 "lastTransitionTime": _iso(start)}]}}


def usage(levels: list[int | None]) -> dict[str, replicas.PodMetric]:
    return {f"p{i}": replicas.PodMetric(v, NOW - timedelta(seconds=5))
            for i, v in enumerate(levels) if v is not None}


@pytest.mark.parametrize(("current", "levels", "ready", "target", "want", "percent"), [
    (3, [300, 500, 700], [True] * 3, 30, 5, 50),
    (3, [300, 500, 700], [False, True, True], 30, 4, 60),
    (5, [100, 300, 500, 250, 250], [True] * 5, 50, 3, 28),
    (5, [100, 300, 500, 250, 250], [False, True, True, False, False], 50, 2, 40),
    (3, [1010, 1030, 1020], [True] * 3, 100, 3, 102),          # within tolerance
    (3, [850, 950, 950], [True] * 3, 100, 3, 91),
    (2, [1900, None], [True] * 2, 100, 2, 190),                 # missing: up, 0 assumed
    (2, [1900, None], [True] * 2, 95, 2, 190),
    (4, [400, 500, None, None], [True] * 4, 100, 3, 45),       # missing at 100%: damped
    (4, [400, 500, None, None], [True] * 4, 60, 4, 45),        # ... or flipped: no change
    (4, [100, 100, None, None], [True] * 4, 100, 3, 10),
], ids=["up", "up-unready-counted-at-zero", "down", "down-unready-excluded", "tolerance",
        "just-outside-tolerance-keeps-direction", "missing-up-flips", "missing-up-again",
        "missing-down-damped", "missing-down-flips", "missing-down"])
def test_utilization_replicas(current: int, levels: list[int | None], ready: list[bool],
                              target: int, want: int, percent: int) -> None:
    pods = [pod(i, ready=r, started_ago=60.0 if not r else 600.0) for i, r in enumerate(ready)]
    got = replicas.utilization_replicas(current, target, pods, usage(levels), resource="cpu",
                                        now=NOW)
    assert (got.replicas, got.utilization) == (want, percent)


def test_just_outside_tolerance_scales() -> None:
    pods = [pod(i) for i in range(3)]
    got = replicas.utilization_replicas(3, 100, pods, usage([850, 850, 850]), resource="cpu",
                                        now=NOW)
    assert got.replicas == 3 and got.utilization == 85
    assert got.raw_average == 850


def test_pending_failed_and_deleted_pods() -> None:
    pods = [pod(0), pod(1), pod(2, phase="Pending"), pod(3, phase="Failed"),
            pod(4, deleted=True)]
    got = replicas.utilization_replicas(3, 50, pods, usage([1000, 1000, None, 1000, 1000]),
                                        resource="cpu", now=NOW)
    # ready: 2 pods at 100% of 50%; the pending one counts as 0 when scaling up: 66%
    assert got.replicas == 4 and got.utilization == 100
    damped = replicas.utilization_replicas(5, 50, pods, usage([1000, 1000]), resource="cpu",
                                           now=NOW)
    assert damped.replicas == 5     # 4 would be a scale-down while the ratio says up


def test_memory_ignores_readiness() -> None:
    pods = [pod(0, ready=False, started_ago=10), pod(1)]
    got = replicas.utilization_replicas(2, 50, pods, {
        "p0": replicas.PodMetric(100 * 2**20 * 1000, NOW),
        "p1": replicas.PodMetric(100 * 2**20 * 1000, NOW)}, resource="memory", now=NOW)
    assert (got.replicas, got.utilization) == (4, 100)


@pytest.mark.parametrize(("pods", "levels", "message"), [
    ([pod(0)], [], ("unable to get metrics for resource cpu: no metrics returned from "
     "resource metrics API")),
    ([], [100], "no pods returned by selector while calculating replica count"),
    ([pod(0, ready=False, started_ago=10)], [100],
     "did not receive metrics for targeted pods (pods might be unready)"),
], ids=["no-metrics", "no-pods", "all-unready"])
def test_errors(pods: list[Obj], levels: list[int | None], message: str) -> None:
    with pytest.raises(replicas.MetricsError) as e:
        replicas.utilization_replicas(1, 50, pods, usage(levels), resource="cpu", now=NOW)
    assert str(e.value) == message


def test_missing_request() -> None:
    p = pod(0)
    del p["spec"]["containers"][0]["resources"]["requests"]["cpu"]
    with pytest.raises(replicas.MetricsError, match="missing request for cpu in container c "
                       "of Pod p0"):
        replicas.utilization_replicas(1, 50, [p], usage([100]), resource="cpu", now=NOW)


@pytest.mark.parametrize(("current", "levels", "target", "want"), [
    (3, [1000, 1000, 1000], 500, 6),
    (4, [100, 100, 100, 100], 500, 1),
    (2, [550, None], 500, 2),
    (2, [100, None], 500, 2),
], ids=["up", "down", "missing-up-flips", "missing-down-halved"])
def test_average_value_replicas(current: int, levels: list[int | None], target: int,
                                want: int) -> None:
    pods = [pod(i) for i in range(len(levels))]
    got = replicas.average_value_replicas(current, target, pods, usage(levels),
                                          resource="cpu", now=NOW)
    assert got.replicas == want


@pytest.mark.parametrize(("item", "container", "want"), [
    ({"containers": [{"name": "a", "usage": {"cpu": "250m"}},
                     {"name": "b", "usage": {"cpu": "1"}}]}, "", 1250),
    ({"containers": [{"name": "a", "usage": {"cpu": "250m"}},
                     {"name": "b", "usage": {"cpu": "1"}}]}, "b", 1000),
    ({"containers": [{"name": "a", "usage": {"memory": "1Ki"}}]}, "", None),
    ({"containers": [{"name": "a", "usage": {"cpu": "1"}}]}, "zzz", None),
], ids=["sum", "one-container", "lacking-figure", "no-such-container"])
def test_pod_metric_from_api(item: Obj, container: str, want: int | None) -> None:
    item = {"metadata": {"name": "p"}, "timestamp": "2026-01-01T12:00:00Z", "window": "10s",
            **item}
    got = metrics.pod_metric(item, "cpu", container)
    assert (None if got is None else got.value) == want
    if got is not None:
        assert got.window == timedelta(seconds=10) and got.timestamp == NOW
