"""Printers for NodeMetrics and PodMetrics (`kubectl get nodemetrics`, `podmetrics`).

metrics-server's columns: Name, one quantity column per resource (cpu, memory; a pod's
figures are its containers' sums) and the Window the figures were measured over.
"""

from __future__ import annotations

from datetime import datetime
from fractions import Fraction
from typing import Any

from kubelite.api import quantity
from kubelite.api.printers import cells, columns
from kubelite.api.printers.columns import column

Obj = dict[str, Any]
_RESOURCES = ("cpu", "memory")


def _columns() -> list[dict[str, Any]]:
    return [column("Name", description="Name of the resource", fmt="name"),
            *(column(r, fmt="quantity") for r in _RESOURCES),
            column("Window", fmt="duration")]


def _node(obj: Obj, now: datetime) -> list[Any]:
    usage = obj.get("usage") or {}
    return [cells.name(obj), *(cells.qty(usage.get(r)) for r in _RESOURCES),
            str(obj.get("window", ""))]


def _pod(obj: Obj, now: datetime) -> list[Any]:
    totals = []
    for r in _RESOURCES:
        parsed = [quantity.parse(c["usage"][r]) for c in obj.get("containers") or []
                  if r in (c.get("usage") or {})]
        amount = sum((q.amount for q in parsed), start=Fraction(0))
        fmt = parsed[0].format if parsed else quantity.DECIMAL_SI
        totals.append(quantity.format_quantity(quantity.Quantity(amount, fmt)))
    return [cells.name(obj), *totals, str(obj.get("window", ""))]


def printers() -> dict[tuple[str, str], columns.Printer]:
    return {("metrics.k8s.io", "NodeMetrics"): columns.printer(_columns(), _node),
            ("metrics.k8s.io", "PodMetrics"): columns.printer(_columns(), _pod)}
