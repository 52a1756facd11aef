"""Admission: in-use protection finalizers for claims and volumes (upstream's
StorageObjectInUseProtection).

Every PersistentVolumeClaim is created with the finalizer `kubernetes.io/pvc-protection`
and every PersistentVolume with `kubernetes.io/pv-protection`. A claim deleted while a
scheduled pod still uses it, or a volume deleted while bound, then stays (Terminating)
until the controller manager's protection controllers see it unused and remove the
finalizer: data under a running pod is never reclaimed.
"""

from __future__ import annotations

from typing import Any

from kubelite.api import claims, registry
from kubelite.apiserver import context

Obj = dict[str, Any]
_FINALIZERS = {"PersistentVolumeClaim": claims.PVC_PROTECTION,
               "PersistentVolume": claims.PV_PROTECTION}


async def add_finalizer(ctx: context.Context, rt: registry.ResourceType, new: Obj,
                        old: Obj | None) -> None:
    if old is not None or rt.group != "" or rt.kind not in _FINALIZERS:
        return
    meta = new.setdefault("metadata", {})
    finalizers = meta.get("finalizers") or []
    if _FINALIZERS[rt.kind] not in finalizers:
        meta["finalizers"] = [*finalizers, _FINALIZERS[rt.kind]]
