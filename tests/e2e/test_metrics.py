"""kubectl top and the metrics.k8s.io API against pods the bundled agent really runs: the
API server reads the agent's /stats/summary (cgroup and /proc figures) on demand.

Needs what tests/e2e/agentenv.py needs; skipped otherwise.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.e2e import agentenv, pyclient
from tests.e2e import cluster as cluster_mod

NS = "kubelite-metrics-e2e"
IMAGE = agentenv.IMAGE
TWO = f"""apiVersion: v1
kind: Pod
metadata:
  name: two
  namespace: {NS}
  labels: {{app: two}}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - {{name: first, image: {IMAGE}, imagePullPolicy: Never, command: [sleep, "3600"]}}
  - {{name: second, image: {IMAGE}, imagePullPolicy: Never, command: [sleep, "3600"]}}
"""
PENDING = f"""apiVersion: v1
kind: Pod
metadata: {{name: pending, namespace: {NS}}}
spec:
  nodeSelector: {{kubelite.test/nowhere: "true"}}
  containers: [{{name: main, image: {IMAGE}}}]
"""


@pytest.fixture(scope="module")
def c(tmp_path_factory: pytest.TempPathFactory) -> Iterator[cluster_mod.Cluster]:
    yield from agentenv.running_cluster(tmp_path_factory, NS)


@pytest.fixture(scope="module")
def pods(c: cluster_mod.Cluster) -> None:
    """A busy loop, an idle pod, a two-container pod, and one that never schedules."""
    for name, command in (("busy", "while :; do :; done"), ("idle", "exec sleep 3600")):
        c.kubectl("apply", "-f", "-", input=agentenv.pod_yaml(name, NS, command, grace=1)
                  .replace(f"name: {name},", f"name: {name}, labels: {{app: {name}}},"))
    c.kubectl("apply", "-f", "-", input=TWO + "---\n" + PENDING)
    for name in ("busy", "idle", "two"):
        c.kubectl("wait", "-n", NS, f"pod/{name}", "--for=condition=Ready", "--timeout=60s",
                  timeout=70)


def poll(what: str, fn: Callable[[], Any], timeout: float = 60) -> Any:
    """fn() until it returns something truthy; fail with `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = fn()
        if last:
            return last
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}; last: {last!r}")


def top(c: cluster_mod.Cluster, *args: str) -> str:
    """`kubectl top` output once it succeeds (metrics need a sample window first)."""
    def once() -> str:
        res = c.kubectl("top", *args, check=False)
        return res.stdout if res.returncode == 0 else ""
    return str(poll(f"kubectl top {' '.join(args)}", once))


def rows(output: str) -> list[list[str]]:
    return [line.split() for line in output.strip().splitlines()[1:]]


def test_top_node(c: cluster_mod.Cluster) -> None:
    out = top(c, "node")
    assert out.split("\n")[0].split() == ["NAME", "CPU(cores)", "CPU(%)", "MEMORY(bytes)",
                                          "MEMORY(%)"]
    name = c.kubectl("get", "nodes", "-o", "jsonpath={.items[0].metadata.name}").stdout
    [row] = rows(out)
    assert row[0] == name
    assert re.fullmatch(r"\d+m", row[1]) and re.fullmatch(r"\d+Mi", row[3])
    assert int(row[3][:-2]) > 0


def busy_millicores(c: cluster_mod.Cluster) -> int:
    res = c.kubectl("top", "pod", "busy", "-n", NS, "--no-headers", check=False)
    return int(res.stdout.split()[1][:-1]) if res.returncode == 0 else 0


def test_busy_loop_shows_cpu(c: cluster_mod.Cluster, pods: None) -> None:
    millicores = poll("busy pod CPU above 100m", lambda: max(busy_millicores(c) - 100, 0))
    assert millicores > 0


def test_top_pod_lists_running_pods_of_the_namespace(c: cluster_mod.Cluster, pods: None) -> None:
    out = poll("all three pods", lambda: (o := top(c, "pod", "-n", NS)).count("\n") == 4 and o)
    assert out.split("\n")[0].split() == ["NAME", "CPU(cores)", "MEMORY(bytes)"]
    assert [r[0] for r in rows(out)] == ["busy", "idle", "two"]
    for row in rows(out):
        assert re.fullmatch(r"\d+m", row[1]) and re.fullmatch(r"\d+Mi", row[2])


def test_top_pod_containers(c: cluster_mod.Cluster, pods: None) -> None:
    out = top(c, "pod", "two", "-n", NS, "--containers")
    assert out.split("\n")[0].split() == ["POD", "NAME", "CPU(cores)", "MEMORY(bytes)"]
    assert [r[:2] for r in rows(out)] == [["two", "first"], ["two", "second"]]


def test_top_pod_label_selector(c: cluster_mod.Cluster, pods: None) -> None:
    assert [r[0] for r in rows(top(c, "pod", "-n", NS, "-l", "app=idle"))] == ["idle"]


def test_top_pod_all_namespaces(c: cluster_mod.Cluster, pods: None) -> None:
    out = top(c, "pod", "-A")
    assert out.split("\n")[0].split()[:2] == ["NAMESPACE", "NAME"]
    assert [NS, "idle"] in [r[:2] for r in rows(out)]


def test_pod_without_metrics_is_not_found(c: cluster_mod.Cluster, pods: None) -> None:
    res = c.kubectl("top", "pod", "pending", "-n", NS, check=False)
    assert res.returncode != 0
    assert f'podmetrics.metrics.k8s.io "{NS}/pending" not found' in res.stderr
    res = c.kubectl("top", "pod", "nosuch", "-n", NS, check=False)
    assert 'pods "nosuch" not found' in res.stderr


def test_get_podmetrics_table(c: cluster_mod.Cluster, pods: None) -> None:
    out = poll("podmetrics of idle", lambda: c.kubectl("get", "podmetrics", "idle", "-n", NS,
                                                       check=False).stdout)
    assert out.split("\n")[0].split() == ["NAME", "CPU", "MEMORY", "WINDOW"]
    assert out.split("\n")[1].split()[0] == "idle"


def test_python_client_reads_metrics(c: cluster_mod.Cluster, pods: None) -> None:
    from kubernetes import client
    from kubernetes.client.rest import ApiException

    with pyclient.api_client(c.kubeconfig) as api:
        objs = client.CustomObjectsApi(api)
        got = poll("pod metrics of two", lambda: objs.list_namespaced_custom_object(
            "metrics.k8s.io", "v1beta1", NS, "pods", label_selector="app=two")["items"])
        assert [m["metadata"]["name"] for m in got] == ["two"]
        assert [ct["name"] for ct in got[0]["containers"]] == ["first", "second"]
        assert set(got[0]["containers"][0]["usage"]) == {"cpu", "memory"}
        assert got[0]["metadata"]["labels"] == {"app": "two"}
        node = client.CoreV1Api(api).list_node().items[0].metadata.name
        nm = objs.get_cluster_custom_object("metrics.k8s.io", "v1beta1", "nodes", node)
        assert (nm["kind"], nm["metadata"]["name"], nm["window"]) == ("NodeMetrics", node, "10s")
        with pytest.raises(ApiException) as err:
            objs.list_namespaced_custom_object("metrics.k8s.io", "v1beta1", NS, "pods",
                                               watch=True)
        assert err.value.status == 405
