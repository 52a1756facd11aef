"""Rules for a CustomResourceDefinition object itself (upstream ValidateCustomResourceDefinition,
common cases): names, group, scope, versions, and structural schemas."""

from __future__ import annotations

from typing import Any

from kubelite.api import errors
from kubelite.api.validation import field, names

Obj = dict[str, Any]
_SCOPES = ("Cluster", "Namespaced")
_TYPES = ("array", "boolean", "integer", "number", "object", "string")


def validate(obj: Obj, old: Obj | None) -> list[errors.Cause]:
    spec = obj.get("spec") or {}
    group = spec.get("group") or ""
    crd_names = spec.get("names") or {}
    plural = crd_names.get("plural") or ""
    causes: list[errors.Cause] = []
    name = (obj.get("metadata") or {}).get("name") or ""
    if name and name != f"{plural}.{group}":
        causes.append(field.invalid("metadata.name", name,
                                    'must be spec.names.plural+"."+spec.group'))
    causes += _group(group)
    causes += _names(crd_names)
    scope = spec.get("scope")
    if scope and scope not in _SCOPES:
        causes.append(field.not_supported("spec.scope", scope, _SCOPES))
    causes += _versions(spec.get("versions") or [])
    if old is not None:
        old_spec = old.get("spec") or {}
        causes += field.immutable_if_changed("spec.scope", scope, old_spec.get("scope"))
        causes += field.immutable_if_changed("spec.group", group, old_spec.get("group"))
    return causes


def _group(group: str) -> list[errors.Cause]:
    if not group:
        return []
    causes = [field.invalid("spec.group", group, m) for m in names.is_dns1123_subdomain(group)]
    if "." not in group:
        causes.append(field.invalid("spec.group", group, "should be a domain with at least one dot"))
    return causes


def _names(crd_names: Obj) -> list[errors.Cause]:
    causes: list[errors.Cause] = []
    for attr in ("plural", "singular", "listKind"):
        value = crd_names.get(attr)
        if not value:
            continue
        check = names.is_dns1035_label if attr != "listKind" else _kind_format
        causes += [field.invalid(f"spec.names.{attr}", value, m) for m in check(value)]
    kind = crd_names.get("kind") or ""
    causes += [field.invalid("spec.names.kind", kind, m) for m in _kind_format(kind)] if kind else []
    if kind and kind == crd_names.get("listKind"):
        causes.append(field.invalid("spec.names.listKind", kind,
                                    "kind and listKind may not be the same"))
    for i, short in enumerate(crd_names.get("shortNames") or []):
        causes += [field.invalid(field.index("spec.names.shortNames", i), short, m)
                   for m in names.is_dns1035_label(short)]
    return causes


def _kind_format(kind: str) -> list[str]:
    lowered = kind.lower()
    return [m for m in names.is_dns1035_label(lowered)] if lowered else []


def _versions(versions: list[Any]) -> list[errors.Cause]:
    causes: list[errors.Cause] = []
    storage = [v for v in versions if v.get("storage")]
    if versions and len(storage) != 1:
        causes.append(field.invalid("spec.versions", versions,
                                    "must have exactly one version marked as storage version"))
    if versions and not any(v.get("served") for v in versions):
        causes.append(field.invalid("spec.versions", versions,
                                    "must have at least one version marked as served"))
    seen: set[str] = set()
    for i, version in enumerate(versions):
        path = field.index("spec.versions", i)
        name = version.get("name") or ""
        causes += [field.invalid(field.join(path, "name"), name, m)
                   for m in names.is_dns1035_label(name)] if name else []
        if name in seen:
            causes.append(field.invalid("spec.versions", versions,
                                        "must contain unique version names"))
        seen.add(name)
        schema = (version.get("schema") or {}).get("openAPIV3Schema")
        spath = field.join(path, "schema.openAPIV3Schema")
        if not isinstance(schema, dict):
            causes.append(field.required(spath, "schemas are required"))
        else:
            causes += structural(schema, spath, root=True)
    return causes


def structural(s: Obj, path: str, *, root: bool = False) -> list[errors.Cause]:
    """Upstream's structural-schema rule, simplified: every specified node names its type."""
    causes: list[errors.Cause] = []
    kind = s.get("type")
    open_node = s.get("x-kubernetes-int-or-string") or s.get("x-kubernetes-preserve-unknown-fields")
    if root and kind != "object":
        causes.append(field.invalid(field.join(path, "type"), kind or "", "must be object at the root")
                      if kind else field.required(field.join(path, "type"), "must not be empty at the root"))
    elif kind and kind not in _TYPES:
        causes.append(field.not_supported(field.join(path, "type"), kind, _TYPES))
    elif not kind and not open_node:
        causes.append(field.required(field.join(path, "type"),
                                     "must not be empty for specified object fields"
                                     if "properties" in s else "must not be empty for specified fields"))
    for k, sub in (s.get("properties") or {}).items():
        if isinstance(sub, dict):
            causes += structural(sub, field.key(field.join(path, "properties"), k))
    if isinstance(s.get("items"), dict):
        causes += structural(s["items"], field.join(path, "items"))
    extra = s.get("additionalProperties")
    if isinstance(extra, dict):
        causes += structural(extra, field.join(path, "additionalProperties"))
    if kind == "array" and not isinstance(s.get("items"), dict):
        causes.append(field.required(field.join(path, "items"),
                                     "must be specified"))
    return causes
