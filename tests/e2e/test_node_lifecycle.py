"""Node lifecycle through a real server with short timings: a node whose Lease stops
being renewed turns Unknown, is tainted, and its pods are evicted after their toleration;
when every node goes quiet at once nothing is evicted."""

from __future__ import annotations

import datetime
import json
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.e2e import cluster as cluster_mod
from tests.e2e.cluster import Cluster

pytestmark = pytest.mark.e2e

Obj = dict[str, Any]
UNREACHABLE = "node.kubernetes.io/unreachable"
TOLERATION_SECONDS = 3


@pytest.fixture
def fast(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """A server of our own whose node controller gives up on a node after 2 s."""
    base = tmp_path_factory.mktemp("nodelife")
    c = cluster_mod.start(str(base / "data"), str(base / "home"), "--disable", "agent",
                          "--node-monitor-grace-period", "2", "--pod-eviction-timeout",
                          str(TOLERATION_SECONDS))
    yield c
    c.stop()


def micro_now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def lease(node: str) -> Obj:
    return {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
            "metadata": {"name": node, "namespace": "kube-node-lease"},
            "spec": {"holderIdentity": node, "leaseDurationSeconds": 40,
                     "renewTime": micro_now()}}


def renew(cluster: Cluster, *nodes: str) -> None:
    """Renew the Leases of `nodes` in one request, so they all go quiet at one moment."""
    cluster.kubectl("apply", "-f", "-", input="\n".join(json.dumps(lease(n)) for n in nodes))


def post_ready(cluster: Cluster, node: str) -> None:
    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    cluster.kubectl("patch", "node", node, "--subresource=status", "--type=merge", "-p",
                    json.dumps({"status": {"conditions": [
                        {"type": "Ready", "status": "True", "reason": "KubeletReady",
                         "message": "kubelet is posting ready status",
                         "lastHeartbeatTime": now, "lastTransitionTime": now}]}}))


def register_node(cluster: Cluster, name: str) -> None:
    """What a kubelet does on start: a Ready Node and its first Lease."""
    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    cluster.kubectl("create", "-f", "-", input=json.dumps({
        "apiVersion": "v1", "kind": "Node", "metadata": {"name": name},
        "status": {"conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady",
                                   "message": "kubelet is posting ready status",
                                   "lastHeartbeatTime": now, "lastTransitionTime": now}],
                   "capacity": {"cpu": "4", "memory": "8Gi", "pods": "110"}}}))
    renew(cluster, name)


class Kubelet:
    """Keeps nodes' Leases fresh from a thread, as live kubelets would; posts Ready first."""

    def __init__(self, cluster: Cluster, *nodes: str) -> None:
        for node in nodes:
            post_ready(cluster, node)
        renew(cluster, *nodes)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, args=(cluster, nodes), daemon=True)
        self._thread.start()

    def _loop(self, cluster: Cluster, nodes: tuple[str, ...]) -> None:
        while not self._stop.wait(0.4):        # the renewal cadence, not synchronisation
            renew(cluster, *nodes)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def pod(name: str, node: str, tolerations: list[Obj], labels: Obj | None = None) -> str:
    spec: Obj = {"tolerations": tolerations, "containers": [{"name": "c", "image": "pause"}]}
    if node:
        spec["nodeName"] = node
    return json.dumps({"apiVersion": "v1", "kind": "Pod",
                       "metadata": {"name": name, "labels": labels or {}}, "spec": spec})


def tolerate(seconds: int | None) -> list[Obj]:
    out = []
    for key in (UNREACHABLE, "node.kubernetes.io/not-ready"):
        t: Obj = {"key": key, "operator": "Exists", "effect": "NoExecute"}
        if seconds is not None:
            t["tolerationSeconds"] = seconds
        out.append(t)
    return out


def set_pod_ready(cluster: Cluster, ns: str, name: str) -> None:
    cluster.kubectl("patch", "pod", name, "-n", ns, "--subresource=status", "--type=merge", "-p",
                    json.dumps({"status": {"phase": "Running", "conditions": [
                        {"type": "Ready", "status": "True"}]}}))


def wait_node_unknown(cluster: Cluster, *nodes: str) -> None:
    cluster.kubectl("wait", "--for=condition=Ready=Unknown", *(f"node/{n}" for n in nodes),
                    "--timeout=30s")


def wait_terminating(cluster: Cluster, ns: str, *pods: str, timeout: int = 30) -> None:
    """Evicted pods on a node without a kubelet keep their deletionTimestamp."""
    cluster.kubectl("wait", "-n", ns, *(f"pod/{p}" for p in pods),
                    "--for=jsonpath={.metadata.deletionGracePeriodSeconds}=30",
                    f"--timeout={timeout}s")


