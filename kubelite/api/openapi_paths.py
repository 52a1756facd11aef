"""OpenAPI 3.0 `paths` for one served resource: its REST operations, upstream-shaped.

Each operation carries `x-kubernetes-action` and `x-kubernetes-group-version-kind`; kubectl
finds a kind's patch operation by the latter and checks it accepts `fieldValidation`, and
offers strategic merge patch only when that content type is listed (built-in kinds only).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kubelite.api import discovery, openapi_params, openapi_schemas
from kubelite.api import registry as registry_mod

Obj = dict[str, Any]
# (group, version, kind) -> component schema name, or None when unpublished.
SchemaOf = Callable[[str, str, str], "str | None"]

STATUS = openapi_schemas.META + "Status"
DELETE_OPTIONS = openapi_schemas.META + "DeleteOptions"
PATCH = openapi_schemas.META + "Patch"
WATCH_EVENT = openapi_schemas.META + "WatchEvent"
RESOURCE_LIST = openapi_schemas.META + "APIResourceList"

_PATCH_TYPES = ("application/apply-patch+yaml", "application/json-patch+json",
                "application/merge-patch+json")
_STRATEGIC = "application/strategic-merge-patch+json"
_MEDIA = ("application/json", "application/yaml", "application/vnd.kubernetes.protobuf")
_STREAM = ("application/json;stream=watch", "application/vnd.kubernetes.protobuf;stream=watch")


def prefix(group: str, version: str) -> str:
    """The URL prefix of a group/version: /api/v1 or /apis/<group>/<version>."""
    return f"/apis/{group}/{version}" if group else f"/api/{version}"


def _camel_group(group: str) -> str:
    if not group:
        return "Core"
    return "".join(p[:1].upper() + p[1:] for p in group.removesuffix(".k8s.io").split("."))


def tag(group: str, version: str) -> str:
    """Upstream's operation tag: core_v1, apps_v1, rbacAuthorization_v1."""
    camel = _camel_group(group)
    return f"{camel[:1].lower()}{camel[1:]}_{version}"


class _Ops:
    """Builds the operations of one resource; holds what every operation shares."""

    def __init__(self, rt: registry_mod.ResourceType, schema_of: SchemaOf) -> None:
        self.rt, self.schema_of = rt, schema_of
        self.custom = rt.crd is not None
        self.ident = _camel_group(rt.group) + rt.version[:1].upper() + rt.version[1:]
        self.ns = "Namespaced" if rt.namespaced else ""
        self.kind_schema = schema_of(rt.group, rt.version, rt.kind)

    def content(self, schema: str | None, *, stream: bool = False) -> Obj:
        body = {"$ref": openapi_schemas.REF_PREFIX + schema} if schema else {"type": "string"}
        media = _MEDIA[:2] if self.custom else _MEDIA
        return {m: {"schema": body} for m in (*media, *(_STREAM if stream else ()))}

    def op(self, action: str, op_id: str, gvk: tuple[str, str, str], **fields: Any) -> Obj:
        desc = fields.pop("description", f"{action} {gvk[2]}")
        group, version, kind = gvk
        return {"description": desc, "operationId": op_id, **fields,
                "tags": [tag(self.rt.group, self.rt.version)], "x-kubernetes-action": action,
                "x-kubernetes-group-version-kind": {"group": group, "version": version,
                                                     "kind": kind}}

    def responses(self, schema: str | None, *codes: str, stream: bool = False) -> Obj:
        names = {"200": "OK", "201": "Created", "202": "Accepted"}
        out: Obj = {c: {"content": self.content(schema, stream=stream),
                        "description": names[c]} for c in codes}
        out["401"] = {"description": "Unauthorized"}
        return out

    def body(self, schema: str | None) -> Obj:
        return {"content": {"*/*": {"schema": {"$ref": openapi_schemas.REF_PREFIX + schema}
                                    if schema else {"type": "object"}}}, "required": True}

    def patch_body(self) -> Obj:
        types = _PATCH_TYPES if self.custom else (*_PATCH_TYPES, _STRATEGIC)
        schema = {"$ref": openapi_schemas.REF_PREFIX + PATCH}
        return {"content": {t: {"schema": schema} for t in sorted(types)}, "required": True}


