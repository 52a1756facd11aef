"""The HPA's status pieces: conditions (AbleToScale, ScalingActive, ScalingLimited), the
current value of each metric, and the names upstream gives metrics in messages."""

from __future__ import annotations

from typing import Any

from kubelite.api import quantity
from kubelite.controllers.podautoscaler import replicas

Obj = dict[str, Any]
ABLE, ACTIVE, LIMITED = "AbleToScale", "ScalingActive", "ScalingLimited"
KEYS = {"Resource": "resource", "ContainerResource": "containerResource", "Pods": "pods",
        "Object": "object", "External": "external"}


def set_condition(status: Obj, type_: str, value: bool, reason: str, message: str,
                  now: str) -> None:
    """Set a condition, keeping lastTransitionTime while its status stays the same."""
    text = "True" if value else "False"
    conds = status.setdefault("conditions", [])
    for c in conds:
        if c.get("type") == type_:
            if c.get("status") != text:
                c["lastTransitionTime"] = now
            c.update(status=text, reason=reason, message=message)
            return
    conds.append({"type": type_, "status": text, "lastTransitionTime": now, "reason": reason,
                  "message": message})


def metric_name(spec: Obj) -> str:
    """How upstream names a metric in conditions and rescale reasons."""
    kind = spec.get("type", "")
    source = spec.get(KEYS.get(kind, ""), {}) or {}
    name = source.get("name") or (source.get("metric") or {}).get("name", "")
    utilization = (source.get("target") or {}).get("type") == "Utilization"
    if kind == "Resource":
        return f"{name} resource utilization (percentage of request)" if utilization \
            else f"{name} resource"
    if kind == "ContainerResource":
        return f"{name} container resource utilization (percentage of request)" \
            if utilization else f"{name} container resource"
    if kind == "Pods":
        return f"pods metric {name}"
    if kind == "Object":
        return f"{name} metric"
    return f"external metric {name}"


def metric_status(spec: Obj, result: replicas.Result) -> Obj:
    """The currentMetrics entry of a resource metric from its calculation."""
    kind = spec["type"]
    key = KEYS[kind]
    source = spec[key]
    utilization = (source.get("target") or {}).get("type") == "Utilization"
    current: Obj = {"averageValue": quantity.format_quantity(
        quantity.from_milli(result.raw_average))}
    if utilization:
        current["averageUtilization"] = result.utilization
    out: Obj = {"name": source["name"], "current": current}
    if kind == "ContainerResource":
        out["container"] = source.get("container", "")
    return {"type": kind, key: out}


def failure_reason(spec: Obj) -> str:
    """The event/condition reason when a metric of this type cannot be read."""
    return f"FailedGet{spec.get('type', 'Resource')}Metric"
