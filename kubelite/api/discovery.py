"""API discovery documents, built from the registry as plain dicts (no HTTP here).

Legacy discovery (`/api`, `/apis`, `/apis/<g>`, `/api/v1`, `/apis/<g>/<v>`) and aggregated
discovery (`APIGroupDiscoveryList`, apidiscovery.k8s.io v2 and v2beta1) in upstream's shapes.

Cost: every function walks the registry once (tens of entries, 0.1-0.2 ms), so they are
cheap enough to call per request. `serialized(registry, fn, ...)` returns the JSON bytes and
ETag of any of them, memoized on `fingerprint(registry)` (a ~20 us check), for the HTTP
layer. Returned dicts are fresh and may be mutated by the caller.
"""

from __future__ import annotations

import base64
import hashlib
import weakref
from collections.abc import Callable
from typing import Any

import orjson

from kubelite.api import registry as registry_mod

Obj = dict[str, Any]
Registry = registry_mod.Registry
ResourceType = registry_mod.ResourceType

# Upstream orders /apis by APIService group priority; these are the built-in groups in that
# order. Anything else (custom resources, aggregated APIs) follows alphabetically, with
# metrics.k8s.io (priority 100, below CRDs' 1000) last.
_GROUP_ORDER = (
    "apiregistration.k8s.io", "apps", "events.k8s.io", "authentication.k8s.io",
    "authorization.k8s.io", "autoscaling", "batch", "certificates.k8s.io",
    "networking.k8s.io", "policy", "rbac.authorization.k8s.io", "storage.k8s.io",
    "admissionregistration.k8s.io", "apiextensions.k8s.io", "scheduling.k8s.io",
    "coordination.k8s.io", "node.k8s.io", "discovery.k8s.io", "resource.k8s.io",
    "flowcontrol.apiserver.k8s.io",
)
_LOW_PRIORITY = ("metrics.k8s.io",)

_RW = ("get", "patch", "update")
_CONNECT = ("create", "get")
_PROXY = ("create", "delete", "get", "patch", "update")

# subresource -> (group, version, kind) of its body ("" kind = the parent's own GVK;
# a kind without group/version = same group/version as the parent), verbs.
_SUBRESOURCES: dict[str, tuple[tuple[str, str, str] | None, str, tuple[str, ...]]] = {
    "status": (None, "", _RW),
    "scale": (("autoscaling", "v1", "Scale"), "", _RW),
    "ephemeralcontainers": (None, "", _RW),
    "finalize": (None, "", ("update",)),
    "log": (None, "", ("get",)),
    "binding": (None, "Binding", ("create",)),
    "eviction": (("policy", "v1", "Eviction"), "", ("create",)),
    "token": (("authentication.k8s.io", "v1", "TokenRequest"), "", ("create",)),
    "exec": (None, "{kind}ExecOptions", _CONNECT),
    "attach": (None, "{kind}AttachOptions", _CONNECT),
    "portforward": (None, "{kind}PortForwardOptions", _CONNECT),
    "proxy": (None, "{kind}ProxyOptions", _PROXY),
}


def subresource_kind(rt: ResourceType, sub: str) -> tuple[str, str, str]:
    """The (group, version, kind) a subresource of `rt` accepts and returns."""
    gvk, kind, _ = _SUBRESOURCES.get(sub, (None, "", _RW))
    if gvk is not None:
        return gvk
    return (rt.group, rt.version, kind.format(kind=rt.kind) if kind else rt.kind)


def subresource_verbs(sub: str) -> tuple[str, ...]:
    """The verbs upstream serves on a subresource (get/patch/update when unknown)."""
    return _SUBRESOURCES.get(sub, (None, "", _RW))[2]


def api_versions(server_address: str) -> Obj:
    """The `/api` document (APIVersions)."""
    return {
        "kind": "APIVersions", "versions": ["v1"],
        "serverAddressByClientCIDRs": [
            {"clientCIDR": "0.0.0.0/0", "serverAddress": server_address},
        ],
    }


def group_names(registry: Registry) -> list[str]:
    """Named groups (not the core group) in upstream's discovery order."""
    groups = [g for g in registry.group_versions() if g]
    return sorted(groups, key=_group_rank)


def _group_rank(group: str) -> tuple[int, int, str]:
    if group in _GROUP_ORDER:
        return (0, _GROUP_ORDER.index(group), group)
    return (2 if group in _LOW_PRIORITY else 1, 0, group)


def api_group_list(registry: Registry) -> Obj:
    """The `/apis` document (APIGroupList)."""
    gvs = registry.group_versions()
    return {
        "kind": "APIGroupList", "apiVersion": "v1",
        "groups": [_group(g, gvs[g]) for g in group_names(registry)],
    }


def api_group(registry: Registry, group: str) -> Obj | None:
    """The `/apis/<group>` document (APIGroup), or None for an unknown group."""
    versions = registry.group_versions().get(group) if group else None
    if not versions:
        return None
    return {"kind": "APIGroup", "apiVersion": "v1", **_group(group, versions)}


def _group(group: str, versions: list[str]) -> Obj:
    entries = [{"groupVersion": f"{group}/{v}", "version": v} for v in versions]
    return {"name": group, "versions": entries, "preferredVersion": dict(entries[0])}


