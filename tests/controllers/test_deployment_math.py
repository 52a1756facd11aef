"""Pure rollout arithmetic of the deployment controller: fenceposts, hashing, rolling
steps, proportional scaling, history cleanup and status conditions."""

from __future__ import annotations

import datetime
from typing import Any

import pytest

from kubelite.api import errors
from kubelite.controllers.deployment import (
    fenceposts,
    hashing,
    progress,
    replicasets,
    revisions,
    rolling,
    scaling,
)
from kubelite.controllers.deployment import status as st

Obj = dict[str, Any]


def dep(replicas: int = 10, surge: Any = "25%", unavailable: Any = "25%", **extra: Any) -> Obj:
    spec = {"replicas": replicas, "strategy": {"type": "RollingUpdate", "rollingUpdate": {
        "maxSurge": surge, "maxUnavailable": unavailable}}}
    spec.update(extra)
    return {"metadata": {"name": "web", "generation": 1}, "spec": spec, "status": {}}


def rs(name: str, replicas: int, available: int | None = None, created: int = 0,
       max_replicas: int | None = None, revision: int | None = None) -> Obj:
    ann = {}
    if max_replicas is not None:
        ann[replicasets.MAX] = str(max_replicas)
    if revision is not None:
        ann[revisions.REVISION] = str(revision)
    avail = replicas if available is None else available
    return {"metadata": {"name": name, "uid": name, "annotations": ann, "generation": 1,
                         "creationTimestamp": f"2024-01-01T00:00:{created:02d}Z"},
            "spec": {"replicas": replicas},
            "status": {"replicas": replicas, "readyReplicas": avail, "availableReplicas": avail,
                       "observedGeneration": 1}}


@pytest.mark.parametrize("replicas,surge,unavailable,want", [
    (10, "25%", "25%", (3, 2)),
    (3, "25%", "25%", (1, 0)),
    (1, "25%", "25%", (1, 0)),
    (4, 1, 0, (1, 0)),
    (4, 0, 1, (0, 1)),
    (3, "0%", "10%", (0, 1)),          # both resolve to zero: unavailability becomes one
    (10, "50%", "100%", (5, 10)),
    (5, "1", 2, (1, 2)),
], ids=["defaults-10", "defaults-3", "defaults-1", "surge-only", "unavailable-only",
        "both-zero-after-rounding", "large-percent", "numeric-string"])
def test_fenceposts(replicas: int, surge: Any, unavailable: Any, want: tuple[int, int]) -> None:
    assert fenceposts.resolve(dep(replicas, surge, unavailable)) == want


def test_max_unavailable_is_capped_and_zero_for_recreate() -> None:
    assert fenceposts.max_unavailable(dep(2, 0, 5)) == 2
    recreate = {"metadata": {}, "spec": {"replicas": 3, "strategy": {"type": "Recreate"}}}
    assert (fenceposts.max_surge(recreate), fenceposts.max_unavailable(recreate)) == (0, 0)


def test_bad_percentage_is_rejected() -> None:
    with pytest.raises(errors.BadRequest):
        fenceposts.scaled_value("ten%", 10, round_up=True)


TEMPLATE = {"metadata": {"labels": {"app": "web"}},
            "spec": {"containers": [{"name": "c", "image": "nginx:1"}]}}


def test_hash_is_stable_and_shaped_like_upstream() -> None:
    h = hashing.compute(TEMPLATE)
    assert h == hashing.compute(dict(TEMPLATE))
    assert 1 <= len(h) <= 10 and set(h) <= set("bcdfghjklmnpqrstvwxz2456789")


def test_hash_ignores_its_own_label_and_null_noise() -> None:
    labelled = {"metadata": {"labels": {"app": "web", hashing.LABEL: "abc"},
                             "creationTimestamp": None},
                "spec": {"containers": [{"name": "c", "image": "nginx:1"}]}}
    assert hashing.compute(labelled) == hashing.compute(TEMPLATE)
    assert hashing.equal_ignore_hash(labelled, TEMPLATE)


