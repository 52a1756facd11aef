"""The scheduler against a real server with three hollow nodes, driven by the real kubectl.

One server for the module (`--sim-nodes 3`); tests that label or taint a node undo it.
"""

from __future__ import annotations

import collections
import itertools
import os
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e import cluster as cluster_mod
from tests.e2e import simenv

NODES = ("hollow-0", "hollow-1", "hollow-2")
_names = itertools.count()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[cluster_mod.Cluster]:
    yield from simenv.running_cluster(tmp_path_factory, len(NODES))


@pytest.fixture
def ns(cluster: cluster_mod.Cluster) -> str:
    name = f"sched{next(_names)}-{os.getpid() % 10000}"
    cluster.kubectl("create", "namespace", name)
    cluster.kubectl("wait", "--for=create", "-n", name, "serviceaccount/default", "--timeout=30s")
    return name


def pod_yaml(name: str, *, cpu: str = "100m", node_selector: dict[str, str] | None = None) -> str:
    selector = "".join(f"\n    {k}: {v}" for k, v in (node_selector or {}).items())
    return f"""apiVersion: v1
kind: Pod
metadata:
  name: {name}
spec:{f'''
  nodeSelector:{selector}''' if selector else ''}
  containers:
  - name: c
    image: nginx
    resources:
      requests: {{cpu: "{cpu}", memory: 64Mi}}
"""


def replicaset_yaml(name: str, replicas: int) -> str:
    return f"""apiVersion: apps/v1
kind: ReplicaSet
metadata:
  name: {name}
spec:
  replicas: {replicas}
  selector:
    matchLabels: {{app: {name}}}
  template:
    metadata:
      labels: {{app: {name}}}
    spec:
      containers:
      - name: c
        image: nginx
"""


def node_column(cluster: cluster_mod.Cluster, ns: str, selector: str) -> list[str]:
    """The NODE column of `kubectl get pods -o wide`, as a user reads it."""
    out = cluster.kubectl("get", "pods", "-n", ns, "-l", selector, "-o", "wide").stdout
    lines = out.splitlines()
    col = lines[0].split().index("NODE")
    return [line.split()[col] for line in lines[1:]]


def wait_failed_scheduling(cluster: cluster_mod.Cluster, ns: str, pod: str) -> str:
    """Watch (with a timeout) for the pod's FailedScheduling event; return its message."""
    from kubernetes import client, config, watch

    cfg = client.Configuration()
    config.load_kube_config(config_file=cluster.kubeconfig, client_configuration=cfg)
    with client.ApiClient(cfg) as api:
        events = client.CoreV1Api(api)
        stream = watch.Watch().stream(
            events.list_namespaced_event, ns, timeout_seconds=30,
            field_selector=f"involvedObject.name={pod},reason=FailedScheduling")
        for event in stream:
            obj: Any = event["object"]
            return str(obj.message)
    raise AssertionError(f"no FailedScheduling event for {ns}/{pod} within 30s")


def test_replicaset_pods_spread_over_the_nodes_and_run(cluster: cluster_mod.Cluster,
                                                        ns: str) -> None:
    cluster.kubectl("apply", "-n", ns, "-f", "-", input=replicaset_yaml("web", 6))
    cluster.kubectl("wait", "-n", ns, "--for=jsonpath={.status.readyReplicas}=6", "rs/web",
                    "--timeout=60s")
    cluster.kubectl("wait", "-n", ns, "--for=condition=Ready", "pod", "-l", "app=web",
                    "--timeout=60s")
    nodes = node_column(cluster, ns, "app=web")
    assert len(nodes) == 6
    assert set(nodes) == set(NODES), nodes
    assert max(collections.Counter(nodes).values()) <= 3


def test_deployment_pods_are_scheduled_and_run(cluster: cluster_mod.Cluster, ns: str) -> None:
    pytest.importorskip("kubelite.controllers.deployment", reason="no Deployment controller yet")
    cluster.kubectl("create", "deployment", "web", "--image=nginx", "--replicas=6", "-n", ns)
    cluster.kubectl("wait", "-n", ns, "--for=jsonpath={.status.readyReplicas}=6",
                    "deployment/web", "--timeout=60s")
    cluster.kubectl("wait", "-n", ns, "--for=condition=Ready", "pod", "-l", "app=web",
                    "--timeout=60s")
    assert set(node_column(cluster, ns, "app=web")) == set(NODES)