def watch_pods(cluster: Cluster, ns: str, done: Callable[[dict[str, Obj]], bool],
               timeout: float) -> dict[str, Obj]:
    """Watch the namespace's pods until `done(pods by name)` or the timeout; the last state."""
    from kubernetes import client, config, watch

    cfg = client.Configuration()
    config.load_kube_config(config_file=cluster.kubeconfig, client_configuration=cfg)
    with client.ApiClient(cfg) as api:
        core = client.CoreV1Api(api)
        listed = core.list_namespaced_pod(ns)
        pods = {p.metadata.name: api.sanitize_for_serialization(p) for p in listed.items}
        deadline = time.monotonic() + timeout
        while not done(pods) and time.monotonic() < deadline:
            w = watch.Watch()
            for ev in w.stream(core.list_namespaced_pod, ns,
                               resource_version=listed.metadata.resource_version,
                               timeout_seconds=max(1, int(deadline - time.monotonic()))):
                obj = api.sanitize_for_serialization(ev["object"])
                if ev["type"] == "DELETED":
                    pods.pop(obj["metadata"]["name"], None)
                else:
                    pods[obj["metadata"]["name"]] = obj
                if done(pods):
                    w.stop()
                    break
            else:
                break
        return pods


def taints(cluster: Cluster, node: str) -> list[tuple[str, str]]:
    got = cluster.kubectl_json("get", "node", node)
    return sorted((t["key"], t["effect"]) for t in (got.get("spec") or {}).get("taints") or [])


def events(cluster: Cluster, ns: str, reason: str) -> list[Obj]:
    items = cluster.kubectl_json("get", "events", "-n", ns)["items"]
    return [e for e in items if e.get("reason") == reason]


def test_quiet_node_is_tainted_and_its_pods_evicted(fast: Cluster) -> None:
    ns = "default"
    register_node(fast, "good")
    register_node(fast, "bad")
    kubelet = Kubelet(fast, "good")
    try:
        fast.kubectl("create", "-n", ns, "-f", "-", input=pod("short", "bad",
                                                                tolerate(TOLERATION_SECONDS)))
        fast.kubectl("create", "-n", ns, "-f", "-", input=pod("forever", "bad", tolerate(None)))
        fast.kubectl("create", "-n", ns, "-f", "-", input=pod("elsewhere", "good", []))
        set_pod_ready(fast, ns, "forever")

        wait_node_unknown(fast, "bad")
        ready = next(c for c in fast.kubectl_json("get", "node", "bad")["status"]["conditions"]
                     if c["type"] == "Ready")
        assert (ready["reason"], ready["message"]) == (
            "NodeStatusUnknown", "Kubelet stopped posting node status.")
        fast.kubectl("wait", "-n", ns, "pod/forever", "--for=condition=Ready=False",
                     "--timeout=30s")
        wait_terminating(fast, ns, "short")

        node = fast.kubectl_json("get", "node", "bad")
        assert (UNREACHABLE, "NoExecute") in taints(fast, "bad")
        assert (UNREACHABLE, "NoSchedule") in taints(fast, "bad")
        tainted_at = next(t["timeAdded"] for t in node["spec"]["taints"]
                          if t["effect"] == "NoExecute")
        short = fast.kubectl_json("get", "pod", "short", "-n", ns)
        deleted_at = _seconds(short["metadata"]["deletionTimestamp"]) - 30
        assert deleted_at - _seconds(tainted_at) >= TOLERATION_SECONDS - 1
        assert any(c["type"] == "DisruptionTarget" and c["status"] == "True"
                   for c in short["status"]["conditions"])
        assert "deletionTimestamp" not in fast.kubectl_json(
            "get", "pod", "forever", "-n", ns)["metadata"]
        assert "deletionTimestamp" not in fast.kubectl_json(
            "get", "pod", "elsewhere", "-n", ns)["metadata"]
        assert [c["status"] for c in fast.kubectl_json("get", "node", "good")["status"][
            "conditions"] if c["type"] == "Ready"] == ["True"]
        assert taints(fast, "good") == []
        assert any(e["message"] == f"Marking for deletion Pod {ns}/short"
                   for e in events(fast, ns, "TaintManagerEviction"))
        assert any(e["involvedObject"]["name"] == "bad"
                   for e in events(fast, "default", "NodeNotReady"))
    finally:
        kubelet.stop()


def _seconds(stamp: str) -> float:
    return datetime.datetime.fromisoformat(stamp).timestamp()


RS = {
    "apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {"name": "web"},
    "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}},
             "template": {"metadata": {"labels": {"app": "web"}},
                          "spec": {"tolerations": tolerate(1), "nodeSelector": {"pool": "web"},
                                   "containers": [{"name": "c", "image": "pause"}]}}}}


