"""Jobs against a real server, driven by the real kubectl.

Most tests use two hollow nodes, which show pods Running but never finish them: a test
finishes a pod the way its node would, by writing its phase through pods/status. The last
tests run real busybox containers on the bundled agent (needs what tests/e2e/agentenv.py
needs, skipped otherwise; run them in a private network namespace).
"""

from __future__ import annotations

import itertools
import json
import os
from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e import agentenv, simenv
from tests.e2e import cluster as cluster_mod

pytestmark = pytest.mark.e2e

_names = itertools.count()
INDEX = "batch.kubernetes.io/job-completion-index"
REAL_NS = "kubelite-jobs-e2e"


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[cluster_mod.Cluster]:
    yield from simenv.running_cluster(tmp_path_factory, 2)


@pytest.fixture
def ns(cluster: cluster_mod.Cluster) -> str:
    name = f"jobs{next(_names)}-{os.getpid() % 10000}"
    cluster.kubectl("create", "namespace", name)
    return name


def job_yaml(name: str, **spec: Any) -> str:
    body = {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": name},
            "spec": {**spec, "template": {"spec": {"restartPolicy": "Never", "containers": [
                {"name": "c", "image": "busybox", "command": ["true"]}]}}}}
    return json.dumps(body)


def job_pods(cluster: cluster_mod.Cluster, ns: str, job: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = cluster.kubectl_json(
        "get", "pods", "-n", ns, "-l", f"batch.kubernetes.io/job-name={job}", "-o", "json"
    )["items"]
    return items


def running_pods(cluster: cluster_mod.Cluster, ns: str, job: str, n: int) -> list[Any]:
    return cluster_mod.wait_for(
        f"{n} running pods of {job}", lambda: [
            p for p in job_pods(cluster, ns, job) if p["status"].get("phase") == "Running"
            and not p["metadata"].get("deletionTimestamp")],
        lambda ps: len(ps) == n)


def finish(cluster: cluster_mod.Cluster, ns: str, pod: dict[str, Any], phase: str) -> None:
    """What the pod's node reports when its containers exit."""
    cluster.kubectl("patch", "pod", pod["metadata"]["name"], "-n", ns, "--subresource=status",
                    "--type=merge", "-p", json.dumps({"status": {"phase": phase}}))


def get_row(cluster: cluster_mod.Cluster, ns: str, job: str) -> dict[str, str]:
    lines = cluster.kubectl("get", "job", job, "-n", ns).stdout.splitlines()
    return dict(zip(lines[0].split(), lines[1].split(), strict=False))


def test_indexed_job_runs_each_index_to_completion(cluster: cluster_mod.Cluster,
                                                   ns: str) -> None:
    cluster.kubectl("apply", "-n", ns, "-f", "-", input=job_yaml(
        "idx", completions=3, parallelism=2, completionMode="Indexed"))
    first = running_pods(cluster, ns, "idx", 2)
    assert sorted(p["metadata"]["annotations"][INDEX] for p in first) == ["0", "1"]
    for p in first:
        index = p["metadata"]["labels"][INDEX]
        assert p["metadata"]["name"].startswith(f"idx-{index}-")
        assert p["spec"]["hostname"] == f"idx-{index}"
        assert p["metadata"]["ownerReferences"][0]["kind"] == "Job"
        finish(cluster, ns, p, "Succeeded")
    last = cluster_mod.wait_for("index 2", lambda: [
        p for p in running_pods(cluster, ns, "idx", 1)
        if p["metadata"]["annotations"][INDEX] == "2"], bool)
    assert get_row(cluster, ns, "idx")["COMPLETIONS"] == "2/3"
    finish(cluster, ns, last[0], "Succeeded")
    cluster.kubectl("wait", "-n", ns, "--for=condition=complete", "job/idx", "--timeout=30s")
    status = cluster.kubectl_json("get", "job", "idx", "-n", ns, "-o", "json")["status"]
    assert status["completedIndexes"] == "0-2" and status["succeeded"] == 3
    assert {c["type"] for c in status["conditions"]} == {"SuccessCriteriaMet", "Complete"}
    row = get_row(cluster, ns, "idx")
    assert (row["STATUS"], row["COMPLETIONS"]) == ("Complete", "3/3")


def test_backoff_limit_fails_the_job(cluster: cluster_mod.Cluster, ns: str) -> None:
    cluster.kubectl("apply", "-n", ns, "-f", "-", input=job_yaml("bad", backoffLimit=1))
    for _ in range(2):
        finish(cluster, ns, running_pods(cluster, ns, "bad", 1)[0], "Failed")
    cluster.kubectl("wait", "-n", ns, "--for=condition=failed", "job/bad", "--timeout=30s")
    job = cluster.kubectl_json("get", "job", "bad", "-n", ns, "-o", "json")
    failed = next(c for c in job["status"]["conditions"] if c["type"] == "Failed")
    assert (failed["reason"], failed["message"]) == (
        "BackoffLimitExceeded", "Job has reached the specified backoff limit")
    assert job["status"]["failed"] == 2 and "active" not in job["status"]
    assert get_row(cluster, ns, "bad")["STATUS"] == "Failed"
    reasons = cluster.kubectl("get", "events", "-n", ns, "-o",
                              "jsonpath={.items[*].reason}").stdout.split()
    assert "BackoffLimitExceeded" in reasons and "SuccessfulCreate" in reasons


def test_deadline_deletes_running_pods(cluster: cluster_mod.Cluster, ns: str) -> None:
    cluster.kubectl("apply", "-n", ns, "-f", "-", input=job_yaml(
        "slow", parallelism=2, completions=4, activeDeadlineSeconds=2))
    cluster.kubectl("wait", "-n", ns, "--for=condition=failed", "job/slow", "--timeout=30s")
    job = cluster.kubectl_json("get", "job", "slow", "-n", ns, "-o", "json")
    failed = next(c for c in job["status"]["conditions"] if c["type"] == "Failed")
    assert failed["reason"] == "DeadlineExceeded"
    assert job_pods(cluster, ns, "slow") == []


def test_suspend_and_resume(cluster: cluster_mod.Cluster, ns: str) -> None:
    cluster.kubectl("apply", "-n", ns, "-f", "-", input=job_yaml(
        "sus", parallelism=2, completions=2))
    running_pods(cluster, ns, "sus", 2)
    cluster.kubectl("patch", "job", "sus", "-n", ns, "--type=merge",
                    "-p", '{"spec":{"suspend":true}}')
    cluster.kubectl("wait", "-n", ns, "--for=condition=suspended", "job/sus", "--timeout=30s")
    cluster_mod.wait_for("pods deleted", lambda: job_pods(cluster, ns, "sus"), lambda p: not p)
    assert get_row(cluster, ns, "sus")["STATUS"] == "Suspended"
    cluster.kubectl("patch", "job", "sus", "-n", ns, "--type=merge",
                    "-p", '{"spec":{"suspend":false}}')
    cluster.kubectl("wait", "-n", ns, "--for=condition=suspended=false", "job/sus",
                    "--timeout=30s")
    running_pods(cluster, ns, "sus", 2)


def test_ttl_deletes_finished_job_and_delete_removes_pods(cluster: cluster_mod.Cluster,
                                                          ns: str) -> None:
    cluster.kubectl("apply", "-n", ns, "-f", "-", input=job_yaml("ttl", ttlSecondsAfterFinished=0))
    cluster.kubectl("apply", "-n", ns, "-f", "-", input=job_yaml("keep"))
    finish(cluster, ns, running_pods(cluster, ns, "ttl", 1)[0], "Succeeded")
    cluster.kubectl("wait", "-n", ns, "--for=delete", "job/ttl", "--timeout=30s")
    cluster_mod.wait_for("ttl pods gone", lambda: job_pods(cluster, ns, "ttl"), lambda p: not p)
    running_pods(cluster, ns, "keep", 1)
    cluster.kubectl("delete", "job", "keep", "-n", ns)
    cluster_mod.wait_for("keep pods gone", lambda: job_pods(cluster, ns, "keep"),
                         lambda p: not p)


# -- real containers ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def real(tmp_path_factory: pytest.TempPathFactory) -> Iterator[cluster_mod.Cluster]:
    yield from agentenv.running_cluster(tmp_path_factory, REAL_NS)


def real_job_yaml(name: str, command: str, **spec: Any) -> str:
    body = {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": name},
            "spec": {**spec, "template": {"spec": {
                "restartPolicy": "Never", "terminationGracePeriodSeconds": 1, "containers": [
                    {"name": "c", "image": agentenv.IMAGE, "imagePullPolicy": "Never",
                     "command": ["sh", "-c", command]}]}}}}
    return json.dumps(body)


def test_kubectl_create_job_completes_and_logs(real: cluster_mod.Cluster) -> None:
    real.kubectl("create", "job", "hello", "-n", REAL_NS, f"--image={agentenv.IMAGE}",
                 "--", "echo", "hi")
    real.kubectl("wait", "-n", REAL_NS, "--for=condition=complete", "job/hello",
                 "--timeout=60s", timeout=70)
    assert real.kubectl("logs", "-n", REAL_NS, "job/hello").stdout == "hi\n"
    real.kubectl("delete", "job", "hello", "-n", REAL_NS)
    cluster_mod.wait_for("hello's pods gone", lambda: job_pods(real, REAL_NS, "hello"),
                         lambda p: not p)


def test_parallel_indexed_completions_finish(real: cluster_mod.Cluster) -> None:
    real.kubectl("apply", "-n", REAL_NS, "-f", "-", input=real_job_yaml(
        "three", "echo index $JOB_COMPLETION_INDEX on $(hostname)", completions=3,
        parallelism=2, completionMode="Indexed"))
    real.kubectl("wait", "-n", REAL_NS, "--for=condition=complete", "job/three",
                 "--timeout=60s", timeout=70)
    row = get_row(real, REAL_NS, "three")
    assert (row["STATUS"], row["COMPLETIONS"]) == ("Complete", "3/3")
    assert row["DURATION"].endswith("s")
    printed = set()
    for p in job_pods(real, REAL_NS, "three"):
        assert p["status"]["phase"] == "Succeeded"
        printed.add(real.kubectl("logs", "-n", REAL_NS, p["metadata"]["name"]).stdout)
    assert printed == {f"index {i} on three-{i}\n" for i in range(3)}


def test_failing_command_hits_backoff_limit(real: cluster_mod.Cluster) -> None:
    real.kubectl("apply", "-n", REAL_NS, "-f", "-", input=real_job_yaml(
        "boom", "exit 3", backoffLimit=1))
    real.kubectl("wait", "-n", REAL_NS, "--for=condition=failed", "job/boom",
                 "--timeout=60s", timeout=70)
    status = real.kubectl_json("get", "job", "boom", "-n", REAL_NS, "-o", "json")["status"]
    assert status["failed"] == 2 and "succeeded" not in status
    assert get_row(real, REAL_NS, "boom")["STATUS"] == "Failed"