def test_pod_too_big_for_every_node_stays_pending_and_says_why(cluster: cluster_mod.Cluster,
                                                               ns: str) -> None:
    cluster.kubectl("apply", "-n", ns, "-f", "-", input=pod_yaml("big", cpu="100"))
    cluster.kubectl("wait", "-n", ns, "--for=condition=PodScheduled=False", "pod/big",
                    "--timeout=30s")
    expected = ("0/3 nodes are available: 3 Insufficient cpu. preemption: 0/3 nodes are "
                "available: 3 No preemption victims found for incoming pod.")
    assert wait_failed_scheduling(cluster, ns, "big") == expected
    pod = cluster.kubectl_json("get", "pod", "big", "-n", ns)
    assert pod["status"]["phase"] == "Pending" and not pod["spec"].get("nodeName")
    [condition] = [c for c in pod["status"]["conditions"] if c["type"] == "PodScheduled"]
    assert (condition["reason"], condition["message"]) == ("Unschedulable", expected)
    described = cluster.kubectl("describe", "pod", "big", "-n", ns).stdout
    assert "FailedScheduling" in described and "Insufficient cpu" in described


def test_node_selector_pod_lands_on_the_labelled_node(cluster: cluster_mod.Cluster,
                                                      ns: str) -> None:
    cluster.kubectl("label", "node", "hollow-1", f"disk-{ns}=ssd")
    try:
        cluster.kubectl("apply", "-n", ns, "-f", "-",
                        input=pod_yaml("picky", node_selector={f"disk-{ns}": "ssd"}))
        cluster.kubectl("wait", "-n", ns, "--for=condition=Ready", "pod/picky", "--timeout=30s")
        assert cluster.kubectl_json("get", "pod", "picky", "-n", ns)["spec"]["nodeName"] == \
            "hollow-1"
    finally:
        cluster.kubectl("label", "node", "hollow-1", f"disk-{ns}-")


def test_untolerated_taint_keeps_pod_off_until_removed(cluster: cluster_mod.Cluster,
                                                       ns: str) -> None:
    cluster.kubectl("taint", "node", "hollow-2", f"dedicated-{ns}=x:NoSchedule")
    try:
        pinned = pod_yaml("pinned", node_selector={"kubernetes.io/hostname": "hollow-2"})
        cluster.kubectl("apply", "-n", ns, "-f", "-", input=pinned)
        cluster.kubectl("wait", "-n", ns, "--for=condition=PodScheduled=False", "pod/pinned",
                        "--timeout=30s")
        message = wait_failed_scheduling(cluster, ns, "pinned")
        assert message.startswith(
            f"0/3 nodes are available: 1 node(s) had untolerated taint {{dedicated-{ns}: x}}, "
            "2 node(s) didn't match Pod's node affinity/selector."), message
    finally:
        cluster.kubectl("taint", "node", "hollow-2", f"dedicated-{ns}-")
    cluster.kubectl("wait", "-n", ns, "--for=condition=Ready", "pod/pinned", "--timeout=30s")
    assert cluster.kubectl_json("get", "pod", "pinned", "-n", ns)["spec"]["nodeName"] == "hollow-2"


def test_pod_avoids_tainted_nodes(cluster: cluster_mod.Cluster, ns: str) -> None:
    tainted = ("hollow-0", "hollow-2")
    for node in tainted:
        cluster.kubectl("taint", "node", node, f"avoid-{ns}=yes:NoSchedule")
    try:
        cluster.kubectl("apply", "-n", ns, "-f", "-", input=replicaset_yaml("free", 3))
        cluster.kubectl("wait", "-n", ns, "--for=jsonpath={.status.readyReplicas}=3", "rs/free",
                        "--timeout=30s")
        assert node_column(cluster, ns, "app=free") == ["hollow-1"] * 3
    finally:
        for node in tainted:
            cluster.kubectl("taint", "node", node, f"avoid-{ns}-")


def test_standalone_components_run_a_replicaset(tmp_path_factory: pytest.TempPathFactory) -> None:
    """`kubelite controller-manager`, `kubelite scheduler` and `kubelite sim` beside a bare
    API server do what the bundled parts do."""
    base = tmp_path_factory.mktemp("kubelite-parts")
    c = cluster_mod.start(str(base / "data"), str(base / "home"), "--disable",
                          "agent,scheduler,controllers")
    parts = []
    try:
        for args in (("controller-manager",), ("scheduler",), ("sim", "--nodes", "2",
                                                               "--prefix", "part")):
            with open(base / f"{args[0]}.log", "wb") as log:
                parts.append(subprocess.Popen(
                    [sys.executable, "-m", "kubelite.cli", *args, "--kubeconfig", c.kubeconfig],
                    stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL))
        c.kubectl("wait", "--for=create", "serviceaccount/default", "--timeout=30s")
        c.kubectl("apply", "-f", "-", input=replicaset_yaml("parts", 4))
        c.kubectl("wait", "--for=jsonpath={.status.readyReplicas}=4", "rs/parts",
                  "--timeout=60s")
        assert set(node_column(c, "default", "app=parts")) == {"part-0", "part-1"}
    finally:
        for p in parts:
            p.terminate()
            p.wait(15)
        c.stop()
