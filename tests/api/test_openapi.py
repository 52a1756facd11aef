"""OpenAPI v3 documents: what kubectl apply/create/explain read from /openapi/v3."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import orjson
import pytest

from kubelite.api import openapi, openapi_schemas, registry

Obj = dict[str, Any]
REF = "#/components/schemas/"
CRONTAB = "com.example.stable.v1.CronTab"


def _crd_type(*, schema: Obj | None = None, version: str = "v1") -> registry.ResourceType:
    spec = {"type": "object", "properties": {"cronSpec": {"type": "string"}}}
    return registry.ResourceType(
        group="stable.example.com", version=version, kind="CronTab", plural="crontabs",
        namespaced=True, subresources=("status", "scale"),
        crd={"openAPIV3Schema": schema or {"type": "object", "properties": {"spec": spec}}})


def _nodes(doc: Any) -> Iterator[Obj]:
    stack = [doc]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            yield node
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)


def _schema_nodes(schema: Obj) -> Iterator[Obj]:
    """Every (sub)schema of a schema; property names are not schemas themselves."""
    yield schema
    subs = [*(schema.get("properties") or {}).values(), *schema.get("allOf", ()),
            *schema.get("oneOf", ()), *schema.get("anyOf", ())]
    subs += [schema[k] for k in ("items", "additionalProperties")
             if isinstance(schema.get(k), dict)]
    for sub in subs:
        yield from _schema_nodes(sub)


def _operations(doc: Obj) -> Iterator[tuple[str, str, Obj]]:
    for path, item in doc["paths"].items():
        for method in ("get", "put", "post", "delete", "patch"):
            if method in item:
                yield path, method, item[method]


_REG = registry.Registry()
_REG.add(_crd_type())
SERVED = openapi.served_paths(_REG)


def test_index_lists_every_group_version_with_its_hash() -> None:
    idx = openapi.index(_REG)
    expected = {"api", "apis", "api/v1", "apis/apps/v1", "apis/autoscaling/v1",
                "apis/autoscaling/v2", "apis/apps", "apis/stable.example.com/v1"}
    assert expected <= set(idx["paths"])
    for group, versions in _REG.group_versions().items():
        for v in versions:
            assert (f"apis/{group}/{v}" if group else f"api/{v}") in idx["paths"]
    for path, entry in idx["paths"].items():
        got = openapi.document_bytes(_REG, path)
        assert got is not None
        data, digest = got
        assert entry["serverRelativeURL"] == f"/openapi/v3/{path}?hash={digest}"
        assert digest == openapi.content_hash(data) and len(digest) == 128


@pytest.mark.parametrize("path", SERVED)
def test_every_reference_resolves(path: str) -> None:
    doc = openapi.document(_REG, path)
    assert doc is not None
    assert doc["openapi"] == "3.0.0"
    assert doc["info"] == {"title": "Kubernetes", "version": "v1.32.4"}
    components = doc["components"]["schemas"]
    refs = [n["$ref"] for n in _nodes(doc) if isinstance(n.get("$ref"), str)]
    assert refs
    for ref in refs:
        assert ref.startswith(REF), ref
        assert ref.removeprefix(REF) in components, ref


@pytest.mark.parametrize("path", SERVED)
def test_schemas_are_openapi_3_0(path: str) -> None:
    doc = openapi.document(_REG, path)
    assert doc is not None
    for schema in doc["components"]["schemas"].values():
        for node in _schema_nodes(schema):
            assert not isinstance(node.get("type"), list), node
            assert "nullable" not in node, node
            assert "$defs" not in str(node.get("$ref", "")), node


def _served_kinds() -> list[tuple[str, registry.ResourceType]]:
    out = []
    for rt in _REG:
        path = f"apis/{rt.group}/{rt.version}" if rt.group else f"api/{rt.version}"
        out.append((path, rt))
    return out


@pytest.mark.parametrize(("path", "rt"), _served_kinds(),
                         ids=[f"{rt.api_version}/{rt.kind}" for _, rt in _served_kinds()])
def test_every_kind_has_a_schema_with_its_gvk(path: str, rt: registry.ResourceType) -> None:
    doc = openapi.document(_REG, path)
    assert doc is not None
    kinds = {rt.kind, rt.list_kind} if "list" in rt.verbs else {rt.kind}
    found = set()
    for schema in doc["components"]["schemas"].values():
        for gvk in schema.get("x-kubernetes-group-version-kind", ()):
            if (gvk["group"], gvk["version"]) == (rt.group, rt.version):
                found.add(gvk["kind"])
    assert kinds <= found


@pytest.mark.parametrize(("path", "rt"), _served_kinds(),
                         ids=[f"{rt.api_version}/{rt.kind}" for _, rt in _served_kinds()])
def test_patch_operations_carry_what_kubectl_checks(path: str, rt: registry.ResourceType) -> None:
    doc = openapi.document(_REG, path)
    assert doc is not None
    gvk = {"group": rt.group, "version": rt.version, "kind": rt.kind}
    patches = [op for _, m, op in _operations(doc)
               if m == "patch" and op["x-kubernetes-group-version-kind"] == gvk]
    if "patch" not in rt.verbs:
        assert patches == []
        return
    assert patches
    for op in patches:
        assert op["x-kubernetes-action"] == "patch"
        names = {p["name"] for p in op["parameters"] if p["in"] == "query"}
        assert {"fieldValidation", "dryRun", "fieldManager", "force"} <= names
        types = set(op["requestBody"]["content"])
        assert {"application/json-patch+json", "application/merge-patch+json",
                "application/apply-patch+yaml"} <= types
        assert ("application/strategic-merge-patch+json" in types) == (rt.crd is None)


@pytest.mark.parametrize("path", [p for p in SERVED if p.startswith("api/") or p.count("/") == 2])
def test_every_operation_is_tagged_with_action_and_gvk(path: str) -> None:
    doc = openapi.document(_REG, path)
    assert doc is not None
    for p, method, op in _operations(doc):
        if p.endswith("/"):
            continue  # the group/version's own APIResourceList
        assert op["x-kubernetes-action"], (p, method)
        assert set(op["x-kubernetes-group-version-kind"]) == {"group", "version", "kind"}


def test_deployment_paths_and_operations() -> None:
    doc = openapi.group_version_doc(_REG, "apps", "v1")
    assert doc is not None
    item = doc["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments/{name}"]
    assert {p["name"] for p in item["parameters"]} == {"name", "namespace", "pretty"}
    assert item["patch"]["operationId"] == "patchAppsV1NamespacedDeployment"
    collection = doc["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments"]
    assert {m: collection[m]["x-kubernetes-action"] for m in ("get", "post", "delete")} == {
        "get": "list", "post": "post", "delete": "deletecollection"}
    scale = doc["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments/{name}/scale"]
    assert scale["patch"]["x-kubernetes-group-version-kind"] == {
        "group": "autoscaling", "version": "v1", "kind": "Scale"}
    assert "/apis/apps/v1/deployments" in doc["paths"]


def test_converted_schemas_look_like_upstream() -> None:
    doc = openapi.group_version_doc(_REG, "apps", "v1")
    assert doc is not None
    schemas = doc["components"]["schemas"]
    deployment = schemas["io.k8s.api.apps.v1.Deployment"]
    assert deployment["type"] == "object"
    assert deployment["properties"]["apiVersion"] == {
        "description": deployment["properties"]["apiVersion"]["description"], "type": "string"}
    metadata = deployment["properties"]["metadata"]
    assert metadata["allOf"] == [{"$ref": REF + "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"}]
    assert metadata["description"]
    containers = schemas["io.k8s.api.core.v1.PodSpec"]["properties"]["containers"]
    assert containers["x-kubernetes-patch-merge-key"] == "name"
    assert schemas["io.k8s.apimachinery.pkg.util.intstr.IntOrString"]["format"] == "int-or-string"
    delete_gvks = schemas["io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions"][
        "x-kubernetes-group-version-kind"]
    assert {"group": "apps", "kind": "DeleteOptions", "version": "v1"} in delete_gvks
    assert "io.k8s.apimachinery.pkg.apis.meta.v1.WatchEvent" in schemas


def test_custom_resource_document() -> None:
    doc = openapi.group_version_doc(_REG, "stable.example.com", "v1")
    assert doc is not None
    schemas = doc["components"]["schemas"]
    crontab = schemas[CRONTAB]
    assert crontab["x-kubernetes-group-version-kind"] == [
        {"group": "stable.example.com", "kind": "CronTab", "version": "v1"}]
    assert crontab["properties"]["metadata"]["allOf"] == [
        {"$ref": REF + openapi_schemas.OBJECT_META}]
    assert crontab["properties"]["spec"]["properties"]["cronSpec"] == {"type": "string"}
    listed = schemas[CRONTAB + "List"]
    assert listed["properties"]["items"]["items"] == {"$ref": REF + CRONTAB}
    assert listed["x-kubernetes-group-version-kind"][0]["kind"] == "CronTabList"
    assert "/apis/stable.example.com/v1/namespaces/{namespace}/crontabs/{name}/scale" in doc["paths"]


def test_unpublished_kinds_get_an_open_schema() -> None:
    doc = openapi.group_version_doc(registry.Registry(), "metrics.k8s.io", "v1beta1")
    assert doc is not None
    kinds = {g["kind"] for s in doc["components"]["schemas"].values()
             for g in s.get("x-kubernetes-group-version-kind", ())}
    assert {"PodMetrics", "PodMetricsList", "NodeMetrics", "NodeMetricsList"} <= kinds


@pytest.mark.parametrize("path", ["apis/nope.example.com/v1", "apis/apps/v9", "api/v2",
                                  "apis/nope.example.com", "version", "apis/apps/v1/x"])
def test_unknown_paths_are_none(path: str) -> None:
    assert openapi.document(_REG, path) is None
    assert openapi.document_bytes(_REG, path) is None


def test_root_documents() -> None:
    api = openapi.document(_REG, "api")
    apis = openapi.document(_REG, "apis")
    group = openapi.document(_REG, "apis/apps")
    assert api is not None and apis is not None and group is not None
    assert list(api["paths"]) == ["/api/"]
    assert list(apis["paths"]) == ["/apis/"]
    assert list(group["paths"]) == ["/apis/apps/"]


def test_document_bytes_are_the_document() -> None:
    got = openapi.document_bytes(_REG, "apis/apps/v1")
    assert got is not None
    assert orjson.loads(got[0]) == openapi.group_version_doc(_REG, "apps", "v1")


def test_a_crd_change_rebuilds_only_its_group_version() -> None:
    reg = registry.Registry()
    reg.add(_crd_type())
    apps = openapi.group_version_doc(reg, "apps", "v1")
    before = openapi.index(reg)["paths"]
    custom = openapi.group_version_doc(reg, "stable.example.com", "v1")
    assert openapi.group_version_doc(reg, "stable.example.com", "v1") is custom

    schema = {"type": "object", "properties": {"spec": {"type": "object", "properties": {
        "image": {"type": "string"}}}}}
    reg.add(_crd_type(schema=schema), replace=True)
    changed = openapi.group_version_doc(reg, "stable.example.com", "v1")
    assert changed is not None and changed is not custom
    assert "image" in changed["components"]["schemas"][CRONTAB]["properties"]["spec"]["properties"]
    assert openapi.group_version_doc(reg, "apps", "v1") is apps
    after = openapi.index(reg)["paths"]
    assert {p for p in after if after[p] != before[p]} == {"apis/stable.example.com/v1"}

    reg.remove("stable.example.com", "v1", "crontabs")
    assert openapi.group_version_doc(reg, "stable.example.com", "v1") is None
    assert "apis/stable.example.com/v1" not in openapi.index(reg)["paths"]


def test_building_every_document_is_fast_and_cached_fetches_are_cheap() -> None:
    openapi_schemas.builtin.cache_clear()
    reg = registry.Registry()
    start = time.perf_counter()
    openapi.index(reg)
    assert time.perf_counter() - start < 2.0
    doc = openapi.group_version_doc(reg, "", "v1")
    start = time.perf_counter()
    for _ in range(1000):
        assert openapi.group_version_doc(reg, "", "v1") is doc
    assert time.perf_counter() - start < 0.5  # well under a millisecond each, no rebuild
