"""Admission: default NoExecute tolerations for pods (upstream's DefaultTolerationSeconds).

A pod that does not already tolerate node.kubernetes.io/not-ready and
node.kubernetes.io/unreachable with effect NoExecute gets a toleration of each for
DEFAULT_TOLERATION_SECONDS, so it stays on a briefly unhealthy node that long before the
taint eviction controller deletes it. Applied on create, and on updates that change the
tolerations (a status write carries the old spec and is left alone).
"""

from __future__ import annotations

from typing import Any

from kubelite.api import registry
from kubelite.apiserver import context

Obj = dict[str, Any]
NOT_READY = "node.kubernetes.io/not-ready"
UNREACHABLE = "node.kubernetes.io/unreachable"
# Seconds a pod tolerates a not-ready or unreachable node (kube-apiserver's
# --default-not-ready-toleration-seconds / --default-unreachable-toleration-seconds).
DEFAULT_TOLERATION_SECONDS = 300


def configure(seconds: float) -> None:
    """Set the default toleration seconds (the server's --pod-eviction-timeout)."""
    global DEFAULT_TOLERATION_SECONDS
    DEFAULT_TOLERATION_SECONDS = max(int(seconds), 0)


def _tolerates(tolerations: list[Obj], key: str) -> bool:
    return any((t.get("key") or "") in (key, "") and (t.get("effect") or "") in ("NoExecute", "")
               for t in tolerations)


def with_defaults(tolerations: list[Obj], seconds: int) -> list[Obj]:
    out = list(tolerations)
    for key in (NOT_READY, UNREACHABLE):
        if not _tolerates(tolerations, key):
            out.append({"key": key, "operator": "Exists", "effect": "NoExecute",
                        "tolerationSeconds": seconds})
    return out


async def default_tolerations(ctx: context.Context, rt: registry.ResourceType, new: Obj,
                              old: Obj | None) -> None:
    if rt.group != "" or rt.kind != "Pod":
        return
    spec = new.get("spec")
    if not isinstance(spec, dict):
        return
    tolerations = spec.get("tolerations") or []
    if old is not None and tolerations == ((old.get("spec") or {}).get("tolerations") or []):
        return
    updated = with_defaults(tolerations, DEFAULT_TOLERATION_SECONDS)
    if updated != tolerations:
        spec["tolerations"] = updated
