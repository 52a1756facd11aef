"""The DaemonSet controller's pure decisions: fit, pod shape, manage, rolling, status."""

from __future__ import annotations

import datetime
from typing import Any

import pytest

from kubelite.controllers.daemonset import backoff, history, placement, plan, rolling

Obj = dict[str, Any]
NOW = datetime.datetime(2024, 1, 1, 1, 0, tzinfo=datetime.UTC)
HASH = "abc12"


def ds(**spec: Any) -> Obj:
    template_spec = spec.pop("pod", {"containers": [{"name": "c", "image": "i"}]})
    return {"apiVersion": "apps/v1", "kind": "DaemonSet",
            "metadata": {"name": "d", "namespace": "ns", "uid": "u1", "generation": 2},
            "spec": {"selector": {"matchLabels": {"app": "d"}},
                     "template": {"metadata": {"labels": {"app": "d"}}, "spec": template_spec},
                     **spec}}


def node(name: str, labels: dict[str, str] | None = None, taints: list[Obj] | None = None) -> Obj:
    return {"metadata": {"name": name, "labels": labels or {}},
            "spec": {"taints": taints} if taints else {}}


def pod(name: str, node_name: str, *, hash_: str = HASH, ready: bool = True,
        phase: str = "Running", created: str = "2024-01-01T00:00:00Z",
        deleting: bool = False) -> Obj:
    meta: Obj = {"name": name, "namespace": "ns", "creationTimestamp": created,
                 "labels": {"app": "d", placement.HASH_LABEL: hash_}}
    if deleting:
        meta["deletionTimestamp"] = "2024-01-01T00:30:00Z"
    conditions = [{"type": "Ready", "status": "True" if ready else "False",
                   "lastTransitionTime": "2024-01-01T00:00:00Z"}]
    return {"metadata": meta, "spec": {"nodeName": node_name},
            "status": {"phase": phase, "conditions": conditions}}


@pytest.mark.parametrize(("pod_spec", "n", "want"), [
    ({}, node("a"), (True, True)),
    ({"nodeSelector": {"disk": "ssd"}}, node("a"), (False, False)),
    ({"nodeSelector": {"disk": "ssd"}}, node("a", {"disk": "ssd"}), (True, True)),
    ({"affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
        "nodeSelectorTerms": [{"matchFields": [{"key": "metadata.name", "operator": "In",
                                                "values": ["b"]}]}]}}}}, node("a"),
     (False, False)),
    ({}, node("a", taints=[{"key": "k", "effect": "NoSchedule"}]), (False, True)),
    ({}, node("a", taints=[{"key": "k", "effect": "NoExecute"}]), (False, False)),
    ({}, node("a", taints=[{"key": "k", "effect": "PreferNoSchedule"}]), (True, True)),
    ({"tolerations": [{"key": "k", "operator": "Exists"}]},
     node("a", taints=[{"key": "k", "effect": "NoExecute"}]), (True, True)),
    ({}, node("a", taints=[{"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"}]),
     (True, True)),
    ({}, node("a", taints=[{"key": "node.kubernetes.io/not-ready", "effect": "NoExecute"}]),
     (True, True)),
    ({}, node("a", taints=[{"key": "node.kubernetes.io/network-unavailable",
                            "effect": "NoSchedule"}]), (False, True)),
    ({"hostNetwork": True}, node("a", taints=[{"key": "node.kubernetes.io/network-unavailable",
                                                "effect": "NoSchedule"}]), (True, True)),
], ids=["plain", "selector-miss", "selector-hit", "affinity-miss", "noschedule",
        "noexecute", "prefer", "tolerated", "cordoned", "not-ready", "network", "hostnetwork"])
def test_node_fit(pod_spec: Obj, n: Obj, want: tuple[bool, bool]) -> None:
    fit = placement.node_fit(ds(pod={"containers": [], **pod_spec}), n)
    assert (fit.should_run, fit.should_continue) == want