def resource_paths(rt: registry_mod.ResourceType, schema_of: SchemaOf) -> dict[str, Obj]:
    """Every path of one resource (collection, item, all-namespaces, watch, subresources)."""
    ops = _Ops(rt, schema_of)
    base = prefix(rt.group, rt.version)
    scope = f"{base}/namespaces/{{namespace}}" if rt.namespaced else base
    collection, item = f"{scope}/{rt.plural}", f"{scope}/{rt.plural}/{{name}}"
    out = {collection: _collection(ops), item: _item(ops)}
    if "list" in rt.verbs and rt.namespaced:
        out[f"{base}/{rt.plural}"] = _all_namespaces(ops)
    if "watch" in rt.verbs:
        out.update(_watch_paths(ops, base))
    for sub in rt.subresources:
        out[f"{item}/{sub}"] = _subresource(ops, sub)
    return {p: v for p, v in out.items() if len(v) > 1}


def _gvk(ops: _Ops) -> tuple[str, str, str]:
    return (ops.rt.group, ops.rt.version, ops.rt.kind)


def _collection(ops: _Ops) -> Obj:
    rt, gvk, p = ops.rt, _gvk(ops), openapi_params
    out: Obj = {"parameters": p.path(rt.kind, namespaced=rt.namespaced, item=False)}
    list_schema = ops.schema_of(rt.group, rt.version, rt.list_kind)
    if "list" in rt.verbs:
        out["get"] = ops.op("list", f"list{ops.ident}{ops.ns}{rt.kind}", gvk,
                            parameters=p.query(p.LIST),
                            responses=ops.responses(list_schema, "200", stream=True))
    if "create" in rt.verbs:
        out["post"] = ops.op("post", f"create{ops.ident}{ops.ns}{rt.kind}", gvk,
                             parameters=p.query(p.WRITE), requestBody=ops.body(ops.kind_schema),
                             responses=ops.responses(ops.kind_schema, "200", "201", "202"))
    if "deletecollection" in rt.verbs:
        out["delete"] = ops.op("deletecollection",
                               f"delete{ops.ident}Collection{ops.ns}{rt.kind}", gvk,
                               parameters=p.query(p.DELETE_COLLECTION),
                               requestBody=_delete_body(), responses=ops.responses(STATUS, "200"))
    return out


def _delete_body() -> Obj:
    return {"content": {"*/*": {"schema": {"$ref": openapi_schemas.REF_PREFIX + DELETE_OPTIONS}}}}


def _item(ops: _Ops) -> Obj:
    rt, gvk, p, kind = ops.rt, _gvk(ops), openapi_params, ops.kind_schema
    ident = f"{ops.ident}{ops.ns}{rt.kind}"
    out: Obj = {"parameters": p.path(rt.kind, namespaced=rt.namespaced, item=True)}
    if "get" in rt.verbs:
        out["get"] = ops.op("get", f"read{ident}", gvk, responses=ops.responses(kind, "200"))
    if "update" in rt.verbs:
        out["put"] = ops.op("put", f"replace{ident}", gvk, parameters=p.query(p.WRITE),
                            requestBody=ops.body(kind),
                            responses=ops.responses(kind, "200", "201"))
    if "patch" in rt.verbs:
        out["patch"] = ops.op("patch", f"patch{ident}", gvk, parameters=p.query(p.PATCH),
                              requestBody=ops.patch_body(),
                              responses=ops.responses(kind, "200", "201"))
    if "delete" in rt.verbs:
        out["delete"] = ops.op("delete", f"delete{ident}", gvk, parameters=p.query(p.DELETE),
                               requestBody=_delete_body(),
                               responses=ops.responses(STATUS, "200", "202"))
    return out


