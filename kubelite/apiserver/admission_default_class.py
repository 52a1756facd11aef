"""Admission: the cluster's default class for new objects that name none (upstream's
DefaultIngressClass and DefaultStorageClass plugins).

An Ingress created without `spec.ingressClassName` (and without the older
`kubernetes.io/ingress.class` annotation) gets the name of the IngressClass annotated
`ingressclass.kubernetes.io/is-default-class: "true"`; a PersistentVolumeClaim created
without `spec.storageClassName` (absent or null: "" asks for no class) gets the default
StorageClass (`storageclass.kubernetes.io/is-default-class`, or its beta spelling). With
several defaults the newest wins, ties by name, as upstream chooses since 1.28. Only on
create: an existing object keeps what it has, and with no default nothing is set.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kubelite.api import registry
from kubelite.apiserver import context

Obj = dict[str, Any]


@dataclass(frozen=True)
class _Rule:
    group: str
    kind: str
    field: str                     # the spec field that names the class
    skip_annotation: str           # an annotation that chooses a class already
    class_resource: tuple[str, str, str]   # group, version, plural of the class kind
    default_annotations: tuple[str, ...]


_RULES = (
    _Rule("networking.k8s.io", "Ingress", "ingressClassName", "kubernetes.io/ingress.class",
          ("networking.k8s.io", "v1", "ingressclasses"),
          ("ingressclass.kubernetes.io/is-default-class",)),
    _Rule("", "PersistentVolumeClaim", "storageClassName", "",
          ("storage.k8s.io", "v1", "storageclasses"),
          ("storageclass.kubernetes.io/is-default-class",
           "storageclass.beta.kubernetes.io/is-default-class")),
)


async def default_class(ctx: context.Context, rt: registry.ResourceType, new: Obj,
                        old: Obj | None) -> None:
    if old is not None:
        return
    rule = next((r for r in _RULES if r.group == rt.group and r.kind == rt.kind), None)
    if rule is None:
        return
    spec = new.get("spec")
    if not isinstance(spec, dict) or spec.get(rule.field) is not None:
        return
    if rule.skip_annotation and rule.skip_annotation in (
            new.get("metadata", {}).get("annotations") or {}):
        return
    name = newest_default(ctx, rule)
    if name:
        spec[rule.field] = name


def newest_default(ctx: context.Context, rule: _Rule) -> str:
    """The name of the newest class marked default ("" when none is)."""
    class_rt = ctx.registry.lookup(*rule.class_resource)
    if class_rt is None:
        return ""
    marked = []
    for entry in ctx.cache.bucket(class_rt.key_prefix()).scan():
        obj = entry.decode()
        meta = obj.get("metadata") or {}
        annotations = meta.get("annotations") or {}
        if any(annotations.get(a) == "true" for a in rule.default_annotations):
            marked.append((meta.get("creationTimestamp") or "", meta.get("name") or ""))
    if not marked:
        return ""
    # newest first; among equally new ones the first name
    newest = max(stamp for stamp, _ in marked)
    return min(name for stamp, name in marked if stamp == newest)
