"""RFC 7386 JSON merge patch (application/merge-patch+json)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from kubelite.api import errors
from kubelite.api.patch import mergepatch


@pytest.mark.parametrize("doc, patch, expected", [
    ({"a": "b"}, {"a": "c"}, {"a": "c"}),
    ({"a": "b"}, {"b": "c"}, {"a": "b", "b": "c"}),
    ({"a": "b"}, {"a": None}, {}),
    ({"a": "b", "b": "c"}, {"a": None}, {"b": "c"}),
    ({"a": ["b"]}, {"a": "c"}, {"a": "c"}),
    ({"a": "c"}, {"a": ["b"]}, {"a": ["b"]}),
    ({"a": {"b": "c"}}, {"a": {"b": "d", "c": None}}, {"a": {"b": "d"}}),
    ({"a": [{"b": "c"}]}, {"a": [1]}, {"a": [1]}),
    ({"e": None}, {"a": 1}, {"e": None, "a": 1}),
    ({}, {"a": {"bb": {"ccc": None}}}, {"a": {"bb": {}}}),
    ({"a": "x"}, {"a": {"b": None, "c": [{"d": None, "e": 1}, None]}},
     {"a": {"c": [{"e": 1}, None]}}),
    ({"a": {"b": 1}}, {"a": [{"c": None}]}, {"a": [{"c": None}]}),
    ({"a": 1}, {"missing": None}, {"a": 1}),
], ids=["replace-scalar", "add", "delete", "delete-one", "list-to-scalar", "scalar-to-list",
        "nested-merge", "lists-replaced", "keeps-unrelated-null", "new-map-nulls-dropped",
        "nulls-in-lists", "map-replaced-by-list-kept-verbatim", "delete-missing"])
def test_apply(doc: dict[str, Any], patch: dict[str, Any], expected: dict[str, Any]) -> None:
    before = copy.deepcopy((doc, patch))
    assert mergepatch.apply(doc, patch) == expected
    assert (doc, patch) == before


def test_scale_patch() -> None:
    """kubectl scale sends {"spec":{"replicas":N}} to the /scale subresource."""
    scale = {"kind": "Scale", "apiVersion": "autoscaling/v1", "metadata": {"name": "web"},
             "spec": {"replicas": 1}, "status": {"replicas": 1, "selector": "app=web"}}
    result = mergepatch.apply(scale, {"spec": {"replicas": 3}})
    assert result["spec"] == {"replicas": 3}
    assert result["status"] is scale["status"]


def test_lists_are_replaced_whole() -> None:
    """Unlike strategic merge, a merge patch replaces the finalizers list: [] clears it."""
    doc = {"metadata": {"finalizers": ["a", "b"]}}
    assert mergepatch.apply(doc, {"metadata": {"finalizers": []}}) == {"metadata": {"finalizers": []}}


@pytest.mark.parametrize("patch", [None, [], "x", 1], ids=["null", "list", "string", "number"])
def test_non_object_patch_is_bad_request(patch: Any) -> None:
    with pytest.raises(errors.BadRequest) as caught:
        mergepatch.apply({"a": 1}, patch)
    assert caught.value.message == "Invalid JSON Patch"
