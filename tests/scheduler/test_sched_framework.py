"""Whole scheduling cycles through the default profile: placement, spreading and the
FailedScheduling message text."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from tests.scheduler import sched_builders as b

from kubelite.api import errors
from kubelite.scheduler import fiterror, framework, protocol


def schedule(cache: Any, pod: dict[str, Any], **handle_args: Any) -> framework.ScheduleResult | fiterror.FitError:
    return b.new_framework(cache, **handle_args).schedule_one(pod)


def message(result: Any) -> str:
    assert isinstance(result, fiterror.FitError), result
    return result.message()


def test_fit_error_counts_reasons_per_node_and_explains_preemption() -> None:
    cache = b.cluster(
        b.node("a", cpu="1"), b.node("b", cpu="1"),
        b.node("c", taints=[{"key": "dedicated", "value": "infra", "effect": "NoSchedule"}]),
    )
    assert message(schedule(cache, b.pod("p", cpu="2"))) == (
        "0/3 nodes are available: 1 node(s) had untolerated taint {dedicated: infra}, 2 Insufficient cpu. "
        "preemption: 0/3 nodes are available: 1 Preemption is not helpful for scheduling, "
        "2 No preemption victims found for incoming pod."
    )


def test_fit_error_for_node_selector_on_every_node() -> None:
    cache = b.cluster(b.node("a"), b.node("b"), b.node("c"))
    assert message(schedule(cache, b.pod("p", nodeSelector={"disk": "ssd"}))) == (
        "0/3 nodes are available: 3 node(s) didn't match Pod's node affinity/selector. "
        "preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling."
    )


def test_fit_error_without_nodes_and_with_preemption_policy_never() -> None:
    assert message(schedule(b.cluster(), b.pod("p"))) == "no nodes available to schedule pods"
    cache = b.cluster(b.node("a", cpu="1"))
    assert message(schedule(cache, b.pod("p", cpu="2", preemptionPolicy="Never"))) == (
        "0/1 nodes are available: 1 Insufficient cpu. preemption: not eligible due to preemptionPolicy=Never."
    )


def test_fit_error_names_the_rejecting_plugins() -> None:
    cache = b.cluster(b.node("a", cpu="1"), b.node("b", unschedulable=True))
    result = schedule(cache, b.pod("p", cpu="2"))
    assert isinstance(result, fiterror.FitError)
    assert result.unschedulable_plugins == {"NodeResourcesFit", "NodeUnschedulable"}


def test_preemption_nominates_a_node_and_the_fewest_victims() -> None:
    low = (b.pod("low1", cpu="1", node_name="a", priority=1), b.pod("low2", cpu="2", node_name="a", priority=1))
    high = (b.pod("high", cpu="3", node_name="b", priority=100),)
    cache = b.cluster(b.node("a", cpu="3"), b.node("b", cpu="3"), pods=low + high)
    result = schedule(cache, b.pod("p", cpu="2", priority=10))
    assert isinstance(result, fiterror.FitError)
    assert result.nominated is not None and result.nominated.nominated_node_name == "a"
    assert [v["metadata"]["name"] for v in result.nominated.victims] == ["low2"]


def test_pods_spread_over_identical_nodes() -> None:
    cache = b.cluster(*(b.node(f"n{i}") for i in range(4)))
    fw = b.new_framework(cache)
    placed = Counter()
    for i in range(8):
        result = fw.schedule_one(b.pod(f"p{i}", cpu="500m", memory="1Gi"))
        assert isinstance(result, framework.ScheduleResult)
        placed[result.node_name] += 1
    assert sorted(placed.values()) == [2, 2, 2, 2]


def test_least_allocated_node_wins() -> None:
    busy = (b.pod("e", cpu="3", memory="24Gi", node_name="busy"),)
    cache = b.cluster(b.node("busy"), b.node("idle"), pods=busy)
    result = schedule(cache, b.pod("p", cpu="100m", memory="100Mi"))
    assert isinstance(result, framework.ScheduleResult) and result.node_name == "idle"


def test_preferred_node_affinity_and_prefer_no_schedule_taints_steer_placement() -> None:
    preferred = {"nodeAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
        {"weight": 50, "preference": {"matchExpressions": [{"key": "disk", "operator": "In", "values": ["ssd"]}]}},
    ]}}
    cache = b.cluster(b.node("plain"), b.node("fast", labels={"disk": "ssd"}))
    assert schedule(cache, b.pod("p", affinity=preferred)).node_name == "fast"  # type: ignore[union-attr]
    soft = [{"key": "spot", "effect": "PreferNoSchedule"}]
    cache = b.cluster(b.node("spot", taints=soft), b.node("regular"))
    assert schedule(cache, b.pod("p")).node_name == "regular"  # type: ignore[union-attr]


def test_preferred_pod_anti_affinity_spreads_and_affinity_packs() -> None:
    term = {"labelSelector": {"matchLabels": {"app": "web"}}, "topologyKey": "kubernetes.io/hostname"}
    anti = {"podAntiAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
        {"weight": 100, "podAffinityTerm": term}]}}
    existing = (b.pod("w", labels={"app": "web"}, node_name="a"),)
    cache = b.cluster(b.node("a"), b.node("c"), pods=existing)
    assert schedule(cache, b.pod("p", affinity=anti)).node_name == "c"  # type: ignore[union-attr]
    near = {"podAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
        {"weight": 100, "podAffinityTerm": term}]}}
    cache = b.cluster(b.node("a"), b.node("c"), pods=existing)
    assert schedule(cache, b.pod("p", affinity=near)).node_name == "a"  # type: ignore[union-attr]


def test_default_topology_spread_uses_selectors_from_the_wiring() -> None:
    from kubelite.api import labels as api_labels

    web = {"app": "web"}
    existing = tuple(b.pod(f"w{i}", labels=web, node_name="a") for i in range(3))
    cache = b.cluster(b.node("a", memory="64Gi"), b.node("c"), pods=existing)
    selectors = lambda pod: [api_labels.from_label_selector({"matchLabels": web})]
    result = schedule(cache, b.pod("p", labels=web), spread_selectors=selectors)
    assert isinstance(result, framework.ScheduleResult) and result.node_name == "c"


def test_node_name_and_match_fields_restrict_the_cycle() -> None:
    cache = b.cluster(b.node("a"), b.node("c"))
    assert schedule(cache, b.pod("p", node_name="c")).node_name == "c"  # type: ignore[union-attr]
    pinned = {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
        {"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["gone"]}]}]}}}
    assert message(schedule(cache, b.pod("p", affinity=pinned))) == (
        "0/2 nodes are available: 2 node(s) didn't satisfy plugin(s) [NodeAffinity]. "
        "preemption: 0/2 nodes are available: 2 Preemption is not helpful for scheduling."
    )


@pytest.mark.parametrize(
    ("nodes", "percentage", "expected"),
    [(50, 0, 50), (100, 0, 100), (1000, 0, 420), (5000, 0, 500), (10000, 0, 500), (200, 0, 100),
     (1000, 30, 300), (1000, 5, 100)],
)
def test_num_feasible_nodes_to_find(nodes: int, percentage: int, expected: int) -> None:
    assert framework.num_feasible_nodes_to_find(percentage, nodes) == expected


def test_filtering_stops_early_and_rotates_the_start_node() -> None:
    cache = b.cluster(*(b.node(f"n{i:03}") for i in range(1000)))
    fw = b.new_framework(cache)
    first = fw.schedule_one(b.pod("p1"))
    second = fw.schedule_one(b.pod("p2"))
    assert isinstance(first, framework.ScheduleResult) and isinstance(second, framework.ScheduleResult)
    assert (first.evaluated_nodes, first.feasible_nodes) == (420, 420)
    assert fw.next_start_node_index == 840


async def test_bind_writes_through_the_callback_and_failure_forgets_the_pod() -> None:
    bound: list[tuple[str, str]] = []

    async def bind(pod: dict[str, Any], node: str) -> None:
        bound.append((pod["metadata"]["name"], node))

    cache = b.cluster(b.node("a"))
    fw = b.new_framework(cache, bind=bind)
    result = fw.schedule_one(b.pod("p", cpu="1"))
    assert isinstance(result, framework.ScheduleResult)
    assert cache.is_assumed(result.pod.key) and cache.get("a").requested.milli_cpu == 1000  # type: ignore[union-attr]
    assert await fw.bind(result) is None
    assert bound == [("p", "a")]

    async def refuse(pod: dict[str, Any], node: str) -> None:
        raise errors.Conflict("", "pods", "q", "pod q is already assigned to node a")

    fw = b.new_framework(cache, bind=refuse)
    again = fw.schedule_one(b.pod("q", cpu="1"))
    assert isinstance(again, framework.ScheduleResult)
    status = await fw.bind(again)
    assert status is not None and status.code == protocol.Code.ERROR and status.plugin == "DefaultBinder"
    assert not cache.is_assumed(again.pod.key) and cache.get("a").requested.milli_cpu == 1000  # type: ignore[union-attr]


def test_plugins_for_events_maps_events_to_interested_plugins() -> None:
    events = b.new_framework(b.cluster()).plugins_for_events()
    assert "NodeResourcesFit" in events[protocol.ASSIGNED_POD_DELETE]
    assert "TaintToleration" in events[protocol.NODE_UPDATE]
    assert "NodeAffinity" not in events[protocol.ASSIGNED_POD_DELETE]
