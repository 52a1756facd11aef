"""The bundled local-path provisioner: a claim of the default StorageClass gets a volume
on the node of the first pod that uses it (no node agent here: the node is an API object
with the annotation an agent would write, and the pod is placed on it by name)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from tests.e2e import cluster as cluster_mod

pytestmark = pytest.mark.e2e

ROOT = "/srv/kubelite-test-storage"
NODE = """apiVersion: v1
kind: Node
metadata:
  name: {name}
  labels: {{kubernetes.io/hostname: {name}}}
  annotations: {annotations}
spec:
  taints: [{{key: kubelite.io/test-only, effect: NoSchedule}}]
"""
CLAIM = """apiVersion: v1
kind: PersistentVolumeClaim
metadata: {{name: {name}}}
spec:
  accessModes: [ReadWriteOnce]
  resources: {{requests: {{storage: 1Gi}}}}
"""
POD = """apiVersion: v1
kind: Pod
metadata: {{name: {name}}}
spec:
  nodeName: {node}
  containers: [{{name: main, image: busybox, command: [sleep, "3600"]}}]
  volumes: [{{name: data, persistentVolumeClaim: {{claimName: {claim}}}}}]
"""


@pytest.fixture(scope="module")
def c(tmp_path_factory: pytest.TempPathFactory) -> Iterator[cluster_mod.Cluster]:
    base = tmp_path_factory.mktemp("kubelite-provision")
    cl = cluster_mod.start(str(base / "data"), str(base / "home"), "--disable", "agent,ingress")
    try:
        cl.kubectl("apply", "-f", "-", input=NODE.format(
            name="disk-node", annotations=json.dumps({"kubelite.io/local-path-root": ROOT})))
        cl.kubectl("apply", "-f", "-", input=NODE.format(name="bare-node", annotations="{}"))
        yield cl
    finally:
        cl.stop()


def events(c: cluster_mod.Cluster, ns: str, name: str) -> list[tuple[str, str, str]]:
    items = c.kubectl_json("get", "events", "-n", ns,
                           f"--field-selector=involvedObject.name={name}")["items"]
    return [(e["type"], e["reason"], e["message"]) for e in items]


def test_the_default_class_exists(c: cluster_mod.Cluster) -> None:
    sc = cluster_mod.wait_for("the local-path StorageClass", lambda: c.kubectl(
        "get", "storageclass", "local-path", check=False), lambda r: r.returncode == 0)
    lines = sc.stdout.splitlines()
    assert lines[0].split() == ["NAME", "PROVISIONER", "RECLAIMPOLICY", "VOLUMEBINDINGMODE",
                                "ALLOWVOLUMEEXPANSION", "AGE"]
    assert lines[1].split()[:5] == ["local-path", "(default)", "kubelite.io/local-path",
                                    "Delete", "WaitForFirstConsumer"]


def test_a_claim_is_provisioned_on_its_first_consumers_node(c: cluster_mod.Cluster) -> None:
    ns = "default"
    c.kubectl("apply", "-n", ns, "-f", "-", input=CLAIM.format(name="data"))
    claim = c.kubectl_json("get", "pvc", "data", "-n", ns)
    assert claim["spec"]["storageClassName"] == "local-path"  # the default, by admission
    cluster_mod.wait_for("the WaitForFirstConsumer event", lambda: events(c, ns, "data"),
                         lambda evs: any(r == "WaitForFirstConsumer" for _, r, _ in evs))
    assert c.kubectl_json("get", "pvc", "data", "-n", ns)["status"]["phase"] == "Pending"
    assert c.kubectl("get", "pv", "-o", "name").stdout.strip() == ""

    c.kubectl("apply", "-n", ns, "-f", "-", input=POD.format(
        name="user", node="disk-node", claim="data"))
    bound = cluster_mod.wait_for(
        "the claim bound", lambda: c.kubectl_json("get", "pvc", "data", "-n", ns),
        lambda got: got["status"].get("phase") == "Bound")
    uid = bound["metadata"]["uid"]
    assert bound["spec"]["volumeName"] == f"pvc-{uid}"
    assert bound["metadata"]["annotations"]["volume.kubernetes.io/selected-node"] == "disk-node"
    pv = c.kubectl_json("get", "pv", f"pvc-{uid}")
    assert pv["spec"]["hostPath"]["path"] == f"{ROOT}/pvc-{uid}_{ns}_data"
    assert pv["spec"]["nodeAffinity"]["required"]["nodeSelectorTerms"][0][
        "matchExpressions"][0]["values"] == ["disk-node"]
    assert pv["status"]["phase"] == "Bound"
    cluster_mod.wait_for("the ProvisioningSucceeded event", lambda: events(c, ns, "data"),
                         lambda evs: ("Normal", "ProvisioningSucceeded",
                          f"Successfully provisioned volume pvc-{uid}") in evs)
    row = c.kubectl("get", "pvc", "data", "-n", ns).stdout.splitlines()[1].split()
    assert row[:4] == ["data", "Bound", f"pvc-{uid}", "1Gi"] and row[5] == "local-path"


def test_a_node_without_local_storage_gets_no_volume(c: cluster_mod.Cluster) -> None:
    ns = "default"
    c.kubectl("apply", "-n", ns, "-f", "-", input=CLAIM.format(name="nowhere"))
    c.kubectl("apply", "-n", ns, "-f", "-", input=POD.format(
        name="stranded", node="bare-node", claim="nowhere"))
    cluster_mod.wait_for("the ProvisioningFailed event", lambda: events(c, ns, "nowhere"),
                         lambda evs: any(r == "ProvisioningFailed" and "bare-node" in m
                             for _, r, m in evs))
    assert c.kubectl_json("get", "pvc", "nowhere", "-n", ns)["status"]["phase"] == "Pending"


def test_a_claim_that_names_no_class_is_left_to_static_volumes(c: cluster_mod.Cluster) -> None:
    ns = "default"
    c.kubectl("apply", "-n", ns, "-f", "-", input=CLAIM.format(name="static").replace(
        "spec:\n", "spec:\n  storageClassName: ''\n"))
    c.kubectl("apply", "-n", ns, "-f", "-", input=POD.format(
        name="static-user", node="disk-node", claim="static"))
    cluster_mod.wait_for("the FailedBinding event", lambda: events(c, ns, "static"),
                         lambda evs: any(r == "FailedBinding" for _, r, _ in evs))
    claim = c.kubectl_json("get", "pvc", "static", "-n", ns)
    assert claim["status"]["phase"] == "Pending" and "volumeName" not in claim["spec"]


def test_an_ephemeral_volume_gets_a_claim_that_goes_with_its_pod(c: cluster_mod.Cluster) -> None:
    ns = "default"
    c.kubectl("apply", "-n", ns, "-f", "-", input=POD.format(
        name="scratchy", node="disk-node", claim="unused").replace(
        "persistentVolumeClaim: {claimName: unused}",
        "ephemeral: {volumeClaimTemplate: {spec: {accessModes: [ReadWriteOnce], "
        "resources: {requests: {storage: 1Gi}}}}}"))
    pod = c.kubectl_json("get", "pod", "scratchy", "-n", ns)
    claim = cluster_mod.wait_for(
        "the ephemeral claim bound",
        lambda: c.kubectl("get", "pvc", "scratchy-data", "-n", ns, "-o", "json", check=False),
        lambda r: r.returncode == 0 and json.loads(r.stdout)["status"].get("phase") == "Bound")
    got = json.loads(claim.stdout)
    [owner] = got["metadata"]["ownerReferences"]
    assert (owner["kind"], owner["name"], owner["uid"], owner["controller"]) == (
        "Pod", "scratchy", pod["metadata"]["uid"], True)
    assert got["spec"]["storageClassName"] == "local-path"
    c.kubectl("delete", "pod", "scratchy", "-n", ns, "--grace-period=0", "--force")
    cluster_mod.wait_for("the claim to go with its pod", lambda: c.kubectl(
        "get", "pvc", "scratchy-data", "-n", ns, check=False).returncode, lambda rc: rc == 1)


def test_a_claim_in_use_outlives_its_deletion_until_its_pod_goes(c: cluster_mod.Cluster) -> None:
    ns = "default"
    c.kubectl("apply", "-n", ns, "-f", "-", input=CLAIM.format(name="guarded"))
    c.kubectl("apply", "-n", ns, "-f", "-", input=POD.format(
        name="guard", node="disk-node", claim="guarded"))
    claim = cluster_mod.wait_for(
        "the claim bound", lambda: c.kubectl_json("get", "pvc", "guarded", "-n", ns),
        lambda got: got["status"].get("phase") == "Bound")
    assert claim["metadata"]["finalizers"] == ["kubernetes.io/pvc-protection"]
    volume = claim["spec"]["volumeName"]
    assert c.kubectl_json("get", "pv", volume)["metadata"]["finalizers"] == [
        "kubernetes.io/pv-protection"]

    c.kubectl("delete", "pvc", "guarded", "-n", ns, "--wait=false")
    c.kubectl("delete", "pv", volume, "--wait=false")
    # still there while the pod uses the claim: the data under it is not reclaimed
    row = c.kubectl("get", "pvc", "guarded", "-n", ns).stdout.splitlines()[1].split()
    assert row[:2] == ["guarded", "Terminating"]
    assert c.kubectl_json("get", "pv", volume)["status"]["phase"] == "Bound"

    c.kubectl("delete", "pod", "guard", "-n", ns, "--grace-period=0", "--force")
    cluster_mod.wait_for("the claim and its volume gone", lambda: (
        c.kubectl("get", "pvc", "guarded", "-n", ns, check=False).returncode,
        c.kubectl("get", "pv", volume, check=False).returncode), lambda rcs: rcs == (1, 1))
