"""Pure parts of the Job controller: counting pods, failure and completion rules, how many
pods to run, which indexes to create, the pods it builds and its status conditions."""

from __future__ import annotations

import datetime
from typing import Any

import pytest

from kubelite.controllers.job import indexes, state, template
from kubelite.controllers.job import status as status_mod

Obj = dict[str, Any]
NOW = datetime.datetime(2024, 1, 1, 0, 10, tzinfo=datetime.UTC)


def job(status: Obj | None = None, **spec: Any) -> Obj:
    base = {"parallelism": 1, "completions": 1, "backoffLimit": 6, "completionMode": "NonIndexed",
            "template": {"metadata": {"labels": {"job-name": "pi"}},
                         "spec": {"restartPolicy": "Never",
                                  "containers": [{"name": "c", "image": "busybox"}]}}}
    base.update(spec)
    return {"apiVersion": "batch/v1", "kind": "Job",
            "metadata": {"name": "pi", "namespace": "ns", "uid": "u1"},
            "spec": base, "status": status or {}}


def pod(phase: str = "Running", index: int | None = None, ready: bool = False,
        restarts: int = 0, deleting: bool = False) -> Obj:
    meta: Obj = {"name": f"p{index}", "namespace": "ns"}
    if index is not None:
        meta["annotations"] = {indexes.ANNOTATION: str(index)}
    if deleting:
        meta["deletionTimestamp"] = "2024-01-01T00:00:00Z"
    status: Obj = {"phase": phase, "containerStatuses": [{"restartCount": restarts}]}
    if ready:
        status["conditions"] = [{"type": "Ready", "status": "True"}]
    return {"metadata": meta, "spec": {}, "status": status}


def test_count_tallies_each_phase() -> None:
    c = state.count(job(), [pod("Succeeded"), pod("Failed"), pod("Failed"), pod(ready=True),
                            pod("Pending"), pod(deleting=True)])
    assert (c.succeeded, c.failed, len(c.active), c.ready, c.terminating) == (1, 2, 2, 1, 1)


def test_count_never_falls_below_status() -> None:
    c = state.count(job({"succeeded": 3, "failed": 2}), [pod("Succeeded")])
    assert (c.succeeded, c.failed) == (3, 2)


def test_count_indexed_unions_completed_indexes() -> None:
    j = job({"completedIndexes": "0,2"}, completionMode="Indexed", completions=5)
    c = state.count(j, [pod("Succeeded", 1), pod("Succeeded", 2), pod("Succeeded", 9)])
    assert (c.completed, c.succeeded) == ({0, 1, 2}, 3)


def test_restarts_counted_for_active_pods_only() -> None:
    c = state.count(job(), [pod(restarts=2), pod("Failed", restarts=5)])
    assert c.restarts == 2


@pytest.mark.parametrize(("spec", "pods", "status", "want"), [
    ({"backoffLimit": 1}, ["Failed"], {}, None),
    ({"backoffLimit": 1}, ["Failed", "Failed"], {}, "BackoffLimitExceeded"),
    ({"backoffLimit": 0}, ["Failed"], {}, "BackoffLimitExceeded"),
    ({"activeDeadlineSeconds": 600}, ["Running"], {"startTime": "2024-01-01T00:00:00Z"},
     "DeadlineExceeded"),
    ({"activeDeadlineSeconds": 601}, ["Running"], {"startTime": "2024-01-01T00:00:00Z"}, None),
    ({"activeDeadlineSeconds": 1, "suspend": True}, [], {"startTime": "2024-01-01T00:00:00Z"},
     None),
], ids=["under-limit", "over-limit", "limit-zero", "deadline-passed", "deadline-ahead",
        "suspended-no-deadline"])
def test_failure(spec: Obj, pods: list[str], status: Obj, want: str | None) -> None:
    j = job(status, **spec)
    got = state.failure(j, state.count(j, [pod(p) for p in pods]), NOW)
    assert (got[0] if got else None) == want


@pytest.mark.parametrize(("limit", "restarts", "fails"), [
    (0, 1, True), (2, 1, False), (2, 2, True)], ids=["zero-limit", "below", "reached"])