def bind(cluster: Cluster, ns: str, pod_name: str, node: str) -> None:
    """POST pods/<name>/binding, unless a scheduler already bound the pod there."""
    got = cluster.kubectl_json("get", "pod", pod_name, "-n", ns)
    if got["spec"].get("nodeName"):
        return
    from kubernetes import client, config

    cfg = client.Configuration()
    config.load_kube_config(config_file=cluster.kubeconfig, client_configuration=cfg)
    with client.ApiClient(cfg) as api:
        body = client.V1Binding(metadata=client.V1ObjectMeta(name=pod_name),
                                target=client.V1ObjectReference(api_version="v1", kind="Node",
                                                                name=node))
        client.CoreV1Api(api).create_namespaced_pod_binding(pod_name, ns, body,
                                                            _preload_content=False)


def test_evicted_replicaset_pods_are_replaced(fast: Cluster) -> None:
    ns = "default"
    register_node(fast, "good")
    register_node(fast, "bad")
    fast.kubectl("label", "node", "bad", "pool=web")
    kubelet = Kubelet(fast, "good")
    try:
        fast.kubectl("apply", "-n", ns, "-f", "-", input=json.dumps(RS))
        fast.kubectl("wait", "-n", ns, "rs/web", "--for=jsonpath={.status.replicas}=2",
                     "--timeout=30s")
        first = [p["metadata"]["name"]
                 for p in fast.kubectl_json("get", "pods", "-n", ns, "-l", "app=web")["items"]]
        for name in first:   # what the scheduler does: bind them to the node
            bind(fast, ns, name, "bad")
        fast.kubectl("label", "node", "good", "pool=web")   # room for the replacements
        bound = [p for p in fast.kubectl_json("get", "pods", "-n", ns, "-l", "app=web")["items"]
                 if p["spec"].get("nodeName") == "bad"]
        assert len(bound) == 2
        wait_node_unknown(fast, "bad")
        wait_terminating(fast, ns, *(p["metadata"]["name"] for p in bound))

        def replaced(pods: dict[str, Obj]) -> bool:
            live = [p for n, p in pods.items() if n not in first
                    and not p["metadata"].get("deletionTimestamp")]
            return len(live) >= len(bound)

        pods = watch_pods(fast, ns, replaced, timeout=30)
        assert replaced(pods)
        fresh = [p for n, p in pods.items() if n not in first]
        assert all(p["spec"].get("nodeName") != "bad" for p in fresh)
    finally:
        kubelet.stop()


def test_no_eviction_when_every_node_is_unhealthy(fast: Cluster) -> None:
    ns = "default"
    register_node(fast, "a")
    register_node(fast, "b")
    both = Kubelet(fast, "a", "b")
    for name, node in (("on-a", "a"), ("on-b", "b")):
        fast.kubectl("create", "-n", ns, "-f", "-", input=pod(name, node, tolerate(1)))
    both.stop()                 # both nodes go quiet at the same moment
    wait_node_unknown(fast, "a", "b")
    for node in ("a", "b"):   # the controller has seen both go: NoSchedule is not rate-limited
        fast.kubectl("wait", f"node/{node}", "--timeout=30s",
                     "--for=jsonpath={.spec.taints[0].key}=" + UNREACHABLE)

    def any_evicted(pods: dict[str, Obj]) -> bool:
        return any(p["metadata"].get("deletionTimestamp") for p in pods.values())

    # Watch for well past the pods' 1 s toleration: nothing may be deleted.
    pods = watch_pods(fast, ns, any_evicted, timeout=6)
    assert sorted(pods) == ["on-a", "on-b"] and not any_evicted(pods)
    assert all((UNREACHABLE, "NoExecute") not in taints(fast, n) for n in ("a", "b"))

    # Once one node is back the cluster leaves full disruption and the other is evicted.
    kubelet = Kubelet(fast, "a")
    try:
        wait_terminating(fast, ns, "on-b")
        assert "deletionTimestamp" not in fast.kubectl_json(
            "get", "pod", "on-a", "-n", ns)["metadata"]
    finally:
        kubelet.stop()


def test_pods_get_default_tolerations_of_the_eviction_timeout(fast: Cluster) -> None:
    fast.kubectl("create", "-n", "default", "-f", "-", input=pod("plain", "", []))
    fast.kubectl("create", "-n", "default", "-f", "-", input=pod("own", "", tolerate(60)[:1]))
    plain = fast.kubectl_json("get", "pod", "plain", "-n", "default")["spec"]["tolerations"]
    assert sorted((t["key"], t["effect"], t["tolerationSeconds"]) for t in plain) == [
        ("node.kubernetes.io/not-ready", "NoExecute", TOLERATION_SECONDS),
        (UNREACHABLE, "NoExecute", TOLERATION_SECONDS)]
    own = fast.kubectl_json("get", "pod", "own", "-n", "default")["spec"]["tolerations"]
    assert sorted((t["key"], t["tolerationSeconds"]) for t in own) == [
        ("node.kubernetes.io/not-ready", TOLERATION_SECONDS), (UNREACHABLE, 60)]
