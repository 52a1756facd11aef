"""The node agent mounts persistentVolumeClaim volumes and reclaims provisioned volumes.

A real server with its agent (real runc containers) but no controllers, so no binder runs:
each test binds its claims by hand, writing what the binder would (PV claimRef and phase,
claim volumeName and phase). Pods name the node themselves, so the scheduler's volume
checks play no part either. Needs root, runc, busybox, ip and unshare; skipped otherwise.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.e2e import agentenv
from tests.e2e import cluster as cluster_mod

NS = "kubelite-pvc-e2e"
ROOT_ANNOTATION = "kubelite.io/local-path-root"
PROVISIONED_BY = "pv.kubernetes.io/provisioned-by"


@pytest.fixture(scope="module")
def c(tmp_path_factory: pytest.TempPathFactory) -> Iterator[cluster_mod.Cluster]:
    env = agentenv.running_cluster(tmp_path_factory, NS, "--disable", "controllers")
    cluster = next(env)
    try:
        # No node IPAM runs: give the node its pod CIDR, so the agent need not wait for one.
        cluster.kubectl("patch", "node", node_name(cluster), "--type=merge", "-p",
                        '{"spec": {"podCIDR": "10.42.0.0/24", "podCIDRs": ["10.42.0.0/24"]}}')
        yield cluster
        cluster.kubectl("delete", "pods", "--all", "-n", NS, "--timeout=90s", timeout=100,
                        check=False)
        # No controller manager here to lift the claims' and volumes' in-use protection.
        for kind, ns in (("pvc", ["-n", NS]), ("pv", [])):
            for name in cluster.kubectl("get", kind, *ns, "-o", "name").stdout.split():
                cluster.kubectl("patch", name, *ns, "--type=merge", "-p",
                                '{"metadata": {"finalizers": null}}', check=False)
        cluster.kubectl("delete", "pvc", "--all", "-n", NS, "--timeout=30s", timeout=40,
                        check=False)
        cluster.kubectl("delete", "pv", "--all", "--timeout=30s", timeout=40, check=False)
    finally:
        for _ in env:   # the shared teardown: pods, sandboxes, server, leftovers
            pass


def node_name(c: cluster_mod.Cluster) -> str:
    return str(c.kubectl("get", "nodes", "-o", "jsonpath={.items[0].metadata.name}").stdout)


def until(what: str, check: Callable[[], Any], timeout: float = 60) -> Any:
    """Poll `check` (each poll is a kubectl round trip) until it returns something true."""
    deadline = time.monotonic() + timeout
    while not (got := check()):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
    return got


def apply(c: cluster_mod.Cluster, obj: dict[str, Any]) -> None:
    c.kubectl("apply", "-f", "-", input=json.dumps(obj))


def patch(c: cluster_mod.Cluster, kind: str, name: str, body: dict[str, Any], *,
          status: bool = False, namespaced: bool = True) -> None:
    args = ["patch", kind, name, "--type=merge", "-p", json.dumps(body)]
    if namespaced:
        args += ["-n", NS]
    if status:
        args.append("--subresource=status")
    c.kubectl(*args)


def host_path_pv(name: str, path: str, **extra: Any) -> dict[str, Any]:
    spec = {"capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteOnce"],
            "storageClassName": "manual", "persistentVolumeReclaimPolicy": "Retain",
            "hostPath": {"path": path, "type": "DirectoryOrCreate"}}
    meta = extra.pop("metadata", {})
    return {"apiVersion": "v1", "kind": "PersistentVolume",
            "metadata": {"name": name, **meta}, "spec": {**spec, **extra}}


def claim(name: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
            "metadata": {"name": name, "namespace": NS},
            "spec": {"storageClassName": "manual", "accessModes": ["ReadWriteOnce"],
                     "resources": {"requests": {"storage": "1Gi"}}}}


def bind(c: cluster_mod.Cluster, pv: str, pvc: str) -> None:
    """What the binder does: the PV points at the claim, the claim at the PV, both Bound."""
    uid = c.kubectl("get", "pvc", pvc, "-n", NS, "-o", "jsonpath={.metadata.uid}").stdout
    patch(c, "pv", pv, {"spec": {"claimRef": {"kind": "PersistentVolumeClaim",
                                              "apiVersion": "v1", "namespace": NS,
                                              "name": pvc, "uid": uid}}}, namespaced=False)
    patch(c, "pv", pv, {"status": {"phase": "Bound"}}, status=True, namespaced=False)
    patch(c, "pvc", pvc, {"spec": {"volumeName": pv}})
    patch(c, "pvc", pvc, {"status": {"phase": "Bound", "accessModes": ["ReadWriteOnce"],
                                     "capacity": {"storage": "1Gi"}}}, status=True)


def bound_claim(c: cluster_mod.Cluster, name: str, path: str) -> None:
    apply(c, host_path_pv(f"pv-{name}", path))
    apply(c, claim(name))
    bind(c, f"pv-{name}", name)


def run_pod(c: cluster_mod.Cluster, name: str, claim_name: str, command: str, *,
            read_only: bool = False) -> None:
    """A run-once busybox pod on this node with the claim mounted at /data."""
    ro = ", readOnly: true" if read_only else ""
    extra = (f"  nodeName: {node_name(c)}\n"
             f"  volumes: [{{name: data, persistentVolumeClaim: {{claimName: {claim_name}{ro}}}}}]\n")
    mounts = "    volumeMounts: [{name: data, mountPath: /data}]\n"
    c.kubectl("apply", "-f", "-", input=agentenv.pod_yaml(
        name, NS, command, restart="Never", extra=extra, container_extra=mounts, grace=1))


def wait_phase(c: cluster_mod.Cluster, pod: str, phase: str) -> None:
    c.kubectl("wait", "-n", NS, f"pod/{pod}", f"--for=jsonpath={{.status.phase}}={phase}",
              "--timeout=90s", timeout=100)


def logs(c: cluster_mod.Cluster, pod: str) -> str:
    return str(c.kubectl("logs", "-n", NS, pod).stdout)


def events_of(c: cluster_mod.Cluster, kind: str, name: str, reason: str,
              namespace: str = NS) -> list[str]:
    out = c.kubectl_json("get", "events", "-n", namespace, "--field-selector",
                         f"involvedObject.kind={kind},involvedObject.name={name},reason={reason}")
    return [e["message"] for e in out["items"]]


def test_node_advertises_its_local_path_root(c: cluster_mod.Cluster) -> None:
    node = c.kubectl_json("get", "node", node_name(c))
    root = node["metadata"]["annotations"][ROOT_ANNOTATION]
    assert root == os.path.join(c.data_dir, "agent", "storage")
    assert os.path.isdir(root)


def test_claim_data_outlives_the_pod(c: cluster_mod.Cluster, tmp_path) -> None:  # type: ignore[no-untyped-def]
    host = str(tmp_path / "keep")
    bound_claim(c, "keep", host)
    run_pod(c, "writer", "keep", "echo persisted > /data/msg")
    wait_phase(c, "writer", "Succeeded")
    c.kubectl("delete", "pod", "writer", "-n", NS, "--timeout=60s", timeout=70)
    run_pod(c, "reader", "keep", "cat /data/msg")
    wait_phase(c, "reader", "Succeeded")
    assert logs(c, "reader").strip() == "persisted"
    with open(os.path.join(host, "msg")) as f:
        assert f.read() == "persisted\n"


def test_read_only_claim_cannot_be_written(c: cluster_mod.Cluster, tmp_path) -> None:  # type: ignore[no-untyped-def]
    host = tmp_path / "ro"
    bound_claim(c, "ro", str(host))
    run_pod(c, "ro-writer", "ro", "ls /data && touch /data/f", read_only=True)
    wait_phase(c, "ro-writer", "Failed")
    assert "Read-only file system" in logs(c, "ro-writer")
    assert host.is_dir() and not (host / "f").exists()


def test_pod_waits_for_its_claim_to_be_bound(c: cluster_mod.Cluster, tmp_path) -> None:  # type: ignore[no-untyped-def]
    apply(c, host_path_pv("pv-later", str(tmp_path / "later")))
    apply(c, claim("later"))
    run_pod(c, "waiter", "later", "echo bound > /data/msg")
    messages = until("a FailedMount event", lambda: events_of(c, "Pod", "waiter", "FailedMount"))
    assert f"error processing PVC {NS}/later: PVC is not bound" in messages[0]
    row = c.kubectl("get", "pod", "waiter", "-n", NS, "--no-headers").stdout.split()
    assert row[2] == "ContainerCreating"
    bind(c, "pv-later", "later")
    wait_phase(c, "waiter", "Succeeded")
    assert (tmp_path / "later" / "msg").read_text() == "bound\n"


def released_provisioned_pv(c: cluster_mod.Cluster, name: str, path: str) -> None:
    """A local-path PV on this node whose claim is gone, as the binder leaves it."""
    affinity = {"required": {"nodeSelectorTerms": [{"matchExpressions": [
        {"key": "kubernetes.io/hostname", "operator": "In", "values": [node_name(c)]}]}]}}
    apply(c, host_path_pv(name, path, metadata={"annotations": {
        PROVISIONED_BY: "kubelite.io/local-path"}}, storageClassName="local-path",
        persistentVolumeReclaimPolicy="Delete", nodeAffinity=affinity,
        claimRef={"kind": "PersistentVolumeClaim", "apiVersion": "v1", "namespace": NS,
                  "name": f"gone-{name}", "uid": "00000000-0000-0000-0000-000000000000"}))
    patch(c, "pv", name, {"status": {"phase": "Released"}}, status=True, namespaced=False)


def test_released_provisioned_volume_is_removed(c: cluster_mod.Cluster) -> None:
    root = os.path.join(c.data_dir, "agent", "storage")
    inside = os.path.join(root, f"pvc-1_{NS}_gone")
    os.makedirs(os.path.join(inside, "sub"))
    with open(os.path.join(inside, "sub", "f"), "w") as f:
        f.write("old data")
    released_provisioned_pv(c, "pvc-1", inside)
    # The agent deletes the volume once its data is gone; what keeps the object is only
    # its in-use protection, which the controller manager (switched off here) removes.
    c.kubectl("wait", "--for=jsonpath={.metadata.deletionTimestamp}", "pv/pvc-1",
              "--timeout=60s", timeout=70)
    assert c.kubectl_json("get", "pv", "pvc-1")["metadata"]["finalizers"] == [
        "kubernetes.io/pv-protection"]
    assert not os.path.exists(inside)
    assert os.path.isdir(root)


def test_released_volume_outside_the_root_keeps_its_data(c: cluster_mod.Cluster, tmp_path) -> None:  # type: ignore[no-untyped-def]
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "f").write_text("precious")
    released_provisioned_pv(c, "pvc-2", str(outside))
    messages = until("a VolumeFailedDelete event",
                     lambda: events_of(c, "PersistentVolume", "pvc-2", "VolumeFailedDelete",
                                       namespace="default"))
    assert str(outside) in messages[0]
    assert (outside / "f").read_text() == "precious"
    assert c.kubectl_json("get", "pv", "pvc-2")["status"]["phase"] == "Released"
