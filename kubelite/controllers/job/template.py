"""Pods a Job creates from its template: owned by the job, named after it, and for
Indexed jobs carrying their completion index (annotation, label, hostname, env)."""

from __future__ import annotations

import copy
from typing import Any

from kubelite.controllers import ownership
from kubelite.controllers.job import indexes

Obj = dict[str, Any]
_ENV = "JOB_COMPLETION_INDEX"


def pod_for(job: Obj, index: int | None = None) -> Obj:
    """A new pod for `job`; `index` is its completion index when the job is Indexed."""
    template = copy.deepcopy(job["spec"].get("template") or {})
    tmeta = template.get("metadata") or {}
    name = job["metadata"]["name"]
    meta: Obj = {"generateName": f"{name}-" if index is None else f"{name}-{index}-",
                 "namespace": job["metadata"]["namespace"],
                 "ownerReferences": [ownership.owner_reference(job)]}
    for f in ("labels", "annotations", "finalizers"):
        if tmeta.get(f):
            meta[f] = dict(tmeta[f]) if f != "finalizers" else list(tmeta[f])
    spec = template.get("spec") or {}
    if index is not None:
        meta.setdefault("annotations", {})[indexes.ANNOTATION] = str(index)
        meta.setdefault("labels", {})[indexes.ANNOTATION] = str(index)
        if not spec.get("hostname"):
            spec["hostname"] = f"{name}-{index}"
        for c in (spec.get("initContainers") or []) + (spec.get("containers") or []):
            _add_index_env(c)
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": spec}


def _add_index_env(container: Obj) -> None:
    env = container.setdefault("env", [])
    if any(e.get("name") == _ENV for e in env):
        return
    env.append({"name": _ENV, "valueFrom": {"fieldRef": {
        "apiVersion": "v1", "fieldPath": f"metadata.annotations['{indexes.ANNOTATION}']"}}})
