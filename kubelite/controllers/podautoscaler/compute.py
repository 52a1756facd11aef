"""Evaluating every metric of an HPA: the largest proposal wins, invalid metrics block a
scale-down (upstream's computeReplicasForMetrics).

Resource and ContainerResource metrics are computed from the resource metrics API; Pods,
Object and External metrics need the custom/external metrics APIs, which are not served,
so they count as invalid with upstream's FailedGet<Type>Metric reason.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from kubelite.api import quantity
from kubelite.controllers.podautoscaler import metrics, replicas
from kubelite.controllers.podautoscaler import status as st

Obj = dict[str, Any]


@dataclass
class Outcome:
    replicas: int                       # -1 when the metrics cannot justify any count
    metric: str = ""                    # the name of the metric that set the count
    statuses: list[Obj] = field(default_factory=list)
    error: str = ""
    active: tuple[bool, str, str] = (True, "", "")   # ScalingActive status, reason, message
    failures: list[tuple[str, str]] = field(default_factory=list)   # events: reason, message


async def _resource(spec: Obj, current: int, pods: list[Obj], source: metrics.Source,
                    namespace: str, selector: str, now: datetime) -> replicas.Result:
    src = spec[st.KEYS[spec["type"]]]
    name, container = src["name"], src.get("container", "")
    target = src.get("target") or {}
    found = await source.pod_metrics(namespace, selector, name, container)
    if target.get("type") == "Utilization":
        try:
            return replicas.utilization_replicas(
                current, int(target.get("averageUtilization") or 0), pods, found,
                resource=name, now=now, container=container)
        except replicas.MetricsError as e:
            raise replicas.MetricsError(f"failed to get {name} utilization: {e}") from e
    try:
        return replicas.average_value_replicas(
            current, quantity.milli_value(target.get("averageValue") or 0), pods, found,
            resource=name, now=now)
    except replicas.MetricsError as e:
        raise replicas.MetricsError(f"failed to get {name} usage: {e}") from e


async def _one(spec: Obj, current: int, pods: list[Obj], source: metrics.Source,
               namespace: str, selector: str, now: datetime) -> replicas.Result:
    if spec.get("type") not in ("Resource", "ContainerResource"):
        raise replicas.MetricsError(f"unable to get {st.metric_name(spec)}: the custom and "
                                    "external metrics APIs are not served")
    return await _resource(spec, current, pods, source, namespace, selector, now)


async def for_metrics(specs: list[Obj], current: int, pods: list[Obj], source: metrics.Source,
                      *, namespace: str, selector: str, now: datetime) -> Outcome:
    """The replica count all metrics together ask for, their statuses and any failure."""
    out = Outcome(replicas=0)
    invalid, first_error = 0, ""
    failed: tuple[bool, str, str] | None = None
    for spec in specs:
        try:
            result = await _one(spec, current, pods, source, namespace, selector, now)
        except replicas.MetricsError as e:
            invalid += 1
            first_error = first_error or str(e)
            reason = st.failure_reason(spec)
            out.failures.append((reason, str(e)))
            failed = failed or (False, reason,
                                f"the HPA was unable to compute the replica count: {e}")
            out.statuses.append({"type": ""})
            continue
        out.statuses.append(st.metric_status(spec, result))
        if not out.metric or result.replicas > out.replicas:
            out.replicas, out.metric = result.replicas, st.metric_name(spec)
    if invalid >= len(specs) or (invalid and out.replicas < current):
        out.error = (f"invalid metrics ({invalid} invalid out of {len(specs)}), "
                     f"first error is: {first_error}")
        out.active = failed or (False, "", "")
        out.replicas = -1
        return out
    out.active = (True, "ValidMetricFound", ("the HPA was able to successfully calculate a "
                  f"replica count from {out.metric}"))
    return out
