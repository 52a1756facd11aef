"""Small object builders shared by the apply tests."""

from __future__ import annotations

import copy
from typing import Any

from kubelite.api import apply, schemas

DEPLOYMENT = schemas.definition("io.k8s.api.apps.v1.Deployment")
T0, T1, T2 = "2024-05-01T10:00:00Z", "2024-05-01T10:05:00Z", "2024-05-01T10:10:00Z"


def deployment(*, replicas: int | None = 3, image: str = "nginx:1.25", labels: dict[str, str] | None = None,
               containers: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "selector": {"matchLabels": {"app": "nginx"}},
        "template": {"metadata": {"labels": {"app": "nginx"}},
                     "spec": {"containers": containers or [{"name": "nginx", "image": image}]}},
    }
    if replicas is not None:
        spec = {"replicas": replicas, **spec}
    meta: dict[str, Any] = {"name": "web", "namespace": "default"}
    if labels:
        meta["labels"] = labels
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": meta, "spec": spec}


def ssa(live: dict[str, Any] | None, applied: dict[str, Any], manager: str = "kubectl", *,
        force: bool = False, now: str = T0, schema: dict[str, Any] | None = DEPLOYMENT,
        api_version: str = "apps/v1", subresource: str = "") -> dict[str, Any]:
    return apply.server_side_apply(live, copy.deepcopy(applied), manager=manager, force=force,
                                   schema=schema, api_version=api_version, now=now,
                                   subresource=subresource)


def update(old: dict[str, Any] | None, new: dict[str, Any], manager: str, *, now: str = T1,
           schema: dict[str, Any] | None = DEPLOYMENT, api_version: str = "apps/v1",
           subresource: str = "") -> dict[str, Any]:
    return apply.track_update(old, copy.deepcopy(new), manager=manager, api_version=api_version,
                              now=now, subresource=subresource, schema=schema)


def entries(obj: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """managedFields by manager name."""
    return {e["manager"]: e for e in obj["metadata"].get("managedFields", [])}


def fields(obj: dict[str, Any], manager: str) -> dict[str, Any]:
    return entries(obj)[manager]["fieldsV1"]


def containers(obj: dict[str, Any]) -> list[dict[str, Any]]:
    return obj["spec"]["template"]["spec"]["containers"]


def stored(obj: dict[str, Any], uid: str = "u-1") -> dict[str, Any]:
    """What the store would hand back: the object with server-set metadata."""
    out = copy.deepcopy(obj)
    out["metadata"].update(uid=uid, resourceVersion="7", generation=1,
                           creationTimestamp="2024-05-01T09:00:00Z")
    return out
