"""Strategic merge patch: every directive, list strategy and error, on built-in schemas."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from kubelite.api import errors, schemas
from kubelite.api import patch as patch_errors
from kubelite.api.patch import strategic

POD = schemas.definition("io.k8s.api.core.v1.Pod")


def pod() -> dict[str, Any]:
    return {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {
            "name": "web", "labels": {"app": "web", "tier": "fe"}, "annotations": {"a": "1"},
            "finalizers": ["f1", "f2"],
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "rs1",
                                 "uid": "u1"}],
        },
        "spec": {
            "containers": [
                {"name": "app", "image": "nginx:1.27",
                 "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}],
                 "ports": [{"containerPort": 80, "name": "http"}],
                 "resources": {"limits": {"cpu": "1"}}},
                {"name": "side", "image": "busybox"},
            ],
            "tolerations": [{"key": "k1", "operator": "Exists"}],
            "volumes": [{"name": "data", "hostPath": {"path": "/srv"}},
                        {"name": "cache", "emptyDir": {}}],
        },
        "status": {"phase": "Running",
                   "conditions": [{"type": "Ready", "status": "True"},
                                  {"type": "Initialized", "status": "True"}]},
    }


def applied(doc: dict[str, Any], patch: Any, schema: dict[str, Any] | None = POD) -> dict[str, Any]:
    """Apply and check that neither input was touched."""
    before = copy.deepcopy((doc, patch))
    result = strategic.apply(doc, patch, schema)
    assert (doc, patch) == before
    return result


def at(doc: Any, *path: Any) -> Any:
    for step in path:
        doc = doc[step]
    return doc


def names(items: list[dict[str, Any]], key: str = "name") -> list[Any]:
    return [item[key] for item in items]


def containers(patch: list[Any], **spec: Any) -> dict[str, Any]:
    return {"spec": {"containers": patch, **spec}}


def app_container(**fields: Any) -> dict[str, Any]:
    return containers([{"name": "app", **fields}])


CASES = [
    # maps
    ("map-merge-null-deletes", {"metadata": {"labels": {"tier": None, "new": "x"}}},
     ("metadata", "labels"), {"app": "web", "new": "x"}),
    ("null-for-missing-key-ignored", {"metadata": {"labels": {"nope": None}}},
     ("metadata", "labels"), {"app": "web", "tier": "fe"}),
    ("new-map-drops-nulls", {"spec": {"securityContext": {"runAsUser": 1, "fsGroup": None}}},
     ("spec", "securityContext"), {"runAsUser": 1}),
    ("patch-replace-map", {"metadata": {"labels": {"$patch": "replace", "only": "x"}}},
     ("metadata", "labels"), {"only": "x"}),
    ("patch-delete-map", app_container(resources={"$patch": "delete"}),
     ("spec", "containers", 0, "resources"), {}),
    ("patch-delete-missing-map", {"spec": {"dnsConfig": {"$patch": "delete"}}},
     ("spec",), {k: v for k, v in pod()["spec"].items()}),
    ("type-change-replaces", {"spec": {"tolerations": {"weird": 1}}},
     ("spec", "tolerations"), {"weird": 1}),
    # merge lists of maps
    ("container-merged-by-name", app_container(image="nginx:1.29"),
     ("spec", "containers", 0), {**pod()["spec"]["containers"][0], "image": "nginx:1.29"}),
    ("new-element-goes-first", containers([{"name": "c3", "image": "x"}]),
     ("spec", "containers", slice(None), "name"), ["c3", "app", "side"]),
    ("patched-and-new-keep-live-order", containers([{"name": "side", "image": "b2"}, {"name": "c3"}]),
     ("spec", "containers", slice(None), "name"), ["app", "side", "c3"]),
    ("env-delete-by-key", app_container(env=[{"$patch": "delete", "name": "A"}]),
     ("spec", "containers", 0, "env"), [{"name": "B", "value": "2"}]),
    ("env-delete-missing-key", app_container(env=[{"$patch": "delete", "name": "Z"}]),
     ("spec", "containers", 0, "env"), pod()["spec"]["containers"][0]["env"]),
    ("env-add-and-change", app_container(env=[{"name": "B", "value": "9"}, {"name": "C", "value": "3"}]),
     ("spec", "containers", 0, "env"),
     [{"name": "A", "value": "1"}, {"name": "B", "value": "9"}, {"name": "C", "value": "3"}]),
    ("env-value-to-valuefrom", app_container(env=[{"name": "A", "value": None, "valueFrom": {
        "fieldRef": {"fieldPath": "metadata.name"}}}]),
     ("spec", "containers", 0, "env", 0),
     {"name": "A", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}),
    ("ports-by-container-port", app_container(ports=[{"containerPort": 80, "name": "web"},
                                                     {"containerPort": 443}]),
     ("spec", "containers", 0, "ports"), [{"containerPort": 80, "name": "web"}, {"containerPort": 443}]),
    ("new-element-cleaned", containers([{"name": "c3", "env": [{"name": "X", "value": None}]}]),
     ("spec", "containers", 0), {"name": "c3", "env": [{"name": "X"}]}),
    ("list-replace-directive", containers([{"$patch": "replace"}, {"name": "only", "image": "x"}]),
     ("spec", "containers"), [{"name": "only", "image": "x"}]),
    ("owner-references-by-uid", {"metadata": {"ownerReferences": [{"uid": "u1", "controller": True}]}},
     ("metadata", "ownerReferences"), [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "rs1",
                                        "uid": "u1", "controller": True}]),
    ("owner-reference-added", {"metadata": {"ownerReferences": [{"uid": "u2", "name": "rs2"}]}},
     ("metadata", "ownerReferences", slice(None), "uid"), ["u2", "u1"]),
    ("owner-reference-deleted", {"metadata": {"ownerReferences": [{"uid": "u1", "$patch": "delete"}]}},
     ("metadata", "ownerReferences"), []),
    ("status-conditions-by-type", {"status": {"conditions": [{"type": "Ready", "status": "False"}]}},
     ("status", "conditions"), [{"type": "Ready", "status": "False"},
                                {"type": "Initialized", "status": "True"}]),
    # lists without a merge strategy
    ("tolerations-replaced", {"spec": {"tolerations": [{"key": "k2", "operator": "Exists"}]}},
     ("spec", "tolerations"), [{"key": "k2", "operator": "Exists"}]),
    ("tolerations-emptied", {"spec": {"tolerations": []}}, ("spec", "tolerations"), []),
    ("command-replaced", app_container(command=["sh"]), ("spec", "containers", 0, "command"), ["sh"]),
    # merge lists of primitives
    ("finalizers-union-new-first", {"metadata": {"finalizers": ["f3"]}},
     ("metadata", "finalizers"), ["f3", "f1", "f2"]),
    ("finalizers-union-known-and-new", {"metadata": {"finalizers": ["f2", "f3"]}},
     ("metadata", "finalizers"), ["f1", "f2", "f3"]),
    ("finalizers-empty-list-keeps", {"metadata": {"finalizers": []}},
     ("metadata", "finalizers"), ["f1", "f2"]),
    ("finalizers-delete-from-primitive-list", {"metadata": {"$deleteFromPrimitiveList/finalizers": ["f1"]}},
     ("metadata", "finalizers"), ["f2"]),
    ("finalizers-delete-absent-value", {"metadata": {"$deleteFromPrimitiveList/finalizers": ["zz"]}},
     ("metadata", "finalizers"), ["f1", "f2"]),
    ("finalizers-add-and-delete", {"metadata": {"finalizers": ["f3"],
                                                "$deleteFromPrimitiveList/finalizers": ["f1"]}},
     ("metadata", "finalizers"), ["f3", "f2"]),
    ("finalizers-set-element-order", {"metadata": {"$setElementOrder/finalizers": ["f2", "f1", "f3"],
                                                   "finalizers": ["f3"]}},
     ("metadata", "finalizers"), ["f2", "f1", "f3"]),
    # $setElementOrder on maps
    ("set-order-appends-new", containers([{"name": "c3", "image": "x"}], **{
        "$setElementOrder/containers": [{"name": "app"}, {"name": "side"}, {"name": "c3"}]}),
     ("spec", "containers", slice(None), "name"), ["app", "side", "c3"]),
    ("set-order-reorders-only",
     {"spec": {"$setElementOrder/containers": [{"name": "side"}, {"name": "app"}]}},
     ("spec", "containers"), [pod()["spec"]["containers"][1], pod()["spec"]["containers"][0]]),
    ("set-order-with-delete", app_container(env=[{"$patch": "delete", "name": "A"}],
                                            **{"$setElementOrder/env": [{"name": "B"}]}),
     ("spec", "containers", 0, "env"), [{"name": "B", "value": "2"}]),
    # $retainKeys
    ("volume-retain-keys", {"spec": {"volumes": [{"$retainKeys": ["emptyDir", "name"], "emptyDir": {},
                                                  "name": "data"}]}},
     ("spec", "volumes"), [{"name": "data", "emptyDir": {}}, {"name": "cache", "emptyDir": {}}]),
    ("volume-patch-without-retain-keys-merges", {"spec": {"volumes": [{"name": "data", "emptyDir": {}}]}},
     ("spec", "volumes", 0), {"name": "data", "hostPath": {"path": "/srv"}, "emptyDir": {}}),
    ("patch-null-patch", None, ("metadata", "name"), "web"),
]


@pytest.mark.parametrize("patch, path, expected", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_apply(patch: Any, path: tuple[Any, ...], expected: Any) -> None:
    result = applied(pod(), patch)
    if slice(None) in path:
        cut = path.index(slice(None))
        assert [at(item, *path[cut + 1:]) for item in at(result, *path[:cut])] == expected
    else:
        assert at(result, *path) == expected


def test_set_order_interleaves_server_only_elements() -> None:
    """A server-only element goes before the next patch element that followed it live."""
    doc = {"spec": {"containers": [{"name": n} for n in ("a", "x", "b", "y", "c")]}}
    patch = {"spec": {"$setElementOrder/containers": [{"name": "c"}, {"name": "a"}, {"name": "b"}]}}
    assert names(applied(doc, patch)["spec"]["containers"]) == ["x", "y", "c", "a", "b"]


def test_untouched_subtrees_are_shared() -> None:
    doc = pod()
    result = applied(doc, app_container(image="nginx:1.29"))
    assert result["metadata"] is doc["metadata"]
    assert result["status"] is doc["status"]
    assert result["spec"]["containers"][1] is doc["spec"]["containers"][1]
    assert result["spec"]["containers"][0]["env"] is doc["spec"]["containers"][0]["env"]
    assert result["spec"]["containers"][0] is not doc["spec"]["containers"][0]


@pytest.mark.parametrize("definition, field, doc_value, patch_value, expected", [
    ("io.k8s.api.policy.v1.PodDisruptionBudget", "selector",
     {"matchLabels": {"a": "1"}, "matchExpressions": [{"key": "k", "operator": "Exists"}]},
     {"matchLabels": {"b": "2"}}, {"matchLabels": {"b": "2"}}),
    ("io.k8s.api.apps.v1.Deployment", "strategy",
     {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1}},
     {"$retainKeys": ["type"], "rollingUpdate": None, "type": "Recreate"}, {"type": "Recreate"}),
    ("io.k8s.api.apps.v1.Deployment", "strategy",
     {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1}},
     {"rollingUpdate": {"maxUnavailable": 0}},
     {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}}),
    ("io.k8s.api.core.v1.Service", "ports",
     [{"port": 80, "targetPort": 8080}, {"port": 443}], [{"port": 80, "targetPort": 9090}],
     [{"port": 80, "targetPort": 9090}, {"port": 443}]),
    ("io.k8s.api.core.v1.Node", "taints",
     [{"key": "a", "effect": "NoSchedule"}], [{"key": "b", "effect": "NoExecute"}],
     [{"key": "b", "effect": "NoExecute"}]),
], ids=["pdb-selector-replace-strategy", "deployment-strategy-retain-keys",
        "deployment-strategy-merges", "service-ports-by-port", "node-taints-replaced"])
def test_spec_fields(definition: str, field: str, doc_value: Any, patch_value: Any, expected: Any) -> None:
    doc = {"metadata": {"name": "x"}, "spec": {field: doc_value}}
    result = applied(doc, {"spec": {field: patch_value}}, schemas.definition(definition))
    assert result["spec"][field] == expected


def test_without_schema_maps_merge_and_lists_replace() -> None:
    doc = {"spec": {"items": [{"name": "a"}], "conf": {"x": 1, "y": 2}}}
    patch = {"spec": {"items": [{"name": "b"}], "conf": {"y": None, "z": 3}}}
    assert applied(doc, patch, None) == {"spec": {"items": [{"name": "b"}], "conf": {"x": 1, "z": 3}}}


def test_delete_from_primitive_list_on_absent_list_adds_nothing() -> None:
    doc = {"metadata": {"name": "x"}}
    patch = {"metadata": {"$deleteFromPrimitiveList/finalizers": ["a"]}}
    assert applied(doc, patch) == {"metadata": {"name": "x"}}


@pytest.mark.parametrize("patch, message", [
    (containers([{"image": "x"}]), "map: map[image:x] does not contain declared merge key: name"),
    ({"metadata": {"labels": {"$patch": "merge", "a": "b"}}},
     "unknown patch type: merge in map: map[$patch:merge a:b]"),
    (containers([{"$patch": "merge"}]), "merging lists cannot yet be specified in the patch"),
    (containers([{"$patch": "bogus", "name": "app"}]),
     "unknown patch type: bogus in map: map[$patch:bogus name:app]"),
    (containers([{"name": "c3"}], **{"$setElementOrder/containers": [{"name": "app"}]}),
     "The order in patch list:\n[map[name:c3]]\n doesn't match $setElementOrder list:\n[map[name:app]]\n"),
    ({"spec": {"$setElementOrder/containers": "app"}},
     "expected a []interface {}, but received a string"),
    ({"metadata": {"finalizers": [1]}}, "list element types are not identical: [[f1 f2] [1]]"),
    ({"metadata": {"$deleteFromPrimitiveList/finalizers": [{"a": "b"}]}},
     "list element types are not identical: [[f1 f2] [map[a:b]]]"),
], ids=["missing-merge-key", "map-patch-merge", "list-patch-merge", "list-patch-unknown",
        "order-mismatch", "order-not-list", "mixed-element-types", "delete-list-of-maps"])
def test_failures_pass_through_as_500(patch: dict[str, Any], message: str) -> None:
    with pytest.raises(patch_errors.Failed) as caught:
        applied(pod(), patch)
    status = caught.value.status()
    assert (status["code"], status["message"]) == (500, message)


@pytest.mark.parametrize("patch, message", [
    ({"metadata": {"labels": {"$retainKeys": "app"}}}, "invalid patch format of retainKeys"),
    ({"spec": {"volumes": [{"name": "data", "$retainKeys": ["name"], "emptyDir": {}}]}},
     "invalid patch format of retainKeys"),
    ({"metadata": {"$setElementOrder": ["f1"]}}, "invalid patch format of setElementOrder list"),
    ({"metadata": {"$deleteFromPrimitiveList": ["f1"]}}, "invalid patch format of primitive list"),
    ([{"op": "add"}], "json: cannot unmarshal array into Go value of type map[string]interface {}"),
], ids=["retain-keys-not-list", "retain-keys-missing-patched-key", "set-order-no-field",
        "delete-list-no-field", "patch-not-object"])
def test_bad_request(patch: Any, message: str) -> None:
    with pytest.raises(errors.BadRequest) as caught:
        applied(pod(), patch)
    assert caught.value.message == message


def test_list_of_lists_is_unprocessable() -> None:
    doc = {"metadata": {"name": "x", "finalizers": []}}
    with pytest.raises(patch_errors.Unprocessable) as caught:
        applied(doc, {"metadata": {"finalizers": [["f3"]]}})
    assert caught.value.code == 422
    assert caught.value.detail == "lists of lists are not supported"


def test_set_order_keeps_server_only_element_in_place() -> None:
    doc = {"spec": {"containers": [{"name": n} for n in ("a", "b", "x", "c", "d")]}}
    patch = {"spec": {"$setElementOrder/containers": [{"name": "b"}, {"name": "a"},
                                                      {"name": "d"}, {"name": "c"}]}}
    assert names(applied(doc, patch)["spec"]["containers"]) == ["b", "a", "x", "d", "c"]
