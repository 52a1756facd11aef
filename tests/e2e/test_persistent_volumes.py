"""A claim's whole life on a real node: `kubectl apply` a claim of the default class and a
pod that writes to it; the claim gets a local volume on the pod's node; a second pod reads
the data back after the first is gone; deleting the claim removes the volume and its
data. Everything runs as in `make up`: server, scheduler, controllers and agent (real runc
containers). Needs root, runc, busybox, ip and unshare; skipped otherwise."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.e2e import agentenv
from tests.e2e import cluster as cluster_mod

NS = "kubelite-pv-e2e"
CLAIM = f"""apiVersion: v1
kind: PersistentVolumeClaim
metadata: {{name: data, namespace: {NS}}}
spec:
  accessModes: [ReadWriteOnce]
  resources: {{requests: {{storage: 64Mi}}}}
"""
VOLUME = """  volumes: [{name: data, persistentVolumeClaim: {claimName: data}}]
"""
MOUNT = """    volumeMounts: [{name: data, mountPath: /data}]
"""


@pytest.fixture(scope="module")
def c(tmp_path_factory: pytest.TempPathFactory) -> Iterator[cluster_mod.Cluster]:
    yield from agentenv.running_cluster(tmp_path_factory, NS)


def pod(name: str, command: str) -> str:
    return agentenv.pod_yaml(name, NS, command, restart="Never", grace=1, extra=VOLUME,
                             container_extra=MOUNT)


def phase(c: cluster_mod.Cluster, kind: str, name: str) -> str:
    res = c.kubectl("get", kind, name, "-n", NS, "-o", "jsonpath={.status.phase}", check=False)
    return res.stdout if res.returncode == 0 else "<gone>"


def test_data_outlives_its_pod_and_goes_with_its_claim(c: cluster_mod.Cluster) -> None:
    c.kubectl("apply", "-f", "-", input=CLAIM)
    c.kubectl("apply", "-f", "-", input=pod("writer", "echo kept > /data/greeting"))
    cluster_mod.wait_for("the writer to finish", lambda: phase(c, "pod", "writer"),
                         lambda p: p in ("Succeeded", "Failed"), timeout=90)
    assert phase(c, "pod", "writer") == "Succeeded", c.kubectl(
        "describe", "pod", "writer", "-n", NS).stdout

    claim = c.kubectl_json("get", "pvc", "data", "-n", NS)
    assert (claim["status"]["phase"], claim["spec"]["storageClassName"]) == ("Bound", "local-path")
    volume = claim["spec"]["volumeName"]
    pv = c.kubectl_json("get", "pv", volume)
    node = c.kubectl_json("get", "nodes")["items"][0]
    root = node["metadata"]["annotations"]["kubelite.io/local-path-root"]
    path = pv["spec"]["hostPath"]["path"]
    assert os.path.dirname(path) == root
    with open(os.path.join(path, "greeting")) as f:
        assert f.read() == "kept\n"     # on the node's disk, where the volume says

    c.kubectl("delete", "pod", "writer", "-n", NS)
    c.kubectl("apply", "-f", "-", input=pod("reader", "cat /data/greeting"))
    cluster_mod.wait_for("the reader to finish", lambda: phase(c, "pod", "reader"),
                         lambda p: p in ("Succeeded", "Failed"), timeout=90)
    assert c.kubectl("logs", "reader", "-n", NS).stdout == "kept\n"

    c.kubectl("delete", "pod", "reader", "-n", NS)
    c.kubectl("delete", "pvc", "data", "-n", NS)
    cluster_mod.wait_for("the volume to be reclaimed", lambda: c.kubectl(
        "get", "pv", volume, check=False).returncode, lambda code: code == 1, timeout=60)
    assert not os.path.exists(path)


def test_an_ephemeral_volume_lives_and_dies_with_its_pod(c: cluster_mod.Cluster) -> None:
    scratch = ("  volumes: [{name: data, ephemeral: {volumeClaimTemplate: {spec: "
               "{accessModes: [ReadWriteOnce], resources: {requests: {storage: 16Mi}}}}}}]\n")
    c.kubectl("apply", "-f", "-", input=agentenv.pod_yaml(
        "scratcher", NS, "echo scratch > /data/f && cat /data/f", restart="Never", grace=1,
        extra=scratch, container_extra=MOUNT))
    cluster_mod.wait_for("the pod to finish", lambda: phase(c, "pod", "scratcher"),
                         lambda p: p in ("Succeeded", "Failed"), timeout=90)
    assert c.kubectl("logs", "scratcher", "-n", NS).stdout == "scratch\n"
    claim = c.kubectl_json("get", "pvc", "scratcher-data", "-n", NS)
    assert claim["metadata"]["ownerReferences"][0]["name"] == "scratcher"
    path = c.kubectl_json("get", "pv", claim["spec"]["volumeName"])["spec"]["hostPath"]["path"]
    assert os.path.isfile(os.path.join(path, "f"))

    c.kubectl("delete", "pod", "scratcher", "-n", NS)
    cluster_mod.wait_for("the claim, its volume and its data to go with the pod",
                         lambda: (phase(c, "pvc", "scratcher-data"), os.path.exists(path)),
                         lambda got: got == ("<gone>", False), timeout=60)
