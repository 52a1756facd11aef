"""The deployment controller's reconcile against a recording in-memory client: what it
writes for creation, rollouts, rollback, pause, Recreate, history and deadlines."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from kubelite.api import errors
from kubelite.controllers.deployment import hashing, revisions
from tests.controllers import deployment_fakes as fakes

Obj = dict[str, Any]
REV = revisions.REVISION


@pytest.fixture
def fc() -> fakes.FakeCluster:
    return fakes.FakeCluster()


def cond(obj: Obj, type_: str) -> tuple[str, str, str]:
    for c in (obj.get("status") or {}).get("conditions") or []:
        if c["type"] == type_:
            return c["status"], c["reason"], c["message"]
    raise AssertionError(f"no {type_} condition in {obj.get('status')}")


def sizes(fc: fakes.FakeCluster) -> list[int]:
    return [rs["spec"]["replicas"] for rs in fc.replicasets()]


def rollout_done(d: Obj) -> bool:
    """What `kubectl rollout status` checks."""
    s, want = d.get("status") or {}, d["spec"]["replicas"]
    return (s.get("observedGeneration", 0) >= d["metadata"]["generation"]
            and s.get("updatedReplicas", 0) == want and s.get("replicas", 0) == want
            and s.get("availableReplicas", 0) >= want)


async def settle(fc: fakes.FakeCluster, *, limit: int = 40) -> list[list[int]]:
    """Sync with every pod ready at once until the rollout completes; sizes per step."""
    steps = []
    for _ in range(limit):
        await fc.sync()
        fc.settle_replicasets()
        steps.append(sizes(fc))
        await fc.sync()
        if rollout_done(fc.deployment()):
            return steps
    raise AssertionError(f"rollout did not finish: {steps}")


def set_image(image: str) -> Any:
    def mutate(d: Obj) -> None:
        d["spec"]["template"]["spec"]["containers"][0]["image"] = image
    return mutate


async def test_new_deployment_gets_a_hashed_replicaset(fc: fakes.FakeCluster) -> None:
    await fc.create("deployments", fakes.deployment(replicas=3))
    await fc.sync()
    [rs] = fc.replicasets()
    h = rs["metadata"]["labels"][hashing.LABEL]
    assert rs["metadata"]["name"] == f"web-{h}"
    assert rs["spec"]["selector"]["matchLabels"] == {"app": "web", hashing.LABEL: h}
    assert rs["spec"]["template"]["metadata"]["labels"] == {"app": "web", hashing.LABEL: h}
    assert rs["spec"]["replicas"] == 3
    ann = rs["metadata"]["annotations"]
    assert (ann[REV], ann["deployment.kubernetes.io/desired-replicas"],
            ann["deployment.kubernetes.io/max-replicas"]) == ("1", "3", "4")
    ref = rs["metadata"]["ownerReferences"][0]
    assert (ref["kind"], ref["name"], ref["controller"]) == ("Deployment", "web", True)
    d = fc.deployment()
    assert d["metadata"]["annotations"][REV] == "1"
    assert cond(d, "Progressing")[:2] == ("True", "NewReplicaSetCreated")
    assert ("Normal", "ScalingReplicaSet", f"Scaled up replica set web-{h} from 0 to 3") in \
        fc.recorder.events


async def test_deployment_becomes_available_when_pods_are(fc: fakes.FakeCluster) -> None:
    await fc.create("deployments", fakes.deployment(replicas=3))
    await fc.sync()
    assert cond(fc.deployment(), "Available")[:2] == ("False", "MinimumReplicasUnavailable")
    await settle(fc)
    d = fc.deployment()
    assert cond(d, "Available") == ("True", "MinimumReplicasAvailable",
                                    "Deployment has minimum availability.")
    name = fc.replicasets()[0]["metadata"]["name"]
    assert cond(d, "Progressing") == ("True", "NewReplicaSetAvailable",
                                      f'ReplicaSet "{name}" has successfully progressed.')
    assert {k: d["status"][k] for k in ("replicas", "updatedReplicas", "readyReplicas",
                                        "availableReplicas", "observedGeneration")} == {
        "replicas": 3, "updatedReplicas": 3, "readyReplicas": 3, "availableReplicas": 3,
        "observedGeneration": 1}
    assert "unavailableReplicas" not in d["status"]


async def test_rolling_update_respects_surge_and_unavailability(fc: fakes.FakeCluster) -> None:
    strategy = {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}}
    await fc.create("deployments", fakes.deployment(replicas=3, strategy=strategy))
    await settle(fc)
    await fc.edit(set_image("nginx:2"))
    steps = await settle(fc)
    assert all(sum(s) <= 4 for s in steps)
    assert sizes(fc) == [0, 3]
    old, new = fc.replicasets()
    assert (old["metadata"]["annotations"][REV], new["metadata"]["annotations"][REV]) == ("1", "2")
    assert fc.deployment()["metadata"]["annotations"][REV] == "2"
    assert ("Normal", "ScalingReplicaSet", (f"Scaled down replica set "
            f"{old['metadata']['name']} from 3 to 2")) in fc.recorder.events


async def test_rollback_reuses_the_old_replicaset_with_a_new_revision(
        fc: fakes.FakeCluster) -> None:
    await fc.create("deployments", fakes.deployment(replicas=2))
    await settle(fc)
    await fc.edit(set_image("nginx:2"))
    await settle(fc)
    first = fc.replicasets()[0]
    await fc.edit(set_image("nginx:1"))     # what `kubectl rollout undo` sends
    await settle(fc)
    assert next(rs["metadata"]["name"] for rs in fc.replicasets()) == first["metadata"]["name"]
    assert len(fc.replicasets()) == 2 and sizes(fc) == [2, 0]
    ann = fc.replicasets()[0]["metadata"]["annotations"]
    assert (ann[REV], ann[revisions.HISTORY]) == ("3", "1")
    assert fc.deployment()["metadata"]["annotations"][REV] == "3"


async def test_paused_deployment_scales_but_does_not_roll_out(fc: fakes.FakeCluster) -> None:
    await fc.create("deployments", fakes.deployment(replicas=3))
    await settle(fc)

    def pause_and_change(d: Obj) -> None:
        d["spec"]["paused"] = True
        d["spec"]["replicas"] = 5
        set_image("nginx:2")(d)
    await fc.edit(pause_and_change)
    await fc.sync()
    assert sizes(fc) == [5]
    assert cond(fc.deployment(), "Progressing") == ("Unknown", "DeploymentPaused",
                                                    "Deployment is paused")
    await fc.edit(lambda d: d["spec"].update(paused=False))
    await fc.sync()
    assert cond(fc.deployment(), "Progressing")[:2] == ("True", "NewReplicaSetCreated")
    await settle(fc)
    assert sizes(fc) == [0, 5]


async def test_scaling_mid_rollout_is_proportional(fc: fakes.FakeCluster) -> None:
    await fc.create("deployments", fakes.deployment(replicas=10))
    await settle(fc)
    await fc.edit(set_image("nginx:2"))
    await fc.sync()                 # new set surges to 3; old may lose maxUnavailable (2)
    assert sizes(fc) == [8, 3]
    await fc.edit(lambda d: d["spec"].update(replicas=20))
    await fc.sync()
    # 25 allowed (20 + 25% surge); 8 and 3 of 13 scale to 15 and 6, leftover 4 to the largest
    assert sizes(fc) == [19, 6]


async def test_recreate_waits_for_old_pods_to_be_gone(fc: fakes.FakeCluster) -> None:
    await fc.create("deployments", fakes.deployment(replicas=3, strategy={"type": "Recreate"}))
    await settle(fc)
    [old] = fc.replicasets()
    pod = await fc.create("pods", {"metadata": {"name": "web-old-1", "namespace": "default",
                                                "ownerReferences": [{
                                                    "kind": "ReplicaSet", "controller": True,
                                                    "name": old["metadata"]["name"],
                                                    "uid": old["metadata"]["uid"]}]},
                                   "status": {"phase": "Running"}})
    await fc.edit(set_image("nginx:2"))
    await fc.sync()
    assert sizes(fc) == [0]
    fc.settle_replicasets()
    await fc.sync()
    assert len(fc.replicasets()) == 1, "a new set must wait for the old pod"
    await fc.client.delete(fc.rt["pods"], pod["metadata"]["name"], "default")
    await fc.sync()
    assert sizes(fc) == [0, 3]


async def test_deployment_being_deleted_creates_nothing(fc: fakes.FakeCluster) -> None:
    d = fakes.deployment()
    d["metadata"]["deletionTimestamp"] = "2024-01-01T00:00:00Z"
    await fc.create("deployments", d)
    await fc.sync()
    assert fc.replicasets() == []
    assert ("create", "replicasets") not in [c[:2] for c in fc.client.calls]


async def test_history_beyond_the_limit_is_deleted(fc: fakes.FakeCluster) -> None:
    await fc.create("deployments", fakes.deployment(replicas=1, revisionHistoryLimit=1))
    await settle(fc)
    for image in ("nginx:2", "nginx:3", "nginx:4"):
        await fc.edit(set_image(image))
        await settle(fc)
        await fc.sync()
    revs = sorted(int(rs["metadata"]["annotations"][REV]) for rs in fc.replicasets())
    assert revs == [3, 4]


async def test_stuck_rollout_exceeds_its_progress_deadline(fc: fakes.FakeCluster) -> None:
    await fc.create("deployments", fakes.deployment(replicas=2, progressDeadlineSeconds=60))
    await fc.sync()
    d = copy.deepcopy(fc.deployment())
    for c in d["status"]["conditions"]:
        c["lastUpdateTime"] = c["lastTransitionTime"] = "2020-01-01T00:00:00Z"
    fc.client.put("deployments", d)
    await fc.sync()
    name = fc.replicasets()[0]["metadata"]["name"]
    assert cond(fc.deployment(), "Progressing") == (
        "False", "ProgressDeadlineExceeded", f'ReplicaSet "{name}" has timed out progressing.')


async def test_hash_collision_bumps_collision_count(fc: fakes.FakeCluster) -> None:
    d = fakes.deployment()
    h = hashing.compute(d["spec"]["template"])
    await fc.create("replicasets", {"metadata": {"name": f"web-{h}", "namespace": "default"},
                                    "spec": {"replicas": 0, "template": {"metadata": {}}}})
    await fc.create("deployments", d)
    with pytest.raises(errors.APIError):
        await fc.sync()
    assert fc.deployment()["status"]["collisionCount"] == 1
    await fc.sync()
    names = {rs["metadata"]["name"] for rs in fc.replicasets()}
    assert len(names) == 2 and f"web-{hashing.compute(d['spec']['template'], 1)}" in names


async def test_orphan_replicaset_is_adopted_and_mismatch_released(fc: fakes.FakeCluster) -> None:
    d = fakes.deployment(replicas=2)
    h = hashing.compute(d["spec"]["template"])
    template = copy.deepcopy(d["spec"]["template"])
    template["metadata"]["labels"][hashing.LABEL] = h
    await fc.create("replicasets", {"metadata": {
        "name": "orphan", "namespace": "default", "labels": {"app": "web", hashing.LABEL: h}},
        "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}},
                 "template": template}})
    await fc.create("deployments", d)
    await fc.sync()
    [rs] = fc.replicasets()
    assert rs["metadata"]["name"] == "orphan"
    assert rs["metadata"]["ownerReferences"][0]["uid"] == fc.deployment()["metadata"]["uid"]
    assert rs["metadata"]["annotations"][REV] == "1"
    rs = copy.deepcopy(rs)
    rs["metadata"]["labels"] = {"app": "other"}
    fc.client.put("replicasets", rs)
    await fc.sync()
    orphan = next(r for r in fc.replicasets() if r["metadata"]["name"] == "orphan")
    assert orphan["metadata"]["ownerReferences"] == []
    assert len(fc.replicasets()) == 2        # a new set replaces the released one