def test_new_pod_is_pinned_labelled_and_tolerant() -> None:
    d = ds(pod={"containers": [], "affinity": {"nodeAffinity": {
        "requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
            {"matchExpressions": [{"key": "x", "operator": "Exists"}]}]}}},
        "tolerations": [{"key": "node.kubernetes.io/unreachable", "operator": "Exists",
                         "effect": "NoExecute", "tolerationSeconds": 5}]})
    p = placement.new_pod(d, placement.pod_template(d, HASH), "n1", {"uid": "u1"})
    assert p["metadata"]["generateName"] == "d-"
    assert p["metadata"]["labels"] == {"app": "d", placement.HASH_LABEL: HASH,
                                       placement.GENERATION_LABEL: "2"}
    assert p["spec"]["affinity"]["nodeAffinity"][
        "requiredDuringSchedulingIgnoredDuringExecution"] == {"nodeSelectorTerms": [
            {"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["n1"]}]}]}
    unreachable = [t for t in p["spec"]["tolerations"]
                   if t["key"] == "node.kubernetes.io/unreachable"]
    assert unreachable == [{"key": "node.kubernetes.io/unreachable", "operator": "Exists",
                            "effect": "NoExecute"}]
    assert len(p["spec"]["tolerations"]) == 6
    assert placement.target_node(p) == "n1"
    assert d["spec"]["template"]["spec"]["affinity"]["nodeAffinity"][   # template untouched
        "requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"] == [
            {"matchExpressions": [{"key": "x", "operator": "Exists"}]}]


def test_manage_creates_where_missing_and_deletes_where_unfit() -> None:
    nodes = [node("a"), node("b"), node("c", taints=[{"key": "k", "effect": "NoExecute"}])]
    by_node = plan.group_by_node([pod("pb", "b"), pod("pc", "c"), pod("px", "gone")])
    acts = plan.manage(ds(), nodes, by_node)
    assert acts.create_on == ["a"]
    assert [p["metadata"]["name"] for p in acts.delete] == ["pc"]


def test_manage_keeps_the_oldest_and_replaces_failed_pods() -> None:
    nodes = [node("a"), node("b"), node("c")]
    by_node = plan.group_by_node([
        pod("new", "a", created="2024-01-01T00:05:00Z"), pod("old", "a"),
        pod("bad", "b", phase="Failed"), pod("bye", "c", deleting=True)])
    acts = plan.manage(ds(), nodes, by_node)
    assert acts.create_on == []       # b waits for its failed pod to go, c for its terminating one
    assert [p["metadata"]["name"] for p in acts.delete] == ["new", "bad"]
    assert [(p["metadata"]["name"], n) for p, n in acts.failed] == [("bad", "b")]


def test_unscheduled_pod_for_a_vanished_node_is_deleted() -> None:
    orphan = placement.new_pod(ds(), placement.pod_template(ds(), HASH), "gone", {})
    orphan["metadata"]["name"] = "orphan"
    acts = plan.manage(ds(), [node("a")], plan.group_by_node([orphan]))
    assert acts.create_on == ["a"] and [p["metadata"]["name"] for p in acts.delete] == ["orphan"]


def rolling_ds(max_unavailable: Any, max_surge: Any = 0) -> Obj:
    return ds(updateStrategy={"type": "RollingUpdate", "rollingUpdate": {
        "maxUnavailable": max_unavailable, "maxSurge": max_surge}})


@pytest.mark.parametrize(("max_unavailable", "pods_", "want"), [
    (1, [pod("a", "a", hash_="old"), pod("b", "b", hash_="old"), pod("c", "c", hash_="old")],
     ["a"]),
    (2, [pod("a", "a", hash_="old"), pod("b", "b", hash_="old"), pod("c", "c", hash_="old")],
     ["a", "b"]),
    ("50%", [pod("a", "a", hash_="old"), pod("b", "b", hash_="old"), pod("c", "c", hash_="old")],
     ["a", "b"]),
    (0, [pod("a", "a", hash_="old"), pod("b", "b", hash_="old"), pod("c", "c", hash_="old")],
     ["a"]),
    (1, [pod("a", "a", ready=False), pod("b", "b", hash_="old"), pod("c", "c", hash_="old")], []),
    (1, [pod("a", "a"), pod("b", "b", hash_="old", ready=False), pod("c", "c", hash_="old")],
     ["b", "c"]),
    (1, [pod("b", "b", hash_="old"), pod("c", "c", hash_="old")], []),
    (1, [pod("a", "a"), pod("b", "b"), pod("c", "c")], []),
], ids=["one", "two", "percent", "zero-means-one", "new-not-ready", "unready-old-replaced",
        "node-without-pod", "done"])
def test_rolling_deletions(max_unavailable: Any, pods_: list[Obj], want: list[str]) -> None:
    got = rolling.deletions(rolling_ds(max_unavailable), [node("a"), node("b"), node("c")],
                                 plan.group_by_node(pods_), HASH, NOW)
    assert sorted(p["metadata"]["name"] for p in got) == want


def test_status_counts() -> None:
    d = ds(pod={"containers": [], "nodeSelector": {"run": "yes"}})
    nodes = [node("a", {"run": "yes"}), node("b", {"run": "yes"}), node("c", {"run": "yes"}),
             node("d"), node("e", {"run": "yes"})]
    by_node = plan.group_by_node([pod("a", "a"), pod("b", "b", hash_="old"),
                                  pod("c", "c", ready=False), pod("d", "d")])
    assert plan.status(d, nodes, by_node, HASH, NOW) == {
        "desiredNumberScheduled": 4, "currentNumberScheduled": 3, "numberReady": 2,
        "numberAvailable": 2, "numberUnavailable": 2, "updatedNumberScheduled": 2,
        "numberMisscheduled": 1, "observedGeneration": 2}


def test_status_waits_min_ready_seconds_for_availability() -> None:
    d = ds(minReadySeconds=7200)
    got = plan.status(d, [node("a")], plan.group_by_node([pod("a", "a")]), HASH, NOW)
    assert (got["numberReady"], got.get("numberAvailable", 0), got["numberUnavailable"]) == (1, 0, 1)


def revision(name: str, number: int, hash_: str, data: Obj | None = None) -> Obj:
    return {"metadata": {"name": name, "labels": {placement.HASH_LABEL: hash_}},
            "revision": number, "data": data or {}}


def test_revision_holds_a_patch_that_restores_the_template() -> None:
    d = ds(revisionHistoryLimit=1)
    d["metadata"]["annotations"] = {"kubernetes.io/change-cause": "why"}
    h = history.hash_of(d)
    rev = history.new_revision(d, h, 3, {"uid": "u1"})
    assert rev["metadata"]["name"] == f"d-{h}" and rev["revision"] == 3
    assert rev["metadata"]["labels"] == {"app": "d", placement.HASH_LABEL: h}
    assert rev["metadata"]["annotations"] == {"kubernetes.io/change-cause": "why"}
    assert rev["data"]["spec"]["template"]["$patch"] == "replace"
    assert history.matches(d, rev)
    renamed = revision("other", 1, "zzz", data=rev["data"])
    current, old = history.split(d, h, [renamed, revision("x", 2, "yyy")])
    assert [r["metadata"]["name"] for r in current] == ["other"]
    assert history.next_number(old) == 3


def test_old_revisions_beyond_the_limit_go_unless_a_pod_runs_them() -> None:
    old = [revision("r1", 1, "h1"), revision("r2", 2, "h2"), revision("r3", 3, "h3")]
    got = history.to_delete(ds(revisionHistoryLimit=1), old, live_hashes={"h1"})
    assert [r["metadata"]["name"] for r in got] == ["r2", "r3"]
    assert history.to_delete(ds(), old, set()) == []


OLD3 = [pod("a", "a", hash_="old"), pod("b", "b", hash_="old"), pod("c", "c", hash_="old")]


@pytest.mark.parametrize(("max_surge", "pods_", "want_nodes", "want_deleted"), [
    (1, OLD3, ["a"], []),
    ("100%", OLD3, ["a", "b", "c"], []),
    (1, [*OLD3, pod("a2", "a", ready=False)], [], []),
    (1, [*OLD3, pod("a2", "a")], ["b"], ["a"]),
    (1, [pod("a", "a", hash_="old", ready=False), pod("b", "b", hash_="old"),
         pod("c", "c", hash_="old")], ["a", "b"], []),
], ids=["one", "all", "waiting", "new-available", "unavailable-old-extra"])
def test_surge(max_surge: Any, pods_: list[Obj], want_nodes: list[str],
               want_deleted: list[str]) -> None:
    nodes, deleted = rolling.surge(rolling_ds(0, max_surge), [node("a"), node("b"), node("c")],
                                   plan.group_by_node(pods_), HASH, NOW)
    assert (nodes, [p["metadata"]["name"] for p in deleted]) == (want_nodes, want_deleted)


@pytest.mark.parametrize(("new_ready", "old_ready", "want"), [
    (False, True, []), (True, True, ["old"]), (False, False, ["old"])],
    ids=["keep-both", "new-available", "old-unready"])
def test_manage_with_surge_keeps_old_until_new_is_available(new_ready: bool, old_ready: bool,
                                                            want: list[str]) -> None:
    by_node = plan.group_by_node([pod("old", "a", hash_="old", ready=old_ready),
                                  pod("new", "a", ready=new_ready,
                                      created="2024-01-01T00:05:00Z")])
    acts = plan.manage(rolling_ds(0, 1), [node("a")], by_node, hash_=HASH, now=NOW)
    assert [p["metadata"]["name"] for p in acts.delete] == want


def test_failed_pod_backoff_doubles_per_node() -> None:
    now = [0.0]
    b = backoff.Backoff(clock=lambda: now[0])
    assert b.wait("ns/d", "a") == 0.0            # first failure: replace at once
    assert b.wait("ns/d", "a") == 1.0            # again within 1 s: wait
    assert b.wait("ns/d", "b") == 0.0            # other nodes are independent
    now[0] = 1.0
    assert b.wait("ns/d", "a") == 0.0            # waited out: replace, next wait 2 s
    now[0] = 2.5
    assert b.wait("ns/d", "a") == 0.5
    b.forget("ns/d")
    assert b.wait("ns/d", "a") == 0.0
