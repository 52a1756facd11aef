"""Per-type write behaviour: what create and update may change, generation, status split.

The generic REST handlers call these hooks; everything kind-specific about *how an
object is written* (as opposed to what is valid, which lives in api/validation) is here.
"""

from __future__ import annotations

import base64
import copy
import datetime
import secrets
import time
import uuid
from typing import Any

from kubelite.api import errors, registry

Obj = dict[str, Any]

# Kinds whose metadata.generation counts spec changes (upstream strategies that set it).
_GENERATION_GROUPS = {"apps", "batch", "autoscaling", "policy", "apiextensions.k8s.io"}
_GENERATION_KINDS = {("networking.k8s.io", "Ingress"), ("networking.k8s.io", "NetworkPolicy"),
                     ("", "ReplicationController")}
# Kinds whose status the server resets on create (users set status via /status only).
_NO_STATUS_RESET = {("", "Node"), ("", "Namespace")}
_NAME_CHARS = "bcdfghjklmnpqrstvwxz2456789"
_SERVER_FIELDS = ("uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds",
                  "generation", "selfLink")


_stamp: tuple[int, str] = (0, "")


def now_rfc3339() -> str:
    """The current second as metav1.Time writes it; formatted once per second, since
    every write stamps several fields."""
    global _stamp
    second = int(time.time())
    if _stamp[0] != second:
        when = datetime.datetime.fromtimestamp(second, datetime.UTC)
        _stamp = (second, when.strftime("%Y-%m-%dT%H:%M:%SZ"))
    return _stamp[1]


def drop_empty_metadata(meta: Obj) -> None:
    """Upstream's ObjectMeta omits empty maps and lists (omitempty): so do we."""
    for f in ("labels", "annotations", "finalizers", "ownerReferences", "managedFields"):
        if f in meta and not meta[f]:
            del meta[f]


def tracks_generation(rt: registry.ResourceType) -> bool:
    return (rt.group in _GENERATION_GROUPS or (rt.group, rt.kind) in _GENERATION_KINDS
            or rt.crd is not None)


def has_status(rt: registry.ResourceType) -> bool:
    if rt.crd is not None:
        return "status" in (rt.crd.get("subresources") or {})
    return "status" in rt.subresources


def generate_name(prefix: str) -> str:
    return prefix + "".join(secrets.choice(_NAME_CHARS) for _ in range(5))


def prepare_create(rt: registry.ResourceType, obj: Obj, namespace: str) -> None:
    """Server-owned metadata for a new object; clears what users may not set on create."""
    meta = obj.setdefault("metadata", {})
    if not isinstance(meta, dict):
        raise errors.BadRequest("metadata must be an object")
    if rt.namespaced:
        body_ns = meta.get("namespace")
        if body_ns and namespace and body_ns != namespace:
            raise errors.BadRequest("the namespace of the provided object does not match the "
                                    "namespace sent on the request")
        meta["namespace"] = namespace or body_ns or "default"
    else:
        meta.pop("namespace", None)
    if not meta.get("name") and meta.get("generateName"):
        meta["name"] = generate_name(meta["generateName"])
    for f in _SERVER_FIELDS + ("resourceVersion",):
        meta.pop(f, None)
    drop_empty_metadata(meta)
    meta["uid"] = str(uuid.uuid4())
    meta["creationTimestamp"] = now_rfc3339()
    if tracks_generation(rt):
        meta["generation"] = 1
    if has_status(rt) and (rt.group, rt.kind) not in _NO_STATUS_RESET:
        obj.pop("status", None)
    if rt.group == "" and rt.kind == "Pod":
        obj["status"] = {"phase": "Pending", "qosClass": qos_class(obj.get("spec") or {})}
    if rt.group == "" and rt.kind == "Secret":
        fold_string_data(obj)
    if rt.group == "" and rt.kind == "Namespace":
        obj.setdefault("spec", {}).setdefault("finalizers", ["kubernetes"])
        obj["status"] = {"phase": "Active"}
    if rt.group == "apps" and rt.kind == "DaemonSet":
        _set_template_generation(meta, _template_generation(meta) or 1)


