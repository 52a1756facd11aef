"""The OpenAPI v3 documents of the API (`/openapi/v3` and one document per group/version).

`index(registry)` lists every document path ("api", "apis", "apis/<g>", "api/v1",
"apis/<g>/<v>") with a `serverRelativeURL` carrying the content hash of that document;
`document(registry, path)` / `document_bytes(registry, path)` return it.

Caching: documents are built lazily and kept per registry (weakly) and per path, keyed on
the resource types the path covers (and the identity of each custom resource's `crd`
entry, which the CRD registrar replaces rather than mutates). A CRD change therefore
rebuilds only its own group/version; a cached fetch costs one scan of the registry (tens
of entries) plus a dict lookup. Returned documents are shared: treat them as read-only.
The built-in schema conversion itself is done once per process (openapi_schemas.builtin).
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import weakref
from typing import Any

import orjson

from kubelite.api import discovery, openapi_paths, openapi_schemas, schemas
from kubelite.api import registry as registry_mod

Obj = dict[str, Any]
Registry = registry_mod.Registry
ResourceType = registry_mod.ResourceType

INFO = {"title": "Kubernetes", "version": "v1.32.4"}
CONTENT_TYPE = "application/json"


@dataclasses.dataclass(frozen=True)
class _Entry:
    key: tuple[object, ...]
    pins: tuple[object, ...]  # keeps keyed-by-identity objects alive, so ids stay unique
    doc: Obj
    data: bytes
    hash: str


_caches: weakref.WeakKeyDictionary[Registry, dict[str, _Entry]] = weakref.WeakKeyDictionary()


def content_hash(data: bytes) -> str:
    """Upstream's document hash: SHA-512 of the served JSON, upper-case hex."""
    return hashlib.sha512(data).hexdigest().upper()


def index(registry: Registry) -> Obj:
    """The `/openapi/v3` discovery document (builds any document not yet cached)."""
    paths = {}
    for path in served_paths(registry):
        entry = _entry(registry, path)
        if entry is not None:
            paths[path] = {"serverRelativeURL": f"/openapi/v3/{path}?hash={entry.hash}"}
    return {"paths": paths}


def served_paths(registry: Registry) -> list[str]:
    """Every document path, in sorted order."""
    out = ["api", "apis"]
    for group, versions in registry.group_versions().items():
        if group:
            out.append(f"apis/{group}")
        out.extend(_gv_path(group, v) for v in versions)
    return sorted(out)


def _gv_path(group: str, version: str) -> str:
    return f"apis/{group}/{version}" if group else f"api/{version}"


def document(registry: Registry, path: str) -> Obj | None:
    """The document at `/openapi/v3/<path>`, or None when no such path is served."""
    entry = _entry(registry, path.strip("/"))
    return entry.doc if entry is not None else None


def document_bytes(registry: Registry, path: str) -> tuple[bytes, str] | None:
    """The served JSON bytes of a document and their hash, or None when not served."""
    entry = _entry(registry, path.strip("/"))
    return (entry.data, entry.hash) if entry is not None else None


def group_version_doc(registry: Registry, group: str, version: str) -> Obj | None:
    """The OpenAPI 3.0 document of one group/version, or None when it is not served."""
    return document(registry, _gv_path(group, version))


def _entry(registry: Registry, path: str) -> _Entry | None:
    target = _target(registry, path)
    if target is None:
        return None
    types = sorted(target[2], key=lambda rt: rt.plural)
    key = tuple((rt, id(rt.crd)) for rt in types)
    cache = _caches.setdefault(registry, {})
    entry = cache.get(path)
    if entry is None or entry.key != key:
        doc = _build(registry, path, (target[0], target[1], types))
        data = orjson.dumps(doc, option=orjson.OPT_SORT_KEYS)
        pins = tuple(rt.crd for rt in types)
        entry = cache[path] = _Entry(key, pins, doc, data, content_hash(data))
    return entry


