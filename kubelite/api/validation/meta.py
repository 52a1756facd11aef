"""ObjectMeta rules every kind shares (upstream ValidateObjectMeta / ...Update)."""

from __future__ import annotations

from typing import Any

from kubelite.api import errors, registry
from kubelite.api.validation import field, names

TOTAL_ANNOTATION_SIZE = 256 * 1024

# Kinds whose names follow a rule other than DNS-1123 subdomain; keyed by (group, kind).
_NAME_RULES: dict[tuple[str, str], names.NameCheck] = {
    ("", "Namespace"): names.is_dns1123_label,
    ("", "Service"): names.is_dns1035_label,
    ("", "PersistentVolume"): names.is_path_segment_name,
    ("rbac.authorization.k8s.io", "Role"): names.is_path_segment_name,
    ("rbac.authorization.k8s.io", "ClusterRole"): names.is_path_segment_name,
    ("rbac.authorization.k8s.io", "RoleBinding"): names.is_path_segment_name,
    ("rbac.authorization.k8s.io", "ClusterRoleBinding"): names.is_path_segment_name,
}


def name_rule(rt: registry.ResourceType) -> names.NameCheck:
    return _NAME_RULES.get((rt.group, rt.kind), names.is_dns1123_subdomain)


def validate(rt: registry.ResourceType, obj: dict[str, Any],
             old: dict[str, Any] | None = None) -> list[errors.Cause]:
    """Every metadata cause of one object, update rules included when `old` is given."""
    meta = obj.get("metadata") or {}
    causes = names.check_name(meta, name_rule(rt))
    causes += _namespace(rt, meta)
    causes += field.non_negative("metadata.generation", meta.get("generation"))
    causes += labels("metadata.labels", meta.get("labels"))
    causes += annotation_map("metadata.annotations", meta.get("annotations"))
    causes += _finalizers(meta.get("finalizers"))
    causes += _owner_references(meta.get("ownerReferences"))
    if old is not None:
        old_meta = old.get("metadata") or {}
        for attr in ("name", "namespace"):
            causes += field.immutable_if_changed(
                f"metadata.{attr}", meta.get(attr) or "", old_meta.get(attr) or "")
    return causes


def _namespace(rt: registry.ResourceType, meta: dict[str, Any]) -> list[errors.Cause]:
    ns = meta.get("namespace") or ""
    if not rt.namespaced:
        return [field.forbidden("metadata.namespace", "not allowed on this type")] if ns else []
    if not ns:
        return [field.required("metadata.namespace")]
    return [field.invalid("metadata.namespace", ns, m) for m in names.is_dns1123_label(ns)]


def labels(path: str, value: Any) -> list[errors.Cause]:
    """Upstream ValidateLabels: keys and values, both reported on the map's path."""
    causes = []
    for k, v in (value or {}).items():
        causes += [field.invalid(path, k, m) for m in names.is_qualified_name(k)]
        if isinstance(v, str):
            causes += [field.invalid(path, v, m) for m in names.is_label_value(v)]
    return causes


def annotation_map(path: str, value: Any) -> list[errors.Cause]:
    causes = []
    total = 0
    for k, v in (value or {}).items():
        causes += [field.invalid(path, k, m) for m in names.is_qualified_name(k.lower())]
        total += len(k.encode()) + len((v or "").encode())
    if total > TOTAL_ANNOTATION_SIZE:
        causes.append(field.too_long_bytes(path, TOTAL_ANNOTATION_SIZE))
    return causes


def _finalizers(value: Any) -> list[errors.Cause]:
    path = "metadata.finalizers"
    causes = []
    for item in value or []:
        causes += [field.invalid(path, item, m) for m in names.is_qualified_name(item or "")]
    return causes


def _owner_references(refs: Any) -> list[errors.Cause]:
    causes = []
    controllers = []
    for i, ref in enumerate(refs or []):
        path = field.index("metadata.ownerReferences", i)
        for attr, what in (("apiVersion", "version"), ("kind", "kind"), ("name", "name"),
                           ("uid", "uid")):
            if not ref.get(attr):
                causes.append(field.invalid(field.join(path, attr), ref.get(attr) or "",
                                            f"{what} must not be empty"))
        if ref.get("controller"):
            controllers.append(ref)
    if len(controllers) > 1:
        listed = ", ".join(f"{r.get('kind')}/{r.get('name')}" for r in controllers)
        causes.append(field.invalid(
            "metadata.ownerReferences", refs,
            f'Only one reference can have Controller set to true. Found "true" in references '
            f"for {listed}"))
    return causes
