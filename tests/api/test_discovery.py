"""Discovery documents: what kubectl's RESTMapper, `api-resources` and `get all` read."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from kubelite.api import discovery, registry

Obj = dict[str, Any]


def _crd_type(group: str = "stable.example.com", version: str = "v1") -> registry.ResourceType:
    return registry.ResourceType(
        group=group, version=version, kind="CronTab", plural="crontabs", namespaced=True,
        short_names=("ct",), categories=("all",), subresources=("status", "scale"),
        crd={"openAPIV3Schema": {"type": "object"}})


def _by_name(resources: list[Obj]) -> dict[str, Obj]:
    return {r["name"]: r for r in resources}


def test_api_versions_names_the_server() -> None:
    doc = discovery.api_versions("10.0.0.1:6443")
    assert doc == {"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": [
        {"clientCIDR": "0.0.0.0/0", "serverAddress": "10.0.0.1:6443"}]}


def test_group_list_has_named_groups_with_preferred_version() -> None:
    doc = discovery.api_group_list(registry.Registry())
    groups = {g["name"]: g for g in doc["groups"]}
    assert doc["kind"] == "APIGroupList" and doc["apiVersion"] == "v1"
    assert "" not in groups
    assert doc["groups"][0]["name"] == "apps"
    assert groups["autoscaling"]["versions"] == [
        {"groupVersion": "autoscaling/v2", "version": "v2"},
        {"groupVersion": "autoscaling/v1", "version": "v1"}]
    assert groups["autoscaling"]["preferredVersion"] == {
        "groupVersion": "autoscaling/v2", "version": "v2"}


@pytest.mark.parametrize("group", ["", "nope.example.com"], ids=["core", "unknown"])
def test_api_group_unknown_is_none(group: str) -> None:
    assert discovery.api_group(registry.Registry(), group) is None


def test_api_group_document() -> None:
    doc = discovery.api_group(registry.Registry(), "apps")
    assert doc == {"kind": "APIGroup", "apiVersion": "v1", "name": "apps",
                   "versions": [{"groupVersion": "apps/v1", "version": "v1"}],
                   "preferredVersion": {"groupVersion": "apps/v1", "version": "v1"}}


@pytest.mark.parametrize(("group", "version", "name", "expected"), [
    ("", "v1", "pods", {"singularName": "pod", "namespaced": True, "kind": "Pod",
                        "shortNames": ["po"], "categories": ["all"]}),
    ("", "v1", "pods/log", {"kind": "Pod", "verbs": ["get"]}),
    ("", "v1", "pods/exec", {"kind": "PodExecOptions", "verbs": ["create", "get"]}),
    ("", "v1", "pods/binding", {"kind": "Binding", "verbs": ["create"]}),
    ("", "v1", "pods/eviction", {"group": "policy", "version": "v1", "kind": "Eviction",
                                 "verbs": ["create"]}),
    ("", "v1", "pods/status", {"kind": "Pod", "verbs": ["get", "patch", "update"]}),
    ("", "v1", "serviceaccounts/token", {"group": "authentication.k8s.io", "version": "v1",
                                         "kind": "TokenRequest"}),
    ("", "v1", "namespaces/finalize", {"kind": "Namespace", "verbs": ["update"]}),
    ("", "v1", "nodes", {"namespaced": False, "shortNames": ["no"]}),
    ("apps", "v1", "deployments/scale", {"group": "autoscaling", "version": "v1",
                                         "kind": "Scale", "verbs": ["get", "patch", "update"]}),
    ("apps", "v1", "deployments", {"shortNames": ["deploy"], "categories": ["all"],
                                   "verbs": ["create", "delete", "deletecollection", "get",
                                             "list", "patch", "update", "watch"]}),
    ("authorization.k8s.io", "v1", "selfsubjectaccessreviews", {"verbs": ["create"]}),
], ids=lambda v: v if isinstance(v, str) and "/" in v else None)
def test_resource_list_entries(group: str, version: str, name: str, expected: Obj) -> None:
    doc = discovery.resource_list(registry.Registry(), group, version)
    assert doc is not None
    entry = _by_name(doc["resources"])[name]
    assert {k: entry.get(k) for k in expected} == expected


def test_resource_list_frame_and_ordering() -> None:
    doc = discovery.resource_list(registry.Registry(), "apps", "v1")
    assert doc is not None
    assert (doc["kind"], doc["apiVersion"], doc["groupVersion"]) == (
        "APIResourceList", "v1", "apps/v1")
    names = [r["name"] for r in doc["resources"]]
    assert names == sorted(names)
    entries = _by_name(doc["resources"])
    assert entries["deployments"]["storageVersionHash"]
    assert "group" not in entries["deployments/status"]


def test_review_types_have_no_storage_hash() -> None:
    doc = discovery.resource_list(registry.Registry(), "authorization.k8s.io", "v1")
    assert doc is not None
    assert "storageVersionHash" not in _by_name(doc["resources"])["selfsubjectaccessreviews"]


@pytest.mark.parametrize(("group", "version"), [("", "v2"), ("apps", "v9"), ("nope", "v1")])
def test_resource_list_unknown_is_none(group: str, version: str) -> None:
    assert discovery.resource_list(registry.Registry(), group, version) is None


@pytest.mark.parametrize("version", ["v2", "v2beta1"])
def test_aggregated_legacy_is_the_core_group(version: str) -> None:
    doc = discovery.aggregated(registry.Registry(), legacy=True, version=version)
    assert doc["kind"] == "APIGroupDiscoveryList"
    assert doc["apiVersion"] == f"apidiscovery.k8s.io/{version}"
    [item] = doc["items"]
    assert "name" not in item["metadata"]
    [v1] = item["versions"]
    assert (v1["version"], v1["freshness"]) == ("v1", "Current")
    pods = {r["resource"]: r for r in v1["resources"]}["pods"]
    assert pods["responseKind"] == {"group": "", "version": "v1", "kind": "Pod"}
    subs = {s["subresource"]: s for s in pods["subresources"]}
    assert subs["eviction"] == {"subresource": "eviction", "verbs": ["create"],
                                "responseKind": {"group": "policy", "version": "v1",
                                                 "kind": "Eviction"}}
    assert subs["log"]["verbs"] == ["get"]


def test_aggregated_rejects_unknown_version() -> None:
    with pytest.raises(ValueError, match="v3"):
        discovery.aggregated(registry.Registry(), legacy=False, version="v3")


def _aggregated_resources(reg: registry.Registry) -> dict[tuple[str, str, str], Obj]:
    out = {}
    for legacy in (True, False):
        for item in discovery.aggregated(reg, legacy=legacy)["items"]:
            group = item["metadata"].get("name", "")
            for v in item["versions"]:
                for r in v["resources"]:
                    key = (group, v["version"], r["resource"])
                    assert key not in out, key
                    out[key] = r
    return out


def test_aggregated_lists_every_registered_resource_as_registered() -> None:
    reg = registry.Registry()
    reg.add(_crd_type())
    found = _aggregated_resources(reg)
    assert len(found) == len(list(reg))
    for rt in reg:
        r = found[(rt.group, rt.version, rt.plural)]
        assert r["scope"] == ("Namespaced" if rt.namespaced else "Cluster")
        assert r["verbs"] == sorted(rt.verbs)
        assert r.get("shortNames", []) == list(rt.short_names)
        assert r.get("categories", []) == list(rt.categories)
        assert r["singularResource"] == rt.kind.lower()
        assert [s["subresource"] for s in r.get("subresources", [])] == sorted(rt.subresources)


def test_all_category_is_what_kubectl_get_all_shows() -> None:
    found = _aggregated_resources(registry.Registry())
    in_all = {plural for (_, _, plural), r in found.items() if "all" in r.get("categories", ())}
    assert in_all == {"pods", "services", "replicationcontrollers", "deployments",
                      "replicasets", "statefulsets", "daemonsets", "jobs", "cronjobs",
                      "horizontalpodautoscalers"}


@pytest.mark.parametrize(("short", "plural"), [
    ("deploy", "deployments"), ("po", "pods"), ("svc", "services"), ("ns", "namespaces"),
    ("crd", "customresourcedefinitions"), ("hpa", "horizontalpodautoscalers")])
def test_short_names(short: str, plural: str) -> None:
    found = _aggregated_resources(registry.Registry())
    assert {p for (_, _, p), r in found.items() if short in r.get("shortNames", ())} == {plural}


def test_custom_group_scale_subresource_and_versions() -> None:
    reg = registry.Registry()
    reg.add(_crd_type(version="v1beta1"))
    reg.add(_crd_type(version="v1"))
    [item] = [i for i in discovery.aggregated(reg, legacy=False)["items"]
              if i["metadata"]["name"] == "stable.example.com"]
    assert [v["version"] for v in item["versions"]] == ["v1", "v1beta1"]
    scale = {s["subresource"]: s for s in item["versions"][0]["resources"][0]["subresources"]}
    assert scale["scale"]["responseKind"] == {"group": "autoscaling", "version": "v1",
                                              "kind": "Scale"}


def test_metrics_group_is_built_in_and_served_last() -> None:
    reg = registry.Registry()
    reg.add(_crd_type())
    assert discovery.group_names(reg)[-2:] == ["stable.example.com", "metrics.k8s.io"]
    doc = discovery.resource_list(reg, "metrics.k8s.io", "v1beta1")
    assert doc is not None
    assert {r["name"]: (r["kind"], r["namespaced"], r["verbs"]) for r in doc["resources"]} == {
        "nodes": ("NodeMetrics", False, ["get", "list"]),
        "pods": ("PodMetrics", True, ["get", "list"])}
    assert not any("storageVersionHash" in r for r in doc["resources"])
    [item] = [i for i in discovery.aggregated(reg, legacy=False)["items"]
              if i["metadata"]["name"] == "metrics.k8s.io"]
    assert [(r["resource"], r["scope"], r["verbs"]) for r in item["versions"][0]["resources"]] == [
        ("nodes", "Cluster", ["get", "list"]), ("pods", "Namespaced", ["get", "list"])]


def test_etag_follows_content() -> None:
    reg = registry.Registry()
    before = discovery.etag(discovery.aggregated(reg, legacy=False))
    assert before == discovery.etag(discovery.aggregated(reg, legacy=False))
    reg.add(_crd_type())
    assert discovery.etag(discovery.aggregated(reg, legacy=False)) != before


def test_fingerprint_changes_with_the_registry() -> None:
    reg = registry.Registry()
    before = discovery.fingerprint(reg)
    assert discovery.fingerprint(registry.Registry()) == before
    reg.add(_crd_type())
    assert discovery.fingerprint(reg) != before


def test_serialized_is_memoized_until_the_registry_changes() -> None:
    reg = registry.Registry()
    first = discovery.serialized(reg, discovery.aggregated, legacy=False)
    assert first is not None
    assert orjson.loads(first[0]) == discovery.aggregated(reg, legacy=False)
    assert first[1] == discovery.etag(discovery.aggregated(reg, legacy=False))
    again = discovery.serialized(reg, discovery.aggregated, legacy=False)
    assert again is not None and again[0] is first[0]
    reg.add(_crd_type())
    changed = discovery.serialized(reg, discovery.aggregated, legacy=False)
    assert changed is not None and changed[1] != first[1]
    assert b"crontabs" in changed[0]


def test_serialized_unknown_is_none() -> None:
    assert discovery.serialized(registry.Registry(), discovery.resource_list, "x", "v1") is None
