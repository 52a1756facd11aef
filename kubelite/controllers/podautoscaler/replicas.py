"""The replica calculator: how many pods a resource metric asks for (upstream's
ReplicaCalculator for Resource and ContainerResource metrics, in a pure form).

Pods are grouped first: deleted or failed pods are ignored; pending pods, and for CPU
pods still starting up, are "unready"; running pods without a metric are "missing".
Only ready pods with metrics set the usage ratio. If the ratio is within tolerance of 1
nothing changes. Otherwise missing pods are assumed to use 100% of their request when
scaling down and 0% when scaling up, and unready pods 0% when scaling up, so neither can
push a decision further than the measured pods justify; if that assumption flips or
cancels the direction, the current count stays.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from kubelite.api import quantity
from kubelite.controllers import conditions

Obj = dict[str, Any]
TOLERANCE = 0.1
CPU_INITIALIZATION_PERIOD = 300.0      # seconds after start when CPU samples are suspect
INITIAL_READINESS_DELAY = 30.0         # seconds in which a pod may still turn ready


class MetricsError(Exception):
    """The metric cannot give a replica count; the message is upstream's."""


@dataclass(frozen=True)
class PodMetric:
    """One pod's usage of a resource (milli-units), when it was sampled, over what span."""
    value: int
    timestamp: datetime
    window: timedelta = timedelta(seconds=10)


@dataclass(frozen=True)
class Result:
    replicas: int
    utilization: int          # percent of request, or the average value (milli) for values
    raw_average: int          # average usage per pod, milli-units
    timestamp: datetime | None


@dataclass
class _Groups:
    ready: dict[str, int] = field(default_factory=dict)
    unready: set[str] = field(default_factory=set)
    missing: set[str] = field(default_factory=set)


def _parse_time(text: str | None) -> datetime | None:
    if not text:
        return None
    return datetime.fromisoformat(text)


def _cpu_unready(pod: Obj, metric: PodMetric, now: datetime) -> bool:
    """upstream: a starting pod's CPU sample is trusted only once it is ready and the
    sample was taken after it became so; later, only pods that never turned ready early
    enough are unready."""
    ready = conditions.of(pod, "Ready")
    start = _parse_time((pod.get("status") or {}).get("startTime"))
    if ready is None or start is None:
        return True
    transition = _parse_time(ready.get("lastTransitionTime")) or start
    is_ready = ready.get("status") == "True"
    if start + timedelta(seconds=CPU_INITIALIZATION_PERIOD) > now:
        return not is_ready or metric.timestamp < transition + metric.window
    return not is_ready and transition < start + timedelta(seconds=INITIAL_READINESS_DELAY)


def group_pods(pods: list[Obj], metrics: dict[str, PodMetric], resource: str,
               now: datetime) -> _Groups:
    """Sort pods into ready-with-metric, unready and missing; ignored pods are left out."""
    groups = _Groups()
    for pod in pods:
        name, status = pod["metadata"]["name"], pod.get("status") or {}
        if pod["metadata"].get("deletionTimestamp") or status.get("phase") == "Failed":
            continue
        if status.get("phase") == "Pending":
            groups.unready.add(name)
            continue
        metric = metrics.get(name)
        if metric is None:
            groups.missing.add(name)
        elif resource == "cpu" and _cpu_unready(pod, metric, now):
            groups.unready.add(name)
        else:
            groups.ready[name] = metric.value
    return groups


def pod_requests(pods: list[Obj], resource: str, container: str = "") -> dict[str, int]:
    """Each pod's request of `resource` (milli-units), summed over its containers."""
    out = {}
    for pod in pods:
        total = 0
        for c in (pod.get("spec") or {}).get("containers") or []:
            if container and c.get("name") != container:
                continue
            req = ((c.get("resources") or {}).get("requests") or {}).get(resource)
            if req is None:
                raise MetricsError(f"missing request for {resource} in container "
                                   f"{c.get('name', '')} of Pod {pod['metadata']['name']}")
            total += quantity.milli_value(req)
        out[pod["metadata"]["name"]] = total
    return out


