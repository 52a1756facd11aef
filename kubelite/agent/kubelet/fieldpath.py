"""Downward API values: fieldRef and resourceFieldRef, for env and downwardAPI volumes."""

from __future__ import annotations

import math
import os
from typing import Any

from kubelite.api import quantity

Obj = dict[str, Any]


def field_ref(pod: Obj, path: str) -> str:
    """metadata.name, metadata.labels['k'], spec.nodeName, status.podIP, ..."""
    meta, spec, status = pod["metadata"], pod.get("spec") or {}, pod.get("status") or {}
    for prefix, source in (("metadata.labels", "labels"), ("metadata.annotations", "annotations")):
        if path == prefix:
            items = sorted((meta.get(source) or {}).items())
            return "\n".join(f'{k}="{v}"' for k, v in items)
        if path.startswith(prefix + "['") and path.endswith("']"):
            return str((meta.get(source) or {}).get(path[len(prefix) + 2:-2], ""))
    simple = {"metadata.name": meta.get("name"), "metadata.namespace": meta.get("namespace"),
              "metadata.uid": meta.get("uid"), "spec.nodeName": spec.get("nodeName"),
              "spec.serviceAccountName": spec.get("serviceAccountName"),
              "status.hostIP": status.get("hostIP"), "status.podIP": status.get("podIP"),
              "status.hostIPs": ",".join(i["ip"] for i in status.get("hostIPs") or []),
              "status.podIPs": ",".join(i["ip"] for i in status.get("podIPs") or [])}
    if path not in simple:
        raise ValueError(f"unsupported fieldPath {path!r}")
    return str(simple[path] or "")


def node_allocatable(resource: str) -> float:
    """What a container without a limit sees: the node's capacity."""
    if resource.endswith("cpu"):
        return float(os.cpu_count() or 1)
    if resource.endswith("memory"):
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    return float(int(line.split()[1]) * 1024)
    return 0.0


def resource_ref(container: Obj, ref: Obj) -> str:
    """limits.cpu / requests.memory ... divided by `divisor`, rounded up as upstream."""
    res = ref["resource"]
    kind, _, name = res.partition(".")
    value = ((container.get("resources") or {}).get(kind) or {}).get(name)
    amount = float(quantity.parse(value).amount) if value is not None else (
        node_allocatable(res) if kind == "limits" else 0.0)
    divisor = float(quantity.parse(ref.get("divisor") or "1").amount) or 1.0
    return str(math.ceil(amount / divisor))
