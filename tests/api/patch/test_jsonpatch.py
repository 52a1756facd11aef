"""RFC 6902 JSON patch as the apiserver applies it (application/json-patch+json)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from kubelite.api import errors
from kubelite.api import patch as patch_errors
from kubelite.api.patch import jsonpatch


def pod() -> dict[str, Any]:
    return {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "web", "labels": {"app": "web", "a/b": "slash", "m~n": "tilde"}},
        "spec": {"containers": [{"name": "app", "image": "nginx:1.27"},
                                {"name": "side", "image": "busybox"}],
                 "tolerations": []},
        "status": {"phase": "Running"},
    }


def applied(doc: dict[str, Any], ops: Any) -> dict[str, Any]:
    """Apply and check that neither input was touched."""
    before = copy.deepcopy((doc, ops))
    result = jsonpatch.apply(doc, ops)
    assert (doc, ops) == before
    return result


def at(doc: Any, *path: Any) -> Any:
    for step in path:
        doc = doc[step]
    return doc


@pytest.mark.parametrize("ops, path, expected", [
    pytest.param([{"op": "replace", "path": "/spec/containers/0/image", "value": "new image"}],
                 ("spec", "containers", 0, "image"), "new image", id="kubectl-docs-replace-image"),
    pytest.param([{"op": "add", "path": "/metadata/labels/tier", "value": "db"}],
                 ("metadata", "labels", "tier"), "db", id="add-member"),
    pytest.param([{"op": "add", "path": "/metadata/labels/app", "value": "other"}],
                 ("metadata", "labels", "app"), "other", id="add-overwrites-member"),
    pytest.param([{"op": "replace", "path": "/metadata/annotations", "value": {"x": "1"}}],
                 ("metadata", "annotations"), {"x": "1"}, id="replace-missing-member-adds-it"),
    pytest.param([{"op": "remove", "path": "/metadata/labels/a~1b"}],
                 ("metadata", "labels"), {"app": "web", "m~n": "tilde"}, id="pointer-escape-slash"),
    pytest.param([{"op": "replace", "path": "/metadata/labels/m~0n", "value": "t"}],
                 ("metadata", "labels", "m~n"), "t", id="pointer-escape-tilde"),
    pytest.param([{"op": "add", "path": "/spec/containers/-", "value": {"name": "c"}}],
                 ("spec", "containers", 2, "name"), "c", id="dash-appends"),
    pytest.param([{"op": "add", "path": "/spec/containers/0", "value": {"name": "first"}}],
                 ("spec", "containers"), [{"name": "first"}, {"name": "app", "image": "nginx:1.27"},
                                          {"name": "side", "image": "busybox"}], id="add-inserts"),
    pytest.param([{"op": "add", "path": "/spec/containers/2", "value": {"name": "end"}}],
                 ("spec", "containers", 2, "name"), "end", id="add-at-length-appends"),
    pytest.param([{"op": "remove", "path": "/spec/containers/-1"}],
                 ("spec", "containers"), [{"name": "app", "image": "nginx:1.27"}], id="negative-index"),
    pytest.param([{"op": "remove", "path": "/spec/containers/0"}],
                 ("spec", "containers"), [{"name": "side", "image": "busybox"}], id="remove-element"),
    pytest.param([{"op": "move", "from": "/metadata/labels/app", "path": "/metadata/labels/name"}],
                 ("metadata", "labels"), {"name": "web", "a/b": "slash", "m~n": "tilde"}, id="move"),
    pytest.param([{"op": "move", "from": "/spec/containers/1", "path": "/spec/containers/0"}],
                 ("spec", "containers", 0, "name"), "side", id="move-within-list"),
    pytest.param([{"op": "copy", "from": "/spec/containers/0", "path": "/spec/containers/-"}],
                 ("spec", "containers", 2), {"name": "app", "image": "nginx:1.27"}, id="copy"),
    pytest.param([{"op": "copy", "from": "/metadata/nothing", "path": "/metadata/copied"}],
                 ("metadata",), {"name": "web", "copied": None,
                                 "labels": {"app": "web", "a/b": "slash", "m~n": "tilde"}},
                 id="copy-of-missing-member-is-null"),
    pytest.param([{"op": "test", "path": "/status/phase", "value": "Running"},
                  {"op": "replace", "path": "/status/phase", "value": "Failed"}],
                 ("status", "phase"), "Failed", id="test-passes"),
    pytest.param([{"op": "test", "path": "/metadata/missing", "value": None}],
                 ("status", "phase"), "Running", id="test-missing-against-null"),
    pytest.param([{"op": "add", "path": "/metadata/labels/x", "value": "1"},
                  {"op": "add", "path": "/metadata/labels/y", "value": "2"},
                  {"op": "remove", "path": "/metadata/labels/x"}],
                 ("metadata", "labels"), {"app": "web", "a/b": "slash", "m~n": "tilde", "y": "2"},
                 id="several-ops-one-path"),
    pytest.param(None, ("status", "phase"), "Running", id="null-patch-is-empty"),
    pytest.param([{"op": "replace", "path": "", "value": {"kind": "Pod"}}],
                 (), {"kind": "Pod"}, id="replace-whole-document"),
])
def test_apply(ops: Any, path: tuple[Any, ...], expected: Any) -> None:
    assert at(applied(pod(), ops), *path) == expected


def test_rollout_undo_patch() -> None:
    """kubectl rollout undo replaces the template and the annotations in one JSON patch."""
    doc = pod() | {"kind": "Deployment", "spec": {"replicas": 2, "template": {
        "metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "app", "image": "v2"}]}}}}
    old_template = {"metadata": {"labels": {"app": "web"}},
                    "spec": {"containers": [{"name": "app", "image": "v1"}]}}
    ops = [{"op": "replace", "path": "/spec/template", "value": old_template},
           {"op": "replace", "path": "/metadata/annotations",
            "value": {"deployment.kubernetes.io/revision": "1"}}]
    result = applied(doc, ops)
    assert result["spec"] == {"replicas": 2, "template": old_template}
    assert result["metadata"]["annotations"] == {"deployment.kubernetes.io/revision": "1"}


@pytest.mark.parametrize("ops", [
    pytest.param([{"op": "test", "path": "/status/phase", "value": "Pending"}], id="test-fails"),
    pytest.param([{"op": "test", "path": "/status/phase"}], id="test-without-value"),
    pytest.param([{"op": "test", "path": "/spec/tolerations", "value": {}}], id="test-list-vs-map"),
    pytest.param([{"op": "test", "path": "/metadata/name", "value": 1}], id="test-type-differs"),
    pytest.param([{"op": "remove", "path": "/metadata/nothing"}], id="remove-missing"),
    pytest.param([{"op": "add", "path": "/nothing/here", "value": 1}], id="missing-parent"),
    pytest.param([{"op": "add", "path": "/metadata/name/x", "value": 1}], id="parent-is-scalar"),
    pytest.param([{"op": "replace", "path": "/spec/containers/5", "value": {}}], id="index-too-big"),
    pytest.param([{"op": "add", "path": "/spec/containers/x", "value": {}}], id="index-not-number"),
    pytest.param([{"op": "remove", "path": "/spec/containers/-"}], id="dash-remove"),
    pytest.param([{"op": "add", "path": "", "value": {}}], id="add-empty-path"),
    pytest.param([{"op": "add", "value": 1}], id="no-path"),
    pytest.param([{"op": "move", "path": "/a"}], id="move-no-from"),
    pytest.param([{"op": "frobnicate", "path": "/a"}], id="unknown-op"),
    pytest.param([{"path": "/a"}], id="no-op"),
    pytest.param([None], id="null-operation"),
    pytest.param([{"op": "replace", "path": "", "value": [1]}], id="document-becomes-list"),
    pytest.param([{"op": "add", "path": "/metadata/labels/x", "value": "1"},
                  {"op": "test", "path": "/metadata/labels/x", "value": "2"}], id="later-op-fails"),
])
def test_unprocessable(ops: list[Any]) -> None:
    doc = pod()
    with pytest.raises(patch_errors.Unprocessable) as caught:
        applied(doc, ops)
    status = caught.value.status()
    assert (status["code"], status["reason"]) == (422, "Invalid")
    assert status["message"] == "the server rejected our request due to an error in our request"
    assert isinstance(caught.value, errors.Invalid)


@pytest.mark.parametrize("ops, message", [
    ({"op": "add"}, "json: cannot unmarshal object into Go value of type jsonpatch.Patch"),
    ("[]", "json: cannot unmarshal string into Go value of type jsonpatch.Patch"),
    (["add"], "json: cannot unmarshal string into Go value of type jsonpatch.Operation"),
    ([[]], "json: cannot unmarshal array into Go value of type jsonpatch.Operation"),
], ids=["object", "string", "string-op", "array-op"])
def test_malformed_patch_is_bad_request(ops: Any, message: str) -> None:
    with pytest.raises(errors.BadRequest) as caught:
        jsonpatch.apply(pod(), ops)
    assert caught.value.code == 400
    assert caught.value.message == message


def test_too_many_operations() -> None:
    ops = [{"op": "test", "path": "/kind", "value": "Pod"}] * (jsonpatch.MAX_OPERATIONS + 1)
    with pytest.raises(errors.RequestEntityTooLarge) as caught:
        jsonpatch.apply(pod(), ops)
    assert caught.value.message == "The allowed maximum operations in a JSON patch is 10000, got 10001"


def test_untouched_subtrees_are_shared_not_copied() -> None:
    doc = pod()
    result = applied(doc, [{"op": "replace", "path": "/metadata/labels/app", "value": "x"}])
    assert result["spec"] is doc["spec"]
    assert result["status"] is doc["status"]
    assert result["metadata"] is not doc["metadata"]


def test_inserted_values_are_copied_before_later_writes() -> None:
    value = {"k": "v"}
    ops = [{"op": "add", "path": "/metadata/annotations", "value": value},
           {"op": "add", "path": "/metadata/annotations/k2", "value": "v2"}]
    result = applied(pod(), ops)
    assert result["metadata"]["annotations"] == {"k": "v", "k2": "v2"}
    assert value == {"k": "v"}


def test_copy_is_deep() -> None:
    result = applied(pod(), [{"op": "copy", "from": "/spec/containers/0", "path": "/spec/containers/-"}])
    result["spec"]["containers"][2]["image"] = "changed"
    assert result["spec"]["containers"][0]["image"] == "nginx:1.27"


@pytest.mark.parametrize("a, b, equal", [
    ({"x": [1, {"y": None}]}, {"x": [1, {"y": None}]}, True),
    ({"x": 1}, {"x": True}, False),
    ({"x": 1}, {"x": 1.5}, False),
    ([1, 2], [2, 1], False),
    ({"x": 1}, {"x": 1, "y": 2}, False),
    ("a", "a", True),
])
def test_json_equal(a: Any, b: Any, equal: bool) -> None:
    assert jsonpatch.json_equal(a, b) is equal