def test_failure_on_failure_counts_restarts(limit: int, restarts: int, fails: bool) -> None:
    j = job(backoffLimit=limit)
    j["spec"]["template"]["spec"]["restartPolicy"] = "OnFailure"
    got = state.failure(j, state.count(j, [pod(restarts=restarts)]), NOW)
    assert (got == ("BackoffLimitExceeded", state.BACKOFF_MESSAGE)) is fails


@pytest.mark.parametrize(("spec", "pods", "want_active", "complete"), [
    ({"completions": 3, "parallelism": 2}, [], 2, False),
    ({"completions": 3, "parallelism": 2}, ["Succeeded", "Succeeded"], 1, False),
    ({"completions": 3, "parallelism": 2}, ["Succeeded"] * 3, 0, True),
    ({"completions": None, "parallelism": 3}, [], 3, False),
    ({"completions": None, "parallelism": 3}, ["Succeeded", "Running"], 1, False),
    ({"completions": None, "parallelism": 3}, ["Succeeded"], 0, True),
], ids=["start", "one-left", "done", "workqueue-start", "workqueue-draining",
        "workqueue-done"])
def test_want_active_and_complete(spec: Obj, pods: list[str], want_active: int,
                                  complete: bool) -> None:
    j = job(**spec)
    c = state.count(j, [pod(p) for p in pods])
    assert (state.want_active(j, c), state.complete(j, c)) == (want_active, complete)


def test_missing_indexes_skip_completed_and_running() -> None:
    j = job({"completedIndexes": "0"}, completionMode="Indexed", completions=5, parallelism=3)
    c = state.count(j, [pod(index=1)])
    assert state.missing_indexes(j, c, 2) == [2, 3]


def test_surplus_drops_duplicate_indexes_and_excess() -> None:
    j = job(completionMode="Indexed", completions=3, parallelism=1)
    c = state.count(j, [pod(index=0), pod(index=0), pod(index=1)])
    assert len(state.surplus(j, c)) == 2


@pytest.mark.parametrize(("text", "parsed", "formatted"), [
    ("0-2,5", {0, 1, 2, 5}, "0-2,5"), ("", set(), ""), ("3,x,1-1,7-9", {1, 3, 7}, "1,3,7")],
    ids=["runs", "empty", "junk-and-range-cut"])
def test_index_intervals(text: str, parsed: set[int], formatted: str) -> None:
    assert indexes.parse(text, 8) == parsed
    assert indexes.format_intervals(parsed) == formatted


def test_pod_for_indexed_job() -> None:
    p = template.pod_for(job(completionMode="Indexed", completions=3), 2)
    meta = p["metadata"]
    assert meta["generateName"] == "pi-2-"
    assert meta["annotations"][indexes.ANNOTATION] == meta["labels"][indexes.ANNOTATION] == "2"
    assert meta["labels"]["job-name"] == "pi"
    assert meta["ownerReferences"][0]["uid"] == "u1" and meta["ownerReferences"][0]["controller"]
    assert p["spec"]["hostname"] == "pi-2"
    env = p["spec"]["containers"][0]["env"]
    assert env[0]["name"] == "JOB_COMPLETION_INDEX"


def test_pod_for_non_indexed_job() -> None:
    p = template.pod_for(job())
    assert p["metadata"]["generateName"] == "pi-"
    assert "hostname" not in p["spec"] and "annotations" not in p["metadata"]


def test_set_condition_keeps_transition_time_when_status_holds() -> None:
    conds = [status_mod.condition("Suspended", "JobSuspended", "Job suspended", "t1")]
    assert not status_mod.set_condition(conds, status_mod.condition(
        "Suspended", "JobSuspended", "Job suspended", "t2"))
    assert status_mod.set_condition(conds, status_mod.condition(
        "Suspended", "JobResumed", "Job resumed", "t3", status="False"))
    assert conds[0]["lastTransitionTime"] == "t3" and conds[0]["status"] == "False"


def test_counted_status_shape() -> None:
    j = job({"startTime": "x", "active": 4}, completionMode="Indexed", completions=3)
    got = status_mod.counted(j, state.count(j, [pod("Succeeded", 0), pod("Succeeded", 1)]))
    assert got == {"startTime": "x", "ready": 0, "terminating": 0, "succeeded": 2,
                   "completedIndexes": "0-1", "uncountedTerminatedPods": {}}
