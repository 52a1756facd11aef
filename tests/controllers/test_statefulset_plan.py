"""What the StatefulSet controller decides to do next, from a set and its pods."""

from __future__ import annotations

import datetime
from typing import Any

import pytest

from kubelite.controllers.statefulset import identity, plan, status

Obj = dict[str, Any]
NOW = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
REVS = plan.Revisions(current="web-old", update="web-new")


def sts(replicas: int = 3, **spec: Any) -> Obj:
    return {"apiVersion": "apps/v1", "kind": "StatefulSet",
            "metadata": {"name": "web", "namespace": "ns", "uid": "u-web", "generation": 2},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": "web"}},
                     "serviceName": "svc",
                     "template": {"metadata": {"labels": {"app": "web"}},
                                  "spec": {"containers": [{"name": "c", "image": "i"}]}},
                     **spec}}


def pod(ordinal: int, state: str = "ready", revision: str = "web-new") -> Obj:
    meta: Obj = {"name": f"web-{ordinal}", "namespace": "ns", "uid": f"u{ordinal}",
                 "labels": {"app": "web", identity.POD_NAME_LABEL: f"web-{ordinal}",
                            identity.POD_INDEX_LABEL: str(ordinal),
                            identity.REVISION_LABEL: revision}}
    if state == "terminating":
        meta["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    phase = {"ready": "Running", "terminating": "Running", "pending": "Pending",
             "failed": "Failed"}[state]
    ready = "True" if state in ("ready", "terminating") else "False"
    return {"metadata": meta, "status": {"phase": phase, "conditions": [
        {"type": "Ready", "status": ready, "lastTransitionTime": "2025-12-31T00:00:00Z"}]}}


def summary(p: plan.Plan) -> tuple[list[int], list[str]]:
    return [o for o, _ in p.create], [d["metadata"]["name"] for d in p.delete]


ORDERED = [
    ("empty-creates-first-only", sts(3), [], ([0], [])),
    ("waits-for-pending-pod", sts(3), [pod(0, "pending")], ([], [])),
    ("next-after-ready", sts(3), [pod(0)], ([1], [])),
    ("recreates-missing-middle", sts(3), [pod(0), pod(2)], ([1], [])),
    ("failed-pod-deleted", sts(3), [pod(0, "failed")], ([], ["web-0"])),
    ("scale-down-highest-first", sts(1), [pod(0), pod(1), pod(2)], ([], ["web-2"])),
    ("scale-down-waits-for-terminating", sts(1), [pod(0), pod(1), pod(2, "terminating")],
     ([], [])),
    ("scale-down-waits-for-unready", sts(1), [pod(0, "pending"), pod(1), pod(2)], ([], [])),
    ("roll-highest-old-first", sts(3), [pod(0, revision="web-old"), pod(1, revision="web-old"),
                                        pod(2, revision="web-old")], ([], ["web-2"])),
    ("roll-waits-for-replaced-pod", sts(3), [pod(0, revision="web-old"),
                                             pod(1, revision="web-old"), pod(2, "pending")],
     ([], [])),
    ("roll-continues-down", sts(3), [pod(0, revision="web-old"), pod(1, revision="web-old"),
                                     pod(2)], ([], ["web-1"])),
    ("roll-stops-at-partition", sts(3, updateStrategy={
        "type": "RollingUpdate", "rollingUpdate": {"partition": 2}}),
     [pod(0, revision="web-old"), pod(1, revision="web-old"), pod(2)], ([], [])),
    ("on-delete-never-rolls", sts(2, updateStrategy={"type": "OnDelete"}),
     [pod(0, revision="web-old"), pod(1, revision="web-old")], ([], [])),
    ("ordinals-start", sts(2, ordinals={"start": 3}), [pod(3)], ([4], [])),
    ("waits-for-min-ready-seconds", sts(2, minReadySeconds=2 * 86400), [pod(0)], ([], [])),
    ("min-ready-seconds-passed", sts(2, minReadySeconds=3600), [pod(0)], ([1], [])),
    ("pod-below-start-condemned", sts(1, ordinals={"start": 1}), [pod(0), pod(1)],
     ([], ["web-0"])),
]


@pytest.mark.parametrize("s,pods,want", [c[1:] for c in ORDERED], ids=[c[0] for c in ORDERED])
def test_ordered_ready(s: Obj, pods: list[Obj], want: tuple[list[int], list[str]]) -> None:
    assert summary(plan.next_steps(s, pods, REVS, NOW)) == want


PARALLEL = [
    ("creates-all", sts(3), [], ([0, 1, 2], [])),
    ("creates-past-pending", sts(3), [pod(0, "pending")], ([1, 2], [])),
    ("deletes-all-condemned", sts(1), [pod(0), pod(1), pod(2)], ([], ["web-2", "web-1"])),
]


@pytest.mark.parametrize("s,pods,want", [c[1:] for c in PARALLEL], ids=[c[0] for c in PARALLEL])
def test_parallel(s: Obj, pods: list[Obj], want: tuple[list[int], list[str]]) -> None:
    s["spec"]["podManagementPolicy"] = "Parallel"
    assert summary(plan.next_steps(s, pods, REVS, NOW)) == want


@pytest.mark.parametrize("ordinal,want", [(0, "web-old"), (1, "web-old"), (2, "web-new")],
                         ids=["below", "below-edge", "at-partition"])
def test_recreated_pod_below_partition_keeps_current_revision(ordinal: int, want: str) -> None:
    s = sts(3, updateStrategy={"type": "RollingUpdate", "rollingUpdate": {"partition": 2}})
    assert plan.revision_for(s, ordinal, REVS) == want


def test_adopted_pod_without_identity_labels_is_relabelled() -> None:
    bare = pod(0)
    del bare["metadata"]["labels"][identity.POD_INDEX_LABEL]
    steps = plan.next_steps(sts(1), [bare], REVS, NOW)
    assert [p["metadata"]["name"] for p in steps.relabel] == ["web-0"]
    assert identity.identity_patch(sts(1), bare) == {"metadata": {"labels": {
        identity.POD_NAME_LABEL: "web-0", identity.POD_INDEX_LABEL: "0"}}}


STATUS = [
    ("mid-roll", [pod(0, revision="web-old"), pod(1, revision="web-old"), pod(2)],
     {"replicas": 3, "readyReplicas": 3, "currentReplicas": 2, "updatedReplicas": 1,
      "currentRevision": "web-old"}),
    ("complete-roll", [pod(0), pod(1), pod(2)],
     {"replicas": 3, "readyReplicas": 3, "currentReplicas": 3, "updatedReplicas": 3,
      "currentRevision": "web-new"}),
    ("one-short-of-spec", [pod(0), pod(1)],
     {"replicas": 2, "readyReplicas": 2, "currentReplicas": 0, "updatedReplicas": 2,
      "currentRevision": "web-old"}),
    ("updated-but-unready", [pod(0), pod(1), pod(2, "pending")],
     {"replicas": 3, "readyReplicas": 2, "currentReplicas": 0, "updatedReplicas": 3,
      "currentRevision": "web-old"}),
]


@pytest.mark.parametrize("pods,want", [c[1:] for c in STATUS], ids=[c[0] for c in STATUS])
def test_status(pods: list[Obj], want: Obj) -> None:
    got = status.compute(sts(3), pods, REVS, 0, NOW)
    assert {k: got[k] for k in want} == want
    assert got["updateRevision"] == "web-new" and got["observedGeneration"] == 2
