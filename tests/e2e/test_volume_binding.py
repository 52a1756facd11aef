"""Static PersistentVolumes and claims against a real server: what `kubectl get pv,pvc`,
`kubectl describe` and the Python client show as the binder binds, waits and reclaims.

PersistentVolumes are cluster-wide and the server is shared, so every volume here is named
after the test's namespace and carries a class (or a label the claim selects) of its own.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.e2e.cluster import Cluster

pytestmark = pytest.mark.e2e

Obj = dict[str, Any]
BOUND_BY = "pv.kubernetes.io/bound-by-controller"
BIND_COMPLETED = "pv.kubernetes.io/bind-completed"
PROVISIONED_BY = "pv.kubernetes.io/provisioned-by"


def pv(name: str, size: str, *, cls: str, modes: tuple[str, ...] = ("ReadWriteOnce",),
       policy: str = "Retain", **meta: Any) -> Obj:
    spec: Obj = {"capacity": {"storage": size}, "accessModes": list(modes),
                 "persistentVolumeReclaimPolicy": policy, "storageClassName": cls,
                 "hostPath": {"path": f"/tmp/kubelite-test-pv/{name}"}}
    if "claim_ref" in meta:
        spec["claimRef"] = meta.pop("claim_ref")
    return {"apiVersion": "v1", "kind": "PersistentVolume",
            "metadata": {"name": name, **meta}, "spec": spec}


def pvc(name: str, size: str, *, cls: str, modes: tuple[str, ...] = ("ReadWriteOnce",),
        **spec: Any) -> Obj:
    return {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": name},
            "spec": {"accessModes": list(modes), "storageClassName": cls,
                     "resources": {"requests": {"storage": size}}, **spec}}


def create(c: Cluster, ns: str, *objs: Obj) -> None:
    c.kubectl("create", "-n", ns, "-f", "-",
              input=json.dumps({"apiVersion": "v1", "kind": "List", "items": list(objs)}))


def wait_phase(c: Cluster, ns: str, ref: str, phase: str) -> Obj:
    c.kubectl("wait", "-n", ns, ref, f"--for=jsonpath={{.status.phase}}={phase}",
              "--timeout=20s", timeout=30)
    return dict(c.kubectl_json("get", "-n", ns, ref))


def wait_event(api: Any, ns: str, name: str, reason: str) -> Obj:
    """The first event with this reason about the object (watching until it comes)."""
    from kubernetes import client, watch

    core = client.CoreV1Api(api)
    w = watch.Watch()
    for ev in w.stream(core.list_namespaced_event, ns, timeout_seconds=20,
                       field_selector=f"involvedObject.name={name}"):
        obj = ev["object"]
        if obj.reason == reason:
            w.stop()
            return {"type": obj.type, "message": obj.message,
                    "component": obj.source.component if obj.source else ""}
    raise AssertionError(f"no {reason} event for {ns}/{name}")


def test_static_volume_and_claim_bind(cluster: Cluster, ns: str) -> None:
    create(cluster, ns, pv(f"{ns}-vol", "1Gi", cls=f"{ns}-manual",
                           modes=("ReadWriteOnce", "ReadOnlyMany")),
           pvc("data", "500Mi", cls=f"{ns}-manual"))
    claim = wait_phase(cluster, ns, "pvc/data", "Bound")
    vol = wait_phase(cluster, ns, f"pv/{ns}-vol", "Bound")
    assert claim["spec"]["volumeName"] == f"{ns}-vol"
    assert claim["status"]["capacity"] == {"storage": "1Gi"}
    assert claim["status"]["accessModes"] == ["ReadWriteOnce", "ReadOnlyMany"]
    assert claim["metadata"]["annotations"][BIND_COMPLETED] == "yes"
    assert claim["metadata"]["annotations"][BOUND_BY] == "yes"
    ref = vol["spec"]["claimRef"]
    assert (ref["kind"], ref["namespace"], ref["name"], ref["uid"]) == (
        "PersistentVolumeClaim", ns, "data", claim["metadata"]["uid"])
    assert vol["metadata"]["annotations"][BOUND_BY] == "yes"


def test_kubectl_get_pv_pvc_columns(cluster: Cluster, ns: str) -> None:
    create(cluster, ns, pv(f"{ns}-vol", "2Gi", cls=f"{ns}-manual"),
           pvc("data", "1Gi", cls=f"{ns}-manual"))
    wait_phase(cluster, ns, "pvc/data", "Bound")
    out = cluster.kubectl("get", "-n", ns, f"pv/{ns}-vol", "pvc/data").stdout.splitlines()
    assert out[0].split() == ["NAME", "CAPACITY", "ACCESS", "MODES", "RECLAIM", "POLICY",
                              "STATUS", "CLAIM", "STORAGECLASS", "VOLUMEATTRIBUTESCLASS",
                              "REASON", "AGE"]
    assert out[1].split()[:7] == [f"persistentvolume/{ns}-vol", "2Gi", "RWO", "Retain",
                                  "Bound", f"{ns}/data", f"{ns}-manual"]
    header = next(i for i, line in enumerate(out) if line.startswith("NAME") and i > 0)
    assert out[header].split() == ["NAME", "STATUS", "VOLUME", "CAPACITY", "ACCESS", "MODES",
                                   "STORAGECLASS", "VOLUMEATTRIBUTESCLASS", "AGE"]
    assert out[header + 1].split()[:6] == ["persistentvolumeclaim/data", "Bound", f"{ns}-vol",
                                           "2Gi", "RWO", f"{ns}-manual"]


def test_smallest_fitting_volume_wins(cluster: Cluster, ns: str) -> None:
    cls = f"{ns}-manual"
    create(cluster, ns, *(pv(f"{ns}-{size.lower()}", size, cls=cls)
                          for size in ("100Mi", "5Gi", "1Gi", "2Gi")))
    create(cluster, ns, pvc("data", "600Mi", cls=cls))
    claim = wait_phase(cluster, ns, "pvc/data", "Bound")
    assert claim["spec"]["volumeName"] == f"{ns}-1gi"
    for other in ("100mi", "5gi", "2gi"):
        assert cluster.kubectl_json("get", f"pv/{ns}-{other}")["status"]["phase"] == "Available"


def test_claim_waits_for_a_fitting_volume(cluster: Cluster, ns: str, api_client: Any) -> None:
    sel = {"matchLabels": {"test": ns}}
    create(cluster, ns, pv(f"{ns}-small", "100Mi", cls="", labels={"test": ns}),
           pvc("data", "1Gi", cls="", selector=sel))
    ev = wait_event(api_client, ns, "data", "FailedBinding")
    assert ev == {"type": "Normal", "component": "persistentvolume-controller",
                  "message": "no persistent volumes available for this claim and no storage "
                             "class is set"}
    assert cluster.kubectl_json("get", "-n", ns, "pvc/data")["status"]["phase"] == "Pending"
    create(cluster, ns, pv(f"{ns}-big", "1Gi", cls="", labels={"test": ns}))
    claim = wait_phase(cluster, ns, "pvc/data", "Bound")
    assert claim["spec"]["volumeName"] == f"{ns}-big"
    described = cluster.kubectl("describe", "-n", ns, "pvc/data").stdout
    assert "FailedBinding" in described and "persistentvolume-controller" in described


def test_storage_class_mismatch_does_not_bind(cluster: Cluster, ns: str,
                                              api_client: Any) -> None:
    create(cluster, ns, pv(f"{ns}-slow", "1Gi", cls=f"{ns}-slow"))
    wait_phase(cluster, ns, f"pv/{ns}-slow", "Available")
    create(cluster, ns, pvc("data", "1Gi", cls=f"{ns}-fast"))
    ev = wait_event(api_client, ns, "data", "ProvisioningFailed")
    assert ev["type"] == "Warning"
    assert ev["message"] == f'storageclass.storage.k8s.io "{ns}-fast" not found'
    assert cluster.kubectl_json("get", "-n", ns, "pvc/data")["status"]["phase"] == "Pending"
    vol = cluster.kubectl_json("get", f"pv/{ns}-slow")
    assert vol["status"]["phase"] == "Available" and "claimRef" not in vol["spec"]


def test_prebound_volume_binds_only_its_claim(cluster: Cluster, ns: str,
                                              api_client: Any) -> None:
    sel = {"matchLabels": {"test": ns}}
    create(cluster, ns, pv(f"{ns}-vol", "1Gi", cls="", labels={"test": ns},
                           claim_ref={"namespace": ns, "name": "mine"}))
    assert wait_phase(cluster, ns, f"pv/{ns}-vol", "Available")["spec"]["claimRef"][
        "name"] == "mine"
    create(cluster, ns, pvc("other", "1Gi", cls="", selector=sel))
    wait_event(api_client, ns, "other", "FailedBinding")
    create(cluster, ns, pvc("mine", "1Gi", cls="", selector=sel))
    claim = wait_phase(cluster, ns, "pvc/mine", "Bound")
    vol = wait_phase(cluster, ns, f"pv/{ns}-vol", "Bound")
    assert vol["spec"]["claimRef"]["uid"] == claim["metadata"]["uid"]
    assert BOUND_BY not in (vol["metadata"].get("annotations") or {})   # the user chose
    assert cluster.kubectl_json("get", "-n", ns, "pvc/other")["status"]["phase"] == "Pending"


def test_claim_naming_a_volume_binds_to_it(cluster: Cluster, ns: str) -> None:
    cls = f"{ns}-manual"
    create(cluster, ns, pv(f"{ns}-small", "1Gi", cls=cls), pv(f"{ns}-big", "9Gi", cls=cls))
    create(cluster, ns, pvc("data", "1Gi", cls=cls, volumeName=f"{ns}-big"))
    claim = wait_phase(cluster, ns, "pvc/data", "Bound")
    assert claim["spec"]["volumeName"] == f"{ns}-big"
    assert BOUND_BY not in claim["metadata"]["annotations"]
    assert claim["metadata"]["annotations"][BIND_COMPLETED] == "yes"


@pytest.mark.parametrize(("policy", "notes", "outcome"), [
    ("Retain", {}, "Released"),
    ("Delete", {}, "deleted"),
    ("Delete", {PROVISIONED_BY: "kubelite.io/local-path"}, "Released"),
], ids=["retain-released", "delete-deleted", "provisioned-delete-left-released"])
def test_reclaim_when_the_claim_goes(cluster: Cluster, ns: str, policy: str,
                                     notes: dict[str, str], outcome: str) -> None:
    cls = f"{ns}-manual"
    create(cluster, ns, pv(f"{ns}-vol", "1Gi", cls=cls, policy=policy, annotations=notes),
           pvc("data", "1Gi", cls=cls))
    wait_phase(cluster, ns, f"pv/{ns}-vol", "Bound")
    cluster.kubectl("delete", "-n", ns, "pvc/data", "--wait=true", timeout=30)
    if outcome == "deleted":
        cluster.kubectl("wait", f"pv/{ns}-vol", "--for=delete", "--timeout=20s", timeout=30)
        return
    vol = wait_phase(cluster, ns, f"pv/{ns}-vol", "Released")
    assert vol["spec"]["claimRef"]["name"] == "data"     # still remembers its old claim
    line = cluster.kubectl("get", f"pv/{ns}-vol", "--no-headers").stdout.split()
    assert line[3:6] == [policy, "Released", f"{ns}/data"]


def test_claim_is_lost_when_its_volume_goes(cluster: Cluster, ns: str,
                                            api_client: Any) -> None:
    cls = f"{ns}-manual"
    create(cluster, ns, pv(f"{ns}-vol", "1Gi", cls=cls), pvc("data", "1Gi", cls=cls))
    wait_phase(cluster, ns, "pvc/data", "Bound")
    # A bound volume is protected: deleting it leaves it Terminating, still Bound...
    cluster.kubectl("delete", f"pv/{ns}-vol", "--wait=false")
    held = cluster.kubectl_json("get", f"pv/{ns}-vol")
    assert held["metadata"]["deletionTimestamp"] and held["status"]["phase"] == "Bound"
    assert held["metadata"]["finalizers"] == ["kubernetes.io/pv-protection"]
    # ...until someone removes the protection by hand: then the claim has lost it.
    cluster.kubectl("patch", f"pv/{ns}-vol", "--type=merge", "-p",
                    '{"metadata": {"finalizers": null}}')
    wait_phase(cluster, ns, "pvc/data", "Lost")
    ev = wait_event(api_client, ns, "data", "ClaimLost")
    assert ev["type"] == "Warning"
    assert ev["message"] == "Bound claim has lost its PersistentVolume. Data on the volume " \
        "is lost!"


def test_wait_for_first_consumer_class_skips_free_volumes(cluster: Cluster, ns: str,
                                                         api_client: Any) -> None:
    cls = f"{ns}-later"
    sc = {"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
          "metadata": {"name": cls}, "provisioner": "example.com/none",
          "volumeBindingMode": "WaitForFirstConsumer"}
    create(cluster, ns, sc, pv(f"{ns}-free", "1Gi", cls=cls))
    wait_phase(cluster, ns, f"pv/{ns}-free", "Available")
    create(cluster, ns, pvc("data", "1Gi", cls=cls))
    ev = wait_event(api_client, ns, "data", "WaitForFirstConsumer")
    assert (ev["type"], ev["message"]) == (
        "Normal", "waiting for first consumer to be created before binding")
    uid = cluster.kubectl_json("get", "-n", ns, "pvc/data")["metadata"]["uid"]
    create(cluster, ns, pv(f"{ns}-made", "1Gi", cls=cls, claim_ref={
        "kind": "PersistentVolumeClaim", "apiVersion": "v1", "namespace": ns, "name": "data",
        "uid": uid}))
    claim = wait_phase(cluster, ns, "pvc/data", "Bound")
    assert claim["spec"]["volumeName"] == f"{ns}-made"
    assert cluster.kubectl_json("get", f"pv/{ns}-free")["status"]["phase"] == "Available"
    cluster.kubectl("delete", f"storageclass/{cls}")
