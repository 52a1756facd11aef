"""The strategic merge patches kubectl 1.32 and the Python client actually send."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from kubelite.api import schemas
from kubelite.api.patch import strategic

DEPLOYMENT = schemas.definition("io.k8s.api.apps.v1.Deployment")
NODE = schemas.definition("io.k8s.api.core.v1.Node")
POD = schemas.definition("io.k8s.api.core.v1.Pod")
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"


def deployment() -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "default", "generation": 1,
                     "labels": {"app": "web", "old": "x"},
                     "annotations": {LAST_APPLIED: "{}", "deployment.kubernetes.io/revision": "1"}},
        "spec": {
            "replicas": 1, "selector": {"matchLabels": {"app": "web"}},
            "strategy": {"type": "RollingUpdate",
                         "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {
                    "containers": [{
                        "name": "nginx", "image": "nginx:1.27",
                        "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}],
                        "ports": [{"containerPort": 80, "protocol": "TCP"}],
                        "resources": {"limits": {"cpu": "500m"}},
                    }],
                    "volumes": [{"name": "data", "hostPath": {"path": "/srv", "type": ""}}],
                    "restartPolicy": "Always",
                },
            },
        },
        "status": {"replicas": 1, "observedGeneration": 1},
    }


def applied(doc: dict[str, Any], patch: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    before = copy.deepcopy((doc, patch))
    result = strategic.apply(doc, patch, schema)
    assert (doc, patch) == before
    return result


def pod_spec(doc: dict[str, Any]) -> dict[str, Any]:
    spec: dict[str, Any] = doc["spec"]["template"]["spec"]
    return spec


def test_reapply_changes_image() -> None:
    """kubectl apply after editing the image: the patch seen on the wire."""
    patch = {"metadata": {"annotations": {LAST_APPLIED: '{"new": true}'}},
             "spec": {"template": {"spec": {"$setElementOrder/containers": [{"name": "nginx"}],
                                            "containers": [{"image": "nginx:1.29", "name": "nginx"}]}}}}
    doc = deployment()
    result = applied(doc, patch, DEPLOYMENT)
    expected = copy.deepcopy(doc)
    expected["metadata"]["annotations"][LAST_APPLIED] = '{"new": true}'
    pod_spec(expected)["containers"][0]["image"] = "nginx:1.29"
    assert result == expected


def test_reapply_removes_env_var_and_field_and_adds_sidecar() -> None:
    patch = {"spec": {"template": {"spec": {
        "$setElementOrder/containers": [{"name": "nginx"}, {"name": "log"}],
        "containers": [
            {"$setElementOrder/env": [{"name": "A"}], "env": [{"$patch": "delete", "name": "B"}],
             "name": "nginx", "resources": None},
            {"image": "busybox", "name": "log"},
        ]}}}}
    containers = pod_spec(applied(deployment(), patch, DEPLOYMENT))["containers"]
    assert containers == [
        {"name": "nginx", "image": "nginx:1.27", "env": [{"name": "A", "value": "1"}],
         "ports": [{"containerPort": 80, "protocol": "TCP"}]},
        {"image": "busybox", "name": "log"},
    ]


def test_reapply_switches_deployment_strategy() -> None:
    """Changing strategy.type to Recreate: $retainKeys clears the rollingUpdate defaults."""
    patch = {"spec": {"strategy": {"$retainKeys": ["type"], "rollingUpdate": None, "type": "Recreate"}}}
    assert applied(deployment(), patch, DEPLOYMENT)["spec"]["strategy"] == {"type": "Recreate"}


def test_reapply_switches_volume_source() -> None:
    patch = {"spec": {"template": {"spec": {
        "$setElementOrder/volumes": [{"name": "data"}, {"name": "tmp"}],
        "volumes": [{"$retainKeys": ["emptyDir", "name"], "emptyDir": {}, "hostPath": None, "name": "data"},
                    {"emptyDir": {"medium": "Memory"}, "name": "tmp"}]}}}}
    assert pod_spec(applied(deployment(), patch, DEPLOYMENT))["volumes"] == [
        {"name": "data", "emptyDir": {}}, {"emptyDir": {"medium": "Memory"}, "name": "tmp"}]


def test_rollout_restart() -> None:
    stamp = "2025-01-02T03:04:05Z"
    patch = {"spec": {"template": {"metadata": {"annotations": {
        "kubectl.kubernetes.io/restartedAt": stamp}}}}}
    doc = deployment()
    result = applied(doc, patch, DEPLOYMENT)
    assert result["spec"]["template"]["metadata"] == {
        "labels": {"app": "web"}, "annotations": {"kubectl.kubernetes.io/restartedAt": stamp}}
    assert result["spec"]["template"]["spec"] is doc["spec"]["template"]["spec"]


@pytest.mark.parametrize("patch, field, expected", [
    ({"metadata": {"labels": {"tier": "db"}}}, "labels", {"app": "web", "old": "x", "tier": "db"}),
    ({"metadata": {"labels": {"old": None}}}, "labels", {"app": "web"}),
    ({"metadata": {"labels": {"app": "api"}}}, "labels", {"app": "api", "old": "x"}),
    ({"metadata": {"annotations": {"note": "hi", "deployment.kubernetes.io/revision": None}}},
     "annotations", {LAST_APPLIED: "{}", "note": "hi"}),
    ({"metadata": {"finalizers": ["example.com/guard"]}}, "finalizers", ["example.com/guard"]),
], ids=["label-add", "label-remove", "label-overwrite", "annotate", "finalizer-added-to-absent-list"])
def test_label_and_annotate(patch: dict[str, Any], field: str, expected: Any) -> None:
    assert applied(deployment(), patch, DEPLOYMENT)["metadata"][field] == expected


def test_patch_docs_pod_image() -> None:
    """kubectl patch pod valid-pod -p '{"spec":{"containers":[{"name":...,"image":"new image"}]}}'."""
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "valid-pod"},
           "spec": {"containers": [{"name": "kubernetes-serve-hostname", "image": "old",
                                    "resources": {"limits": {"cpu": "1"}}}]}}
    patch = {"spec": {"containers": [{"name": "kubernetes-serve-hostname", "image": "new image"}]}}
    assert applied(pod, patch, POD)["spec"]["containers"] == [
        {"name": "kubernetes-serve-hostname", "image": "new image", "resources": {"limits": {"cpu": "1"}}}]


@pytest.mark.parametrize("patch, expected", [
    ({"spec": {"unschedulable": True}}, {"podCIDR": "10.0.0.0/24", "unschedulable": True,
                                         "taints": [{"key": "a", "effect": "NoSchedule"}]}),
    ({"spec": {"unschedulable": None}}, {"podCIDR": "10.0.0.0/24",
                                         "taints": [{"key": "a", "effect": "NoSchedule"}]}),
    ({"spec": {"taints": [{"key": "a", "effect": "NoSchedule"}, {"key": "b", "effect": "NoExecute"}]}},
     {"podCIDR": "10.0.0.0/24", "taints": [{"key": "a", "effect": "NoSchedule"},
                                           {"key": "b", "effect": "NoExecute"}]}),
], ids=["cordon", "uncordon", "taint"])
def test_node_patches(patch: dict[str, Any], expected: dict[str, Any]) -> None:
    node = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n1"},
            "spec": {"podCIDR": "10.0.0.0/24", "taints": [{"key": "a", "effect": "NoSchedule"}]}}
    assert applied(node, patch, NODE)["spec"] == expected


def test_python_client_dict_body_patch() -> None:
    """The Python client sends a plain dict as a strategic merge patch."""
    result = applied(deployment(), {"spec": {"replicas": 3}}, DEPLOYMENT)
    assert result["spec"]["replicas"] == 3
    assert result["spec"]["template"] == deployment()["spec"]["template"]


def test_garbage_collector_orphan_patch() -> None:
    """Dropping one owner reference by uid, as the garbage collector does."""
    doc = deployment()
    doc["metadata"]["uid"] = "d1"
    doc["metadata"]["ownerReferences"] = [{"apiVersion": "v1", "kind": "X", "name": "a", "uid": "u1"},
                                          {"apiVersion": "v1", "kind": "X", "name": "b", "uid": "u2"}]
    patch = {"metadata": {"ownerReferences": [{"$patch": "delete", "uid": "u1"}],
                          "uid": "d1"}}
    result = applied(doc, patch, DEPLOYMENT)
    assert result["metadata"]["ownerReferences"] == [
        {"apiVersion": "v1", "kind": "X", "name": "b", "uid": "u2"}]