def test_hash_changes_with_template_and_collision_count() -> None:
    other = {"metadata": {"labels": {"app": "web"}},
             "spec": {"containers": [{"name": "c", "image": "nginx:2"}]}}
    assert hashing.compute(other) != hashing.compute(TEMPLATE)
    assert hashing.compute(TEMPLATE, 1) != hashing.compute(TEMPLATE, 0)
    assert not hashing.equal_ignore_hash(other, TEMPLATE)


def run_rollout(d: Obj, old_size: int) -> list[tuple[int, int]]:
    """Drive a rollout where every pod becomes available at once; (new, old) per step."""
    old, new = rs("old", old_size, created=0), rs("new", 0, created=1)
    steps = []
    for _ in range(50):
        target = rolling.new_rs_target(d, [old, new], new)
        if target is not None:
            new = rs("new", target, created=1)
        else:
            plan = rolling.old_rs_targets(d, [old, new], replicasets.active([old]), new)
            if not plan:
                break
            old = rs("old", plan[0][1], created=0)
        steps.append((new["spec"]["replicas"], old["spec"]["replicas"]))
        total = new["spec"]["replicas"] + old["spec"]["replicas"]
        surge, _unavailable = fenceposts.resolve(d)
        assert total <= d["spec"]["replicas"] + surge
    return steps


@pytest.mark.parametrize("replicas,surge,unavailable,want", [
    (3, 1, 0, [(1, 3), (1, 2), (2, 2), (2, 1), (3, 1), (3, 0)]),
    (3, 0, 1, [(0, 2), (1, 2), (1, 1), (2, 1), (2, 0), (3, 0)]),
    (4, "25%", "25%", [(1, 4), (1, 2), (3, 2), (3, 0), (4, 0)]),
    (10, "25%", "25%", [(3, 10), (3, 5), (8, 5), (8, 0), (10, 0)]),
    (2, "100%", 0, [(2, 2), (2, 0)]),
], ids=["surge-1", "unavailable-1", "quarter-of-4", "quarter-of-10", "blue-green"])
def test_rolling_steps(replicas: int, surge: Any, unavailable: Any,
                       want: list[tuple[int, int]]) -> None:
    assert run_rollout(dep(replicas, surge, unavailable), replicas) == want


def test_unhealthy_old_pods_go_first_without_costing_availability() -> None:
    d = dep(4, 1, 0)
    old_bad, old_good = rs("a", 2, available=0, created=0), rs("b", 2, created=1)
    new = rs("new", 1, available=1, created=2)
    plan = rolling.old_rs_targets(d, [old_bad, old_good, new], [old_bad, old_good], new)
    assert [(r["metadata"]["name"], n) for r, n in plan] == [("a", 1)]


def test_rollout_waits_while_new_pods_are_unavailable() -> None:
    d = dep(3, 1, 0)
    old, new = rs("old", 3), rs("new", 1, available=0, created=1)
    assert rolling.new_rs_target(d, [old, new], new) is None
    assert rolling.old_rs_targets(d, [old, new], [old], new) == []


@pytest.mark.parametrize("replicas,sizes,want", [
    (20, {"new": 4, "old": 8}, {"new": 7, "old": 16}),      # 10 -> 20; leftover to the largest
    (5, {"new": 4, "old": 8}, {"new": 3, "old": 5}),        # 10 -> 5
    (0, {"new": 4, "old": 8}, {"new": 0, "old": 0}),
], ids=["up", "down", "to-zero"])
def test_proportional_scaling(replicas: int, sizes: dict[str, int], want: dict[str, int]) -> None:
    d = dep(replicas, 3, 2)
    new = rs("new", sizes["new"], created=1, max_replicas=13)
    old = rs("old", sizes["old"], created=0, max_replicas=13)
    plan, _ = scaling.proportional(d, new, [old])
    assert {r["metadata"]["name"]: n for r, n in plan} == want
    assert sum(want.values()) == (replicas + 3 if replicas else 0)


