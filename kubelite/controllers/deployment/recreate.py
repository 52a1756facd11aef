"""Recreate: every old pod is gone before any new pod starts."""

from __future__ import annotations

from typing import Any

from kubelite.controllers.deployment import replicasets

Obj = dict[str, Any]


def old_pods_running(new_rs: Obj | None, old_rss: list[Obj],
                     pods_by_rs: dict[str, list[Obj]]) -> bool:
    """True while an old set reports pods or owns a pod that has not finished.

    Pods being deleted still count: they may still be running. A pod in phase Unknown
    counts too (its node may just be unreachable).
    """
    if replicasets.total_actual(old_rss) > 0:
        return True
    new_uid = new_rs["metadata"]["uid"] if new_rs is not None else None
    for uid, pods in pods_by_rs.items():
        if uid == new_uid:
            continue
        for pod in pods:
            if (pod.get("status") or {}).get("phase") not in ("Succeeded", "Failed"):
                return True
    return False