def resource_list(registry: Registry, group: str, version: str) -> Obj | None:
    """The `/api/v1` or `/apis/<g>/<v>` document (APIResourceList), or None if not served."""
    types = registry.in_group_version(group, version)
    if not types:
        return None
    resources: list[Obj] = []
    for rt in types:
        resources.append(_api_resource(rt))
        resources.extend(_api_subresource(rt, sub) for sub in rt.subresources)
    resources.sort(key=lambda r: str(r["name"]))
    gv = f"{group}/{version}" if group else version
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv,
            "resources": resources}


def _api_resource(rt: ResourceType) -> Obj:
    out: Obj = {"name": rt.plural, "singularName": rt.singular, "namespaced": rt.namespaced,
                "kind": rt.kind, "verbs": sorted(rt.verbs)}
    if rt.short_names:
        out["shortNames"] = list(rt.short_names)
    if rt.categories:
        out["categories"] = list(rt.categories)
    if rt.persisted:
        out["storageVersionHash"] = storage_version_hash(rt)
    return out


def _api_subresource(rt: ResourceType, sub: str) -> Obj:
    group, version, kind = subresource_kind(rt, sub)
    out: Obj = {"name": f"{rt.plural}/{sub}", "singularName": "", "namespaced": rt.namespaced}
    if (group, version) != (rt.group, rt.version):
        out["group"], out["version"] = group, version
    out["kind"] = kind
    out["verbs"] = list(subresource_verbs(sub))
    return out


def storage_version_hash(rt: ResourceType) -> str:
    """A stable short hash of the storage GVK (upstream: 8 bytes of sha256, base64)."""
    gvk = f"{rt.stored_group}/{rt.stored_version}/{rt.kind}".encode()
    return base64.b64encode(hashlib.sha256(gvk).digest()[:8]).decode()


def aggregated(registry: Registry, *, legacy: bool, version: str = "v2") -> Obj:
    """APIGroupDiscoveryList for `/api` (legacy=True, the core group) or `/apis`.

    `version` is "v2" or "v2beta1": the shape is the same, only apiVersion differs.
    """
    if version not in ("v2", "v2beta1"):
        raise ValueError(f"unsupported aggregated discovery version {version!r}")
    gvs = registry.group_versions()
    groups = [""] if legacy else group_names(registry)
    items = [_discovery_group(registry, g, gvs.get(g, [])) for g in groups]
    return {
        "kind": "APIGroupDiscoveryList", "apiVersion": f"apidiscovery.k8s.io/{version}",
        "metadata": {}, "items": [i for i in items if i["versions"]],
    }


def _discovery_group(registry: Registry, group: str, versions: list[str]) -> Obj:
    metadata: Obj = {"name": group, "creationTimestamp": None} if group else {
        "creationTimestamp": None}
    return {"metadata": metadata, "versions": [
        {"version": v, "resources": _discovery_resources(registry, group, v),
         "freshness": "Current"} for v in versions]}


def _discovery_resources(registry: Registry, group: str, version: str) -> list[Obj]:
    types = sorted(registry.in_group_version(group, version), key=lambda rt: rt.plural)
    return [_discovery_resource(rt) for rt in types]


def _discovery_resource(rt: ResourceType) -> Obj:
    out: Obj = {
        "resource": rt.plural,
        "responseKind": _gvk(rt.group, rt.version, rt.kind),
        "scope": "Namespaced" if rt.namespaced else "Cluster",
        "singularResource": rt.singular,
        "verbs": sorted(rt.verbs),
    }
    if rt.short_names:
        out["shortNames"] = list(rt.short_names)
    if rt.categories:
        out["categories"] = list(rt.categories)
    if rt.subresources:
        out["subresources"] = [
            {"subresource": sub, "responseKind": _gvk(*subresource_kind(rt, sub)),
             "verbs": list(subresource_verbs(sub))}
            for sub in sorted(rt.subresources)]
    return out


def _gvk(group: str, version: str, kind: str) -> Obj:
    return {"group": group, "version": version, "kind": kind}


def etag(doc: Obj) -> str:
    """A strong ETag value (without quotes) for a document: a hash of its canonical JSON."""
    return hashlib.sha256(orjson.dumps(doc, option=orjson.OPT_SORT_KEYS)).hexdigest()


def fingerprint(registry: Registry) -> tuple[object, ...]:
    """A value that changes whenever what discovery reports changes (a memo key)."""
    return tuple(sorted(((rt.group, rt.version, rt.plural), rt) for rt in registry))


_memo: weakref.WeakKeyDictionary[Registry, dict[object, tuple[object, bytes, str]]] = (
    weakref.WeakKeyDictionary())


def serialized(registry: Registry, build: Callable[..., Obj | None], *args: Any,
               **kwargs: Any) -> tuple[bytes, str] | None:
    """`build(registry, *args, **kwargs)` as JSON bytes plus `etag()` of it, memoized.

    None when `build` returns None (an unknown group or version). The entry is rebuilt
    whenever `fingerprint(registry)` changes.
    """
    key = (build, args, tuple(sorted(kwargs.items())))
    memo = _memo.setdefault(registry, {})
    current = fingerprint(registry)
    hit = memo.get(key)
    if hit is None or hit[0] != current:
        doc = build(registry, *args, **kwargs)
        if doc is None:
            memo.pop(key, None)
            return None
        data = orjson.dumps(doc, option=orjson.OPT_SORT_KEYS)
        hit = memo[key] = (current, data, hashlib.sha256(data).hexdigest())
    return hit[1], hit[2]