def test_history_cleanup_deletes_oldest_idle_sets_beyond_limit() -> None:
    d = dep(3, revisionHistoryLimit=1)
    olds = [rs("r1", 0, revision=1), rs("r2", 2, revision=2), rs("r3", 0, revision=3),
            rs("r4", 0, revision=4)]
    assert [r["metadata"]["name"] for r in revisions.history_to_delete(d, olds)] == ["r1", "r3"]
    assert revisions.history_to_delete(dep(3), olds) == []         # no limit set: keep all


def test_new_rs_annotations_promote_an_old_revision() -> None:
    d = {"metadata": {"annotations": {"kubernetes.io/change-cause": "undo",
                                      revisions.REVISION: "3"}}}
    old = rs("r1", 0, revision=1)
    assert revisions.set_new_rs_annotations(d, old, 4, exists=True, desired=3, maximum=4)
    ann = old["metadata"]["annotations"]
    assert ann[revisions.REVISION] == "4" and ann[revisions.HISTORY] == "1"
    assert ann["kubernetes.io/change-cause"] == "undo"
    assert replicasets.DESIRED not in ann


NOW = datetime.datetime(2024, 1, 1, 0, 10, tzinfo=datetime.UTC)


def conditions(status: Obj) -> dict[str, tuple[str, str]]:
    return {c["type"]: (c["status"], c["reason"]) for c in status.get("conditions") or []}


def test_available_condition_follows_min_availability() -> None:
    d = dep(4, 1, 1)
    assert conditions(st.calculate([rs("a", 4, available=3)], None, d))["Available"] == (
        "True", "MinimumReplicasAvailable")
    assert conditions(st.calculate([rs("a", 4, available=2)], None, d))["Available"] == (
        "False", "MinimumReplicasUnavailable")


def test_status_counts() -> None:
    d = dep(4, 1, 1)
    new, old = rs("new", 2, available=1), rs("old", 3)
    s = st.calculate([old, new], new, d)
    assert {k: s[k] for k in ("replicas", "updatedReplicas", "readyReplicas",
                              "availableReplicas", "unavailableReplicas",
                              "observedGeneration")} == {
        "replicas": 5, "updatedReplicas": 2, "readyReplicas": 4, "availableReplicas": 4,
        "unavailableReplicas": 1, "observedGeneration": 1}


def progressing(reason: str, updated: str) -> Obj:
    return {"type": "Progressing", "status": "True", "reason": reason, "message": "",
            "lastUpdateTime": updated, "lastTransitionTime": updated}


@pytest.mark.parametrize("prior,new_avail,want", [
    (progressing("ReplicaSetUpdated", "2024-01-01T00:09:00Z"), 3, ("True", "NewReplicaSetAvailable")),
    (progressing("ReplicaSetUpdated", "2024-01-01T00:09:00Z"), 1, ("True", "ReplicaSetUpdated")),
    (progressing("ReplicaSetUpdated", "2024-01-01T00:00:00Z"), 0, ("False", "ProgressDeadlineExceeded")),
], ids=["complete", "progressing", "deadline"])
def test_progressing_condition(prior: Obj, new_avail: int, want: tuple[str, str]) -> None:
    d = dep(3, 1, 0, progressDeadlineSeconds=300)
    d["status"] = {"replicas": 3, "updatedReplicas": 3, "readyReplicas": 0,
                   "availableReplicas": 0, "observedGeneration": 1, "conditions": [prior]}
    new = rs("new", 3, available=new_avail)
    out = progress.rollout_status([new], new, d, NOW)
    assert conditions(out)["Progressing"] == want


def test_stuck_rollout_is_rechecked_after_its_deadline() -> None:
    d = dep(3, 1, 0, progressDeadlineSeconds=300)
    d["status"] = {"conditions": [progressing("ReplicaSetUpdated", "2024-01-01T00:09:00Z")]}
    assert progress.recheck_after(d, {"replicas": 3}, NOW) == 241.0
