"""The HorizontalPodAutoscaler row (autoscaling/v2 shape; v1 objects are read as v2)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from kubelite.api.printers import cells, columns
from kubelite.api.printers.columns import column

Obj = dict[str, Any]


def _v2_metrics(hpa: Obj) -> tuple[list[Obj], list[Obj]]:
    """(spec metrics, current metrics), turning v1's CPU percentage fields into v2 form."""
    spec, status = hpa.get("spec") or {}, hpa.get("status") or {}
    if "metrics" in spec or "targetCPUUtilizationPercentage" not in spec:
        return spec.get("metrics") or [], status.get("currentMetrics") or []
    target = {"type": "Resource", "resource": {"name": "cpu", "target": {
        "type": "Utilization", "averageUtilization": spec["targetCPUUtilizationPercentage"]}}}
    current = []
    if status.get("currentCPUUtilizationPercentage") is not None:
        current = [{"type": "Resource", "resource": {"name": "cpu", "current": {
            "averageUtilization": status["currentCPUUtilizationPercentage"]}}}]
    return [target], current


def _value_pair(source: Obj, current: Obj | None, avg_label: str = "") -> str:
    """current/target for a metric read as a value (or average value)."""
    target = source.get("target") or {}
    if target.get("averageValue") is not None:
        have = "<unknown>"
        if current is not None and cells.get(current, "current", "averageValue") is not None:
            have = cells.qty(cells.get(current, "current", "averageValue"))
        return f"{have}/{cells.qty(target['averageValue'])}{avg_label}"
    have = "<unknown>" if current is None else cells.qty(cells.get(current, "current", "value"))
    return f"{have}/{cells.qty(target.get('value'))}"


def _resource_pair(source: Obj, current: Obj | None) -> str:
    name, target = source.get("name", ""), source.get("target") or {}
    if target.get("averageValue") is not None:
        have = "<unknown>" if current is None else cells.qty(
            cells.get(current, "current", "averageValue"))
        return f"{name}: {have}/{cells.qty(target['averageValue'])}"
    have = "<unknown>"
    if current is not None and cells.get(current, "current", "averageUtilization") is not None:
        have = f"{current['current']['averageUtilization']}%"
    want = "<auto>" if target.get("averageUtilization") is None else \
        f"{target['averageUtilization']}%"
    return f"{name}: {have}/{want}"


_KEYS = {"External": "external", "Pods": "pods", "Object": "object", "Resource": "resource",
         "ContainerResource": "containerResource"}


def _metric(spec: Obj, status: Obj | None) -> str:
    key = _KEYS.get(str(spec.get("type")))
    if key is None:
        return "<unknown type>"
    source = spec.get(key) or {}
    current = (status or {}).get(key)
    if key in ("resource", "containerResource"):
        return _resource_pair(source, current)
    if key == "pods":
        have = "<unknown>" if current is None else cells.qty(
            cells.get(current, "current", "averageValue"))
        return f"{have}/{cells.qty(cells.get(source, 'target', 'averageValue'))}"
    return _value_pair(source, current, " (avg)")


def targets(hpa: Obj) -> str:
    specs, statuses = _v2_metrics(hpa)
    if not specs:
        return "<none>"
    shown = [_metric(s, statuses[i] if i < len(statuses) else None)
             for i, s in enumerate(specs[:2])]
    text = ", ".join(shown)
    return f"{text} + {len(specs) - 2} more..." if len(specs) > 2 else text


def _hpa(hpa: Obj, now: datetime) -> list[Any]:
    ref = cells.get(hpa, "spec", "scaleTargetRef", default={})
    low = cells.get(hpa, "spec", "minReplicas")
    return [cells.name(hpa), f"{ref.get('kind', '')}/{ref.get('name', '')}", targets(hpa),
            "<unset>" if low is None else str(low), cells.integer(hpa, "spec", "maxReplicas"),
            cells.integer(hpa, "status", "currentReplicas"), cells.age(hpa, now)]


def printers() -> dict[tuple[str, str], columns.Printer]:
    return {("autoscaling", "HorizontalPodAutoscaler"): columns.printer([
        columns.name(), column("Reference", description="The scaled resource."),
        column("Targets", description="Current and target metric values."),
        column("MinPods", description="Lower limit for the number of replicas."),
        column("MaxPods", description="Upper limit for the number of replicas."),
        column("Replicas", description="Current number of replicas."), columns.age()], _hpa)}