def prepare_update(rt: registry.ResourceType, new: Obj, old: Obj, subresource: str) -> Obj:
    """The object to store for an update of `old` with `new` through `subresource`."""
    if subresource == "status":
        merged = copy.copy(old)
        merged["metadata"] = dict(old["metadata"])
        for f in ("labels", "annotations", "managedFields", "ownerReferences", "finalizers"):
            if f in new.get("metadata", {}):
                merged["metadata"][f] = new["metadata"][f]
        if "status" in new:
            merged["status"] = new["status"]
        else:
            merged.pop("status", None)
        return merged
    if rt.group == "" and rt.kind == "Secret":
        fold_string_data(new)
    meta = new.setdefault("metadata", {})
    drop_empty_metadata(meta)
    old_meta = old["metadata"]
    for f in _SERVER_FIELDS:
        if f in old_meta:
            meta[f] = old_meta[f]
        else:
            meta.pop(f, None)
    if has_status(rt) and subresource == "":
        if "status" in old:
            new["status"] = old["status"]
        else:
            new.pop("status", None)
    if rt.group == "" and rt.kind == "Namespace" and subresource == "":
        # Only namespaces/finalize may change the namespace's own finalizers.
        finalizers = (old.get("spec") or {}).get("finalizers")
        spec = new.setdefault("spec", {})
        spec["finalizers"] = list(finalizers or [])
    if tracks_generation(rt) and _spec_changed(new, old):
        meta["generation"] = int(old_meta.get("generation") or 0) + 1
    if rt.group == "apps" and rt.kind == "DaemonSet":
        # the template's own generation, which daemon pods are labelled with: it moves
        # only when the pod template does (upstream's spec.templateGeneration)
        was = _template_generation(old_meta) or 1
        template = (new.get("spec") or {}).get("template") != (old.get("spec") or {}).get(
            "template")
        _set_template_generation(meta, was + 1 if template else was)
    return new


DAEMONSET_TEMPLATE_GENERATION = "deprecated.daemonset.template.generation"


def _template_generation(meta: Obj) -> int:
    raw = (meta.get("annotations") or {}).get(DAEMONSET_TEMPLATE_GENERATION)
    try:
        return max(int(raw), 0) if raw is not None else 0
    except (TypeError, ValueError):
        return 0


def _set_template_generation(meta: Obj, value: int) -> None:
    meta.setdefault("annotations", {})[DAEMONSET_TEMPLATE_GENERATION] = str(value)


def _spec_changed(new: Obj, old: Obj) -> bool:
    ignore = ("metadata", "status", "apiVersion", "kind")
    keys = (set(new) | set(old)) - set(ignore)
    return any(new.get(k) != old.get(k) for k in keys)


def check_identity(rt: registry.ResourceType, new: Obj, name: str, namespace: str) -> None:
    """An update body must name the object the URL names."""
    meta = new.get("metadata")
    if not isinstance(meta, dict):
        raise errors.BadRequest("metadata must be an object")
    body_name = meta.get("name")
    if body_name and body_name != name:
        raise errors.BadRequest(f'the name of the object ({body_name}) does not match the name on '
                                f'the URL ({name})')
    meta["name"] = name
    if rt.namespaced:
        body_ns = meta.get("namespace")
        if body_ns and body_ns != namespace:
            raise errors.BadRequest("the namespace of the provided object does not match the "
                                    "namespace sent on the request")
        meta["namespace"] = namespace


def fold_string_data(obj: Obj) -> None:
    """Secrets: stringData is write-only; it is merged into data (base64) on every write."""
    string_data = obj.pop("stringData", None)
    if isinstance(string_data, dict) and string_data:
        data = dict(obj.get("data") or {})
        for k, v in string_data.items():
            data[k] = base64.b64encode(str(v).encode()).decode()
        obj["data"] = data


def qos_class(spec: Obj) -> str:
    """Pod QoS as upstream computes it from requests and limits."""
    containers = list(spec.get("containers") or []) + list(spec.get("initContainers") or [])
    any_set = False
    guaranteed = True
    for c in containers:
        res = c.get("resources") or {}
        req, lim = res.get("requests") or {}, res.get("limits") or {}
        if req or lim:
            any_set = True
        for r in ("cpu", "memory"):
            if r not in lim or req.get(r, lim[r]) != lim[r]:
                guaranteed = False
    if not any_set:
        return "BestEffort"
    return "Guaranteed" if guaranteed else "Burstable"
