"""The local-path provisioner's objects: the default StorageClass and the PV it writes."""

from __future__ import annotations

from typing import Any

from kubelite.api import claims
from kubelite.controllers.volume import provisioner

Obj = dict[str, Any]


def claim(**spec: Any) -> Obj:
    return {"metadata": {"name": "data", "namespace": "shop", "uid": "1234"},
            "spec": {"accessModes": ["ReadWriteOnce"],
                     "resources": {"requests": {"storage": "2Gi"}}, **spec}}


def test_the_default_class_waits_for_the_first_consumer() -> None:
    sc = provisioner.default_class()
    assert sc["metadata"]["name"] == "local-path"
    assert sc["metadata"]["annotations"] == {
        "storageclass.kubernetes.io/is-default-class": "true"}
    assert (sc["provisioner"], sc["reclaimPolicy"], sc["volumeBindingMode"]) == (
        "kubelite.io/local-path", "Delete", "WaitForFirstConsumer")


def test_the_volume_sits_on_the_node_and_is_pre_bound_to_its_claim() -> None:
    sc = {"metadata": {"name": "local-path"}, "reclaimPolicy": "Retain"}
    pv = provisioner.volume_for(claim(), sc, "node-a", "/data/storage/")
    assert pv["metadata"] == {"name": "pvc-1234", "annotations": {
        "pv.kubernetes.io/provisioned-by": "kubelite.io/local-path"}}
    spec = pv["spec"]
    assert spec["hostPath"] == {"path": "/data/storage/pvc-1234_shop_data",
                                "type": "DirectoryOrCreate"}
    assert spec["capacity"] == {"storage": "2Gi"}
    assert (spec["accessModes"], spec["volumeMode"], spec["storageClassName"]) == (
        ["ReadWriteOnce"], "Filesystem", "local-path")
    assert spec["persistentVolumeReclaimPolicy"] == "Retain"
    terms = spec["nodeAffinity"]["required"]["nodeSelectorTerms"]
    assert terms == [{"matchExpressions": [
        {"key": "kubernetes.io/hostname", "operator": "In", "values": ["node-a"]}]}]
    assert spec["claimRef"] == {"kind": "PersistentVolumeClaim", "apiVersion": "v1",
                                "namespace": "shop", "name": "data", "uid": "1234"}


def test_access_modes_follow_the_claim_and_reclaim_defaults_to_delete() -> None:
    pv = provisioner.volume_for(claim(accessModes=["ReadWriteOncePod"]),
                                {"metadata": {"name": "x"}}, "n", "/r")
    assert pv["spec"]["accessModes"] == ["ReadWriteOncePod"]
    assert pv["spec"]["persistentVolumeReclaimPolicy"] == "Delete"


def test_claims_of_a_pod() -> None:
    pod = {"metadata": {"namespace": "shop"}, "spec": {"volumes": [
        {"name": "a", "persistentVolumeClaim": {"claimName": "data"}},
        {"name": "b", "emptyDir": {}},
        {"name": "c", "persistentVolumeClaim": {"claimName": "logs", "readOnly": True}},
        {"name": "d", "ephemeral": {"volumeClaimTemplate": {"spec": {}}}}]}}
    pod["metadata"]["name"] = "web-0"
    assert claims.pod_claims(pod) == ["shop/data", "shop/logs", "shop/web-0-d"]
    assert claims.pod_claims({"metadata": {"namespace": "x"}, "spec": {}}) == []


def test_an_ephemeral_volume_asks_for_a_claim_its_pod_owns() -> None:
    from kubelite.controllers.volume import ephemeral
    pod = {"metadata": {"name": "web-0", "namespace": "shop", "uid": "p1"}, "spec": {
        "volumes": [{"name": "cache", "emptyDir": {}},
                    {"name": "scratch", "ephemeral": {"volumeClaimTemplate": {
                        "metadata": {"labels": {"tier": "cache"}},
                        "spec": {"accessModes": ["ReadWriteOnce"],
                                 "resources": {"requests": {"storage": "1Gi"}}}}}}]}}
    [volume] = ephemeral.ephemeral_volumes(pod)
    got = ephemeral.claim_for(pod, volume)
    assert got["metadata"] == {
        "name": "web-0-scratch", "namespace": "shop", "labels": {"tier": "cache"},
        "ownerReferences": [{"apiVersion": "v1", "kind": "Pod", "name": "web-0", "uid": "p1",
                             "controller": True, "blockOwnerDeletion": True}]}
    assert got["spec"] == {"accessModes": ["ReadWriteOnce"],
                           "resources": {"requests": {"storage": "1Gi"}}}


def test_which_pods_keep_a_claim_in_use() -> None:
    from kubelite.controllers.volume import protection
    data = {"metadata": {"name": "data", "namespace": "shop"}}
    scratch = {"metadata": {"name": "web-0-scratch", "namespace": "shop", "ownerReferences": [
        {"kind": "Pod", "uid": "p1", "controller": True}]}}

    def pod(node: str = "n1", **meta: Any) -> Obj:
        return {"metadata": {"name": "web-0", "namespace": "shop", "uid": "p1", **meta},
                "spec": {"nodeName": node, "volumes": [
                    {"name": "a", "persistentVolumeClaim": {"claimName": "data"}},
                    {"name": "scratch", "ephemeral": {"volumeClaimTemplate": {}}}]}}
    assert protection.uses(pod(), data) and protection.uses(pod(), scratch)
    assert not protection.uses(pod(node=""), data)          # not scheduled: never started
    gone = {"deletionTimestamp": "2026-01-01T00:00:00Z", "deletionGracePeriodSeconds": 0}
    assert protection.uses(pod(**gone), data)               # as upstream: until it is removed
    assert not protection.uses(pod(**gone), scratch)        # shut down: its own claim may go
    other = {"metadata": {**scratch["metadata"], "ownerReferences": [
        {"kind": "Pod", "uid": "p2", "controller": True}]}}
    assert not protection.uses(pod(), other)