def _all_namespaces(ops: _Ops) -> Obj:
    rt, p = ops.rt, openapi_params
    list_schema = ops.schema_of(rt.group, rt.version, rt.list_kind)
    return {"parameters": [*p.query(p.LIST), *p.path(rt.kind, namespaced=False, item=False)],
            "get": ops.op("list", f"list{ops.ident}{rt.kind}ForAllNamespaces", _gvk(ops),
                          responses=ops.responses(list_schema, "200", stream=True))}


def _watch_paths(ops: _Ops, base: str) -> dict[str, Obj]:
    rt, p, gvk = ops.rt, openapi_params, _gvk(ops)
    scope = f"{base}/watch/namespaces/{{namespace}}" if rt.namespaced else f"{base}/watch"
    listed = {"parameters": [*p.query(p.LIST),
                             *p.path(rt.kind, namespaced=rt.namespaced, item=False)],
              "get": ops.op("watchlist", f"watch{ops.ident}{ops.ns}{rt.kind}List", gvk,
                            responses=ops.responses(WATCH_EVENT, "200", stream=True))}
    one = {"parameters": [*p.query(p.LIST),
                          *p.path(rt.kind, namespaced=rt.namespaced, item=True)],
           "get": ops.op("watch", f"watch{ops.ident}{ops.ns}{rt.kind}", gvk,
                         responses=ops.responses(WATCH_EVENT, "200", stream=True))}
    out = {f"{scope}/{rt.plural}": listed, f"{scope}/{rt.plural}/{{name}}": one}
    if rt.namespaced:
        out[f"{base}/watch/{rt.plural}"] = {
            "parameters": [*p.query(p.LIST), *p.path(rt.kind, namespaced=False, item=False)],
            "get": ops.op("watchlist", f"watch{ops.ident}{rt.kind}ListForAllNamespaces", gvk,
                          responses=ops.responses(WATCH_EVENT, "200", stream=True))}
    return out


def _subresource(ops: _Ops, sub: str) -> Obj:
    rt, p = ops.rt, openapi_params
    gvk = discovery.subresource_kind(rt, sub)
    schema = None if sub == "log" else ops.schema_of(*gvk)  # logs are text/plain
    verbs = discovery.subresource_verbs(sub)
    name = f"{ops.ident}{ops.ns}{rt.kind}{sub[:1].upper()}{sub[1:]}"
    out: Obj = {"parameters": p.path(rt.kind, namespaced=rt.namespaced, item=True)}
    if sub in ("exec", "attach", "portforward", "proxy"):
        for method in ("get", "post"):
            out[method] = ops.op("connect", f"connect{method.title()}{name}", gvk,
                                 responses=ops.responses(None, "200"))
        return out
    if "get" in verbs:
        out["get"] = ops.op("get", f"read{name}", gvk, responses=ops.responses(schema, "200"))
    if "create" in verbs:
        out["post"] = ops.op("post", f"create{name}", gvk, parameters=p.query(p.WRITE),
                             requestBody=ops.body(schema),
                             responses=ops.responses(schema, "200", "201", "202"))
    if "update" in verbs:
        out["put"] = ops.op("put", f"replace{name}", gvk, parameters=p.query(p.WRITE),
                            requestBody=ops.body(schema),
                            responses=ops.responses(schema, "200", "201"))
    if "patch" in verbs:
        out["patch"] = ops.op("patch", f"patch{name}", gvk, parameters=p.query(p.PATCH),
                              requestBody=ops.patch_body(),
                              responses=ops.responses(schema, "200", "201"))
    return out


def resources_path(group: str, version: str) -> dict[str, Obj]:
    """The `<prefix>/` path answering the group/version's APIResourceList."""
    gv = (group, version, "APIResourceList")
    return {prefix(group, version) + "/": {"get": {
        "description": "get available resources", "operationId":
            f"get{_camel_group(group)}{version[:1].upper()}{version[1:]}APIResources",
        "responses": {"200": {"content": {m: {"schema": {"$ref": openapi_schemas.REF_PREFIX
                                                          + RESOURCE_LIST}}
                                          for m in _MEDIA}, "description": "OK"},
                      "401": {"description": "Unauthorized"}},
        "tags": [tag(*gv[:2])]}}}
