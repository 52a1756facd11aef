"""Node health judgements: stale conditions, taints from conditions, zone disruption."""

from __future__ import annotations

from typing import Any

import pytest

from kubelite.api import taints
from kubelite.controllers import nodehealth, tainteviction

Obj = dict[str, Any]


def node(*conditions: tuple[str, str], unschedulable: bool = False, taints: list[Obj] | None = None,
         zone: str = "") -> Obj:
    labels = {nodehealth.ZONE_LABEL: zone} if zone else {}
    return {"metadata": {"name": "n1", "creationTimestamp": "2024-01-01T00:00:00Z",
                         "labels": labels},
            "spec": {"unschedulable": unschedulable, "taints": taints or []},
            "status": {"conditions": [
                {"type": t, "status": s, "reason": "KubeletSaysSo", "message": "m",
                 "lastHeartbeatTime": "2024-01-01T00:00:05Z",
                 "lastTransitionTime": "2024-01-01T00:00:01Z"} for t, s in conditions]}}


def test_stale_conditions_become_unknown_and_missing_ones_are_added() -> None:
    n = node(("Ready", "True"), ("MemoryPressure", "False"), ("NetworkUnavailable", "False"))
    got = {c["type"]: c for c in nodehealth.stale_conditions(n, "2024-01-02T00:00:00Z")}
    assert got["Ready"] == {"type": "Ready", "status": "Unknown", "reason": "NodeStatusUnknown",
                            "message": "Kubelet stopped posting node status.",
                            "lastHeartbeatTime": "2024-01-01T00:00:05Z",
                            "lastTransitionTime": "2024-01-02T00:00:00Z"}
    assert got["MemoryPressure"]["status"] == "Unknown"
    assert got["NetworkUnavailable"]["status"] == "False"      # not the controller's to judge
    assert got["DiskPressure"]["reason"] == "NodeStatusNeverUpdated"
    assert got["PIDPressure"]["message"] == "Kubelet never posted node status."
    assert n["status"]["conditions"][0]["status"] == "True"     # input left alone


def test_already_unknown_condition_keeps_its_transition_time() -> None:
    n = node(("Ready", "Unknown"), ("MemoryPressure", "Unknown"), ("DiskPressure", "Unknown"),
             ("PIDPressure", "Unknown"))
    assert nodehealth.stale_conditions(n, "2030-01-01T00:00:00Z") == n["status"]["conditions"]


@pytest.mark.parametrize("n,want", [
    pytest.param(node(("Ready", "True")), [], id="healthy"),
    pytest.param(node(("Ready", "False")), ["node.kubernetes.io/not-ready"], id="not-ready"),
    pytest.param(node(("Ready", "Unknown")), ["node.kubernetes.io/unreachable"], id="unknown"),
    pytest.param(node(("Ready", "True"), ("DiskPressure", "True"), ("PIDPressure", "True")),
                 ["node.kubernetes.io/disk-pressure", "node.kubernetes.io/pid-pressure"],
                 id="pressure"),
    pytest.param(node(("Ready", "True"), unschedulable=True),
                 ["node.kubernetes.io/unschedulable"], id="cordoned"),
])
def test_no_schedule_taints(n: Obj, want: list[str]) -> None:
    taints = nodehealth.no_schedule_taints(n)
    assert [t["key"] for t in taints] == want
    assert all(t["effect"] == "NoSchedule" for t in taints)


@pytest.mark.parametrize("status,want", [("True", None), ("False", nodehealth.NOT_READY),
                                         ("Unknown", nodehealth.UNREACHABLE)])
def test_no_execute_taint(status: str, want: str | None) -> None:
    assert nodehealth.no_execute_taint(node(("Ready", status))) == want


def test_no_execute_taint_for_node_that_never_reported() -> None:
    assert nodehealth.no_execute_taint(node()) == nodehealth.UNREACHABLE


def test_with_taints_keeps_foreign_taints_and_existing_time_added() -> None:
    mine = {"key": nodehealth.UNREACHABLE, "effect": "NoExecute", "timeAdded": "T0"}
    foreign = {"key": "dedicated", "value": "gpu", "effect": "NoExecute"}
    stale = {"key": nodehealth.NOT_READY, "effect": "NoExecute", "timeAdded": "T1"}
    got = nodehealth.with_taints([foreign, mine, stale], "NoExecute", nodehealth.NO_EXECUTE_KEYS,
                                 [{"key": nodehealth.UNREACHABLE, "effect": "NoExecute",
                                   "timeAdded": "T9"}])
    assert got == [foreign, mine]