def _target(registry: Registry, path: str) -> tuple[str, str, list[ResourceType]] | None:
    """(group, version, types) a path documents; version "" for the root/group documents."""
    parts = path.split("/")
    if path in ("api", "apis"):
        return ("", "", [])
    if parts[0] == "apis" and len(parts) == 2:
        return (parts[1], "", []) if discovery.api_group(registry, parts[1]) else None
    if parts[0] == "api" and len(parts) == 2:
        group, version = "", parts[1]
    elif parts[0] == "apis" and len(parts) == 3 and parts[1]:
        group, version = parts[1], parts[2]
    else:
        return None
    types = registry.in_group_version(group, version)
    return (group, version, types) if types else None


def _build(registry: Registry, path: str, target: tuple[str, str, list[ResourceType]]) -> Obj:
    group, version, types = target
    if not version:
        paths = _root_paths(path, group)
        extra: dict[str, Obj] = {}
    else:
        extra = {}
        for rt in types:
            extra.update(_own_schemas(rt))
        schema_of = functools.partial(_schema_name, registry)
        paths = openapi_paths.resources_path(group, version)
        for rt in types:
            paths.update(openapi_paths.resource_paths(rt, schema_of))
    roots = set(openapi_schemas.references(paths))
    return {"openapi": "3.0.0", "info": dict(INFO), "paths": dict(sorted(paths.items())),
            "components": {"schemas": openapi_schemas.closure(roots, extra)}}


def _root_paths(path: str, group: str) -> dict[str, Obj]:
    """The single discovery operation of the "api", "apis" and "apis/<g>" documents."""
    if path == "api":
        url, op, kind, tags = "/api/", "getCoreAPIVersions", "APIVersions", ["core"]
    elif path == "apis":
        url, op, kind, tags = "/apis/", "getAPIVersions", "APIGroupList", ["apis"]
    else:
        camel = openapi_paths.tag(group, "").rstrip("_")
        url, kind, tags = f"/apis/{group}/", "APIGroup", [camel]
        op = f"get{camel[:1].upper()}{camel[1:]}APIGroup"
    body = {"$ref": openapi_schemas.REF_PREFIX + openapi_schemas.META + kind}
    media = ("application/json", "application/yaml", "application/vnd.kubernetes.protobuf")
    responses = {"200": {"content": {m: {"schema": body} for m in media}, "description": "OK"},
                 "401": {"description": "Unauthorized"}}
    return {url: {"get": {"description": f"get {kind}", "operationId": op,
                          "responses": responses, "tags": tags}}}


@functools.cache
def _builtin_names() -> dict[tuple[str, str, str], str]:
    """(group, version, kind) -> bundled definition name, for single-kind definitions."""
    out: dict[tuple[str, str, str], str] = {}
    for name, schema in schemas.definitions().items():
        gvks = schema.get("x-kubernetes-group-version-kind") or []
        if len(gvks) == 1:
            g = gvks[0]
            out[(g["group"], g["version"], g["kind"])] = name
    return out


def _own(rt: ResourceType) -> bool:
    """Whether the kind's schema is generated here rather than bundled."""
    return rt.crd is not None or rt.schema_name not in schemas.definitions()


def _own_name(rt: ResourceType, kind: str) -> str:
    if rt.crd is None and rt.schema_name:
        return rt.schema_name.removesuffix(rt.kind) + kind
    return openapi_schemas.custom_name(rt.group, rt.version, kind)


def _schema_name(registry: Registry, group: str, version: str, kind: str) -> str | None:
    rt = registry.by_kind(group, version, kind)
    if rt is None and kind.endswith("List"):
        rt = registry.by_kind(group, version, kind.removesuffix("List"))
    if rt is not None and _own(rt):
        return _own_name(rt, kind)
    return _builtin_names().get((group, version, kind))


def _own_schemas(rt: ResourceType) -> dict[str, Obj]:
    """Schemas of a custom (or unpublished) kind and its list, by component name."""
    if not _own(rt):
        return {}
    gvk = {"group": rt.group, "kind": rt.kind, "version": rt.version}
    name = _own_name(rt, rt.kind)
    kind = (openapi_schemas.custom_resource(rt.crd, gvk) if rt.crd is not None
            else openapi_schemas.opaque_kind(gvk))
    out = {name: kind}
    if "list" in rt.verbs:
        list_gvk = {**gvk, "kind": rt.list_kind}
        out[_own_name(rt, rt.list_kind)] = openapi_schemas.list_of(name, list_gvk, rt.plural)
    return out
