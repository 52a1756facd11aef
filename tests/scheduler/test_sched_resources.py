"""Pod request arithmetic, score formulas and cache bookkeeping."""

from __future__ import annotations

from typing import Any

import pytest
from tests.scheduler import sched_builders as b

from kubelite.scheduler import nodeinfo, podinfo, resources
from kubelite.scheduler.plugins import node_resources_balanced_allocation as balanced
from kubelite.scheduler.plugins import node_resources_fit, scoring


def container(cpu: str | None = None, memory: str | None = None, *, limits: dict[str, str] | None = None,
              restart: str | None = None) -> dict[str, Any]:
    requests = {k: v for k, v in (("cpu", cpu), ("memory", memory)) if v is not None}
    c: dict[str, Any] = {"name": "c", "resources": {"requests": requests, "limits": limits or {}}}
    if restart:
        c["restartPolicy"] = restart
    return c


@pytest.mark.parametrize(
    ("spec", "cpu", "memory", "non_zero_cpu", "non_zero_memory"),
    [
        ({"containers": [container("100m", "1Gi"), container("200m")]}, 300, 2**30, 300, 2**30 + 200 * 2**20),
        ({"containers": [container(limits={"cpu": "1", "memory": "1Gi"})]}, 1000, 2**30, 1000, 2**30),
        ({"containers": [container("100m")], "initContainers": [container("2")]}, 2000, 0, 2000, 200 * 2**20),
        ({"containers": [container("100m")], "initContainers": [container("500m", restart="Always"),
                                                                container("1")]}, 1500, 0, 1500, 400 * 2**20),
        ({"containers": [container("100m")], "overhead": {"cpu": "250m", "memory": "120Mi"}},
         350, 120 * 2**20, 350, 320 * 2**20),
        ({"containers": [container()]}, 0, 0, 100, 200 * 2**20),
        ({"containers": [container("0", "0")]}, 0, 0, 0, 0),
    ],
    ids=["sum", "limits-as-requests", "init-max", "sidecar", "overhead", "best-effort", "explicit-zero"],
)
def test_pod_requests(spec: dict[str, Any], cpu: int, memory: int, non_zero_cpu: int, non_zero_memory: int) -> None:
    actual, non_zero = resources.pod_requests(spec), resources.pod_requests(spec, non_zero=True)
    assert (actual.milli_cpu, actual.memory, actual.pods) == (cpu, memory, 1)
    assert (non_zero.milli_cpu, non_zero.memory) == (non_zero_cpu, non_zero_memory)


@pytest.mark.parametrize(
    ("requested", "capacity", "least", "most"),
    [(0, 4000, 100, 0), (1000, 4000, 75, 25), (4000, 4000, 0, 100), (5000, 4000, 0, 100), (1, 0, 0, 0)],
)
def test_allocation_scores(requested: int, capacity: int, least: int, most: int) -> None:
    assert node_resources_fit.least_allocated(requested, capacity) == least
    assert node_resources_fit.most_allocated(requested, capacity) == most


@pytest.mark.parametrize(("fractions", "score"), [([0.5, 0.5], 100), ([0.2, 0.6], 80), ([1.0, 0.0], 50), ([], 100)])
def test_balanced_allocation_score(fractions: list[float], score: int) -> None:
    assert balanced.balanced_score(fractions) == score


@pytest.mark.parametrize(
    ("raw", "reverse", "normalized"),
    [([0, 5, 10], False, [0, 50, 100]), ([0, 5, 10], True, [100, 50, 0]), ([0, 0], True, [100, 100]),
     ([0, 0], False, [0, 0])],
)
def test_default_normalize(raw: list[int], reverse: bool, normalized: list[int]) -> None:
    scoring.default_normalize(raw, reverse=reverse)
    assert raw == normalized


def test_assume_then_informer_confirms_and_forget_undoes() -> None:
    cache = b.cluster(b.node("n"))
    info = podinfo.PodInfo(b.pod("p", cpu="1"))
    cache.assume(info, "n")
    assert cache.is_assumed(info.key) and cache.get("n").requested.milli_cpu == 1000  # type: ignore[union-attr]
    cache.forget(info)
    assert cache.get("n").requested.milli_cpu == 0  # type: ignore[union-attr]
    cache.assume(info, "n")
    cache.add_pod(b.pod("p", cpu="1", node_name="n"))
    assert not cache.is_assumed(info.key)
    cache.forget(info)  # confirmed pods are not forgotten
    assert cache.get("n").requested.milli_cpu == 1000  # type: ignore[union-attr]


def test_terminal_pods_release_resources_and_removed_nodes_leave_the_list() -> None:
    cache = b.cluster(b.node("n"), b.node("m"), pods=(b.pod("p", cpu="1", node_name="n"),))
    done = b.pod("p", cpu="1", node_name="n")
    done["status"]["phase"] = "Succeeded"
    cache.update_pod(done)
    assert cache.get("n").requested.milli_cpu == 0  # type: ignore[union-attr]
    cache.add_pod(b.pod("q", cpu="1", node_name="m"))
    cache.remove_node("m")
    assert [n.name for n in cache.node_list()] == ["n"] and cache.node_of("uid-default-q") == "m"
    cache.remove_pod("uid-default-q")
    assert cache.node_of("uid-default-q") is None


def test_node_property_indexes_follow_updates() -> None:
    cache = nodeinfo.Cache()
    cache.add_node(b.node("n", unschedulable=True, taints=[{"key": "k", "effect": "PreferNoSchedule"}]))
    assert cache.unschedulable_nodes == {"n"} and cache.prefer_tainted_nodes == {"n"}
    cache.update_node(b.node("n"))
    assert not cache.unschedulable_nodes and not cache.prefer_tainted_nodes