def utilization_ratio(usage: dict[str, int], requests: dict[str, int],
                      target: int) -> tuple[float, int, int]:
    """(usage ratio, utilization %, raw average milli) over the pods in `usage`."""
    used = requested = 0
    for name, value in usage.items():
        if name not in requests:
            continue
        used += value
        requested += requests[name]
    if requested == 0:
        raise MetricsError("no metrics returned matched known pods")
    percent = int(used * 100 / requested)
    return percent / target, percent, used // len(usage)


def _settle(current: int, ratio: float, new_ratio: float, count: int) -> int:
    """The final count once assumed values for unready/missing pods are in."""
    if abs(1.0 - new_ratio) <= TOLERANCE or (ratio < 1.0 < new_ratio) or (
            ratio > 1.0 > new_ratio):
        return current
    wanted = math.ceil(new_ratio * count)
    if (new_ratio < 1.0 and wanted > current) or (new_ratio > 1.0 and wanted < current):
        return current
    return wanted


def _decide(current: int, groups: _Groups, ratio_of: Callable[[dict[str, int]], float],
            assumed_missing: Callable[[str], int]) -> int:
    """upstream's decision once the measured ratio is known (see the module docstring)."""
    usage = dict(groups.ready)
    ratio = ratio_of(usage)
    with_unready = bool(groups.unready) and ratio > 1.0
    if not with_unready and not groups.missing:
        if abs(1.0 - ratio) <= TOLERANCE:
            return current
        return math.ceil(ratio * len(usage))
    for name in groups.missing:
        usage[name] = assumed_missing(name) if ratio < 1.0 else 0
    if with_unready:
        usage.update(dict.fromkeys(groups.unready, 0))
    return _settle(current, ratio, ratio_of(usage), len(usage))


def _grouped(resource: str, metrics: dict[str, PodMetric], pods: list[Obj],
             now: datetime) -> _Groups:
    if not metrics:
        raise MetricsError(f"unable to get metrics for resource {resource}: "
                           "no metrics returned from resource metrics API")
    if not pods:
        raise MetricsError("no pods returned by selector while calculating replica count")
    groups = group_pods(pods, metrics, resource, now)
    if not groups.ready:
        raise MetricsError("did not receive metrics for targeted pods (pods might be unready)")
    return groups


def utilization_replicas(current: int, target: int, pods: list[Obj],
                         metrics: dict[str, PodMetric], *, resource: str, now: datetime,
                         container: str = "") -> Result:
    """Replicas for a target utilization (percent of request)."""
    groups = _grouped(resource, metrics, pods, now)
    requests = pod_requests(pods, resource, container)
    _, percent, raw = utilization_ratio(groups.ready, requests, target)
    wanted = _decide(current, groups, lambda u: utilization_ratio(u, requests, target)[0],
                     requests.__getitem__)
    return Result(wanted, percent, raw, _oldest(metrics, groups.ready))


def average_value_replicas(current: int, target_milli: int, pods: list[Obj],
                           metrics: dict[str, PodMetric], *, resource: str,
                           now: datetime) -> Result:
    """Replicas for a target average value per pod (milli-units)."""
    groups = _grouped(resource, metrics, pods, now)
    raw = sum(groups.ready.values()) // len(groups.ready)
    wanted = _decide(current, groups,
                     lambda u: sum(u.values()) / (target_milli * len(u)),
                     lambda _name: target_milli)
    return Result(wanted, raw, raw, _oldest(metrics, groups.ready))


def _oldest(metrics: dict[str, PodMetric], names: dict[str, int]) -> datetime | None:
    stamps = [metrics[n].timestamp for n in names if n in metrics]
    return min(stamps) if stamps else None