@pytest.mark.parametrize("ready,want", [
    pytest.param(["True", "True"], nodehealth.NORMAL, id="healthy"),
    pytest.param(["True", "Unknown"], nodehealth.NORMAL, id="one-down"),
    pytest.param(["Unknown", "False"], nodehealth.FULL_DISRUPTION, id="all-down"),
    pytest.param(["True", "False", "False", "Unknown"], nodehealth.PARTIAL_DISRUPTION,
                 id="most-down"),
    pytest.param(["True"] * 4 + ["False"] * 3, nodehealth.NORMAL, id="minority-down"),
    pytest.param([], nodehealth.NORMAL, id="empty"),
])
def test_zone_state(ready: list[str], want: str) -> None:
    assert nodehealth.zone_state(ready) == want


@pytest.mark.parametrize("state,size,want", [
    (nodehealth.NORMAL, 3, 0.1), (nodehealth.FULL_DISRUPTION, 3, 0.1),
    (nodehealth.PARTIAL_DISRUPTION, 3, 0.0), (nodehealth.PARTIAL_DISRUPTION, 100, 0.01)])
def test_eviction_rate(state: str, size: int, want: float) -> None:
    assert nodehealth.eviction_rate(state, size, qps=0.1, secondary_qps=0.01,
                                    large_cluster=50) == want


def test_zones_are_told_apart_by_label() -> None:
    assert nodehealth.zone_of(node(zone="a")) != nodehealth.zone_of(node(zone="b"))


def test_token_bucket() -> None:
    b = nodehealth.TokenBucket(0.5, now=0.0)
    assert b.take(0.0)
    assert not b.take(1.0)
    assert b.take(2.0)
    b.set_rate(0.0, 10.0)
    assert not b.take(100.0)


# -- taint eviction ---------------------------------------------------------------------------

UNREACH = {"key": nodehealth.UNREACHABLE, "effect": "NoExecute"}
NOTREADY = {"key": nodehealth.NOT_READY, "effect": "NoExecute"}


@pytest.mark.parametrize("toleration,taint,want", [
    pytest.param({"key": nodehealth.UNREACHABLE, "operator": "Exists", "effect": "NoExecute"},
                 UNREACH, True, id="exact"),
    pytest.param({"operator": "Exists"}, UNREACH, True, id="tolerate-everything"),
    pytest.param({"key": nodehealth.UNREACHABLE, "operator": "Exists", "effect": "NoSchedule"},
                 UNREACH, False, id="other-effect"),
    pytest.param({"key": "k", "value": "v"}, {"key": "k", "value": "v", "effect": "NoExecute"},
                 True, id="equal"),
    pytest.param({"key": "k", "value": "w"}, {"key": "k", "value": "v", "effect": "NoExecute"},
                 False, id="unequal"),
])
def test_tolerates(toleration: Obj, taint: Obj, want: bool) -> None:
    assert taints.tolerates(toleration, taint) is want


@pytest.mark.parametrize("tolerations,want", [
    pytest.param([], "evict-now", id="no-tolerations"),
    pytest.param([{"key": nodehealth.UNREACHABLE, "operator": "Exists"}], "evict-now",
                 id="one-taint-untolerated"),
    pytest.param([{"operator": "Exists"}], None, id="forever"),
    pytest.param([{"key": nodehealth.UNREACHABLE, "operator": "Exists", "tolerationSeconds": 30},
                  {"key": nodehealth.NOT_READY, "operator": "Exists", "tolerationSeconds": 5}],
                 5.0, id="shortest-wins"),
    pytest.param([{"operator": "Exists", "tolerationSeconds": -3}], 0.0, id="negative-is-now"),
])
def test_how_long_a_pod_may_stay(tolerations: list[Obj], want: object) -> None:
    used = tainteviction.used_tolerations([UNREACH, NOTREADY], tolerations)
    got = "evict-now" if used is None else tainteviction.toleration_seconds(used)
    assert got == want
