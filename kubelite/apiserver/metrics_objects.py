"""NodeMetrics and PodMetrics (metrics.k8s.io/v1beta1) from a node's stats summary.

Shapes and rules follow metrics-server: metadata carries the name (and namespace), the
node's or pod's labels and creationTimestamp = now; `usage` has cpu (from nanocores,
DecimalSI) and memory (the working set, BinarySI); `timestamp` is when the node sampled
and `window` the span the CPU rate covers. A pod is reported only when every one of its
running containers has both figures, a node only when it has both.

The summary has no window field; its CPU rate covers the nodes' sampling interval
(SAMPLING_WINDOW, their default), so that is the window reported, as metrics-server
reported its source's window when it read summaries.
"""

from __future__ import annotations

import functools
from datetime import UTC, datetime
from fractions import Fraction
from typing import Any

from kubelite.api import quantity

Obj = dict[str, Any]
API_VERSION = "metrics.k8s.io/v1beta1"
SAMPLING_WINDOW = 10.0            # seconds: the node agents' stats sampling interval
HOLLOW_ANNOTATION = "kwok.x-k8s.io/node"


@functools.lru_cache(maxsize=4096)   # summaries are cached, so figures repeat
def cpu_quantity(nano_cores: int) -> str:
    return quantity.format_quantity(quantity.Quantity(Fraction(nano_cores, 10**9),
                                                      quantity.DECIMAL_SI))


@functools.lru_cache(maxsize=4096)
def memory_quantity(num_bytes: int) -> str:
    return quantity.format_quantity(quantity.from_int(num_bytes, quantity.BINARY_SI))


def go_duration(seconds: float) -> str:
    """A duration as Go's time.Duration prints it ("10s", "1m0.5s", "250ms")."""
    ns = round(seconds * 1e9)
    if ns == 0:
        return "0s"
    sign, ns = ("-", -ns) if ns < 0 else ("", ns)
    if ns < 10**9:
        for unit, size in (("ms", 10**6), ("µs", 10**3), ("ns", 1)):
            if ns >= size:
                return sign + _trim(Fraction(ns, size)) + unit
    hours, rest = divmod(ns, 3600 * 10**9)
    minutes, rest = divmod(rest, 60 * 10**9)
    text = _trim(Fraction(rest, 10**9)) + "s"
    if hours:
        return f"{sign}{hours}h{minutes}m{text}"
    return f"{sign}{minutes}m{text}" if minutes else sign + text


def _trim(value: Fraction) -> str:
    whole, frac = divmod(value, 1)
    if not frac:
        return str(whole)
    digits = f"{float(frac):.9f}"[2:].rstrip("0")
    return f"{whole}.{digits}"


_WINDOW = go_duration(SAMPLING_WINDOW)


def _usage(stats: Obj) -> tuple[Obj, str] | None:
    """({cpu, memory}, timestamp) of a summary entry, or None when a figure is missing."""
    cpu, mem = stats.get("cpu") or {}, stats.get("memory") or {}
    if cpu.get("usageNanoCores") is None or mem.get("workingSetBytes") is None:
        return None
    stamp = min(t for t in (cpu.get("time"), mem.get("time")) if t) if (
        cpu.get("time") or mem.get("time")) else ""
    return ({"cpu": cpu_quantity(int(cpu["usageNanoCores"])),
             "memory": memory_quantity(int(mem["workingSetBytes"]))}, stamp)


@functools.lru_cache(maxsize=16)
def _stamp(now: datetime) -> str:
    return now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _meta(obj: Obj, now: datetime) -> Obj:
    src = obj.get("metadata") or {}
    meta: Obj = {"name": src.get("name", "")}
    if src.get("namespace"):
        meta["namespace"] = src["namespace"]
    meta["creationTimestamp"] = _stamp(now)
    if src.get("labels"):
        meta["labels"] = dict(src["labels"])
    return meta


def node_metrics(node: Obj, summary: Obj, now: datetime) -> Obj | None:
    """The NodeMetrics of `node` from its summary, or None when it lacks a figure."""
    found = _usage(summary.get("node") or {})
    if found is None:
        return None
    usage, stamp = found
    return {"kind": "NodeMetrics", "apiVersion": API_VERSION, "metadata": _meta(node, now),
            "timestamp": stamp, "window": _WINDOW, "usage": usage}


def pods_by_name(summary: Obj) -> dict[tuple[str, str], Obj]:
    """The summary's pod entries by (namespace, name)."""
    out = {}
    for entry in summary.get("pods") or []:
        ref = entry.get("podRef") or {}
        out[(ref.get("namespace", ""), ref.get("name", ""))] = entry
    return out


def pod_metrics(pod: Obj, entry: Obj, now: datetime) -> Obj | None:
    """The PodMetrics of `pod` from its summary entry, or None if any container lacks a
    figure, there are no containers, or the entry is of an older pod of the same name."""
    uid = (pod.get("metadata") or {}).get("uid")
    if uid and (entry.get("podRef") or {}).get("uid") not in (None, "", uid):
        return None
    containers, stamps = [], []
    for c in entry.get("containers") or []:
        found = _usage(c)
        if found is None:
            return None
        containers.append({"name": c.get("name", ""), "usage": found[0]})
        stamps.append(found[1])
    if not containers:
        return None
    return {"kind": "PodMetrics", "apiVersion": API_VERSION, "metadata": _meta(pod, now),
            "timestamp": min(stamps), "window": _WINDOW,
            "containers": containers}


def is_hollow(node: Obj) -> bool:
    """Simulated (kwok-style) nodes run no processes and serve no node API."""
    return bool(((node.get("metadata") or {}).get("annotations") or {}).get(HOLLOW_ANNOTATION))


def hollow_summary(node: Obj, pods: list[Obj], now: datetime) -> Obj:
    """A simulated node's summary: zero usage for it and its running pods' containers,
    which is what they really use."""
    stamp = _stamp(now)
    zero = {"cpu": {"time": stamp, "usageNanoCores": 0, "usageCoreNanoSeconds": 0},
            "memory": {"time": stamp, "workingSetBytes": 0, "usageBytes": 0}}
    entries = []
    for pod in pods:
        if (pod.get("status") or {}).get("phase") != "Running":
            continue
        meta = pod["metadata"]
        entries.append({"podRef": {"name": meta["name"], "namespace": meta.get("namespace", ""),
                                   "uid": meta.get("uid", "")},
                        "containers": [{"name": c["name"], **zero}
                                       for c in (pod.get("spec") or {}).get("containers") or []]})
    return {"node": {"nodeName": node["metadata"]["name"], **zero}, "pods": entries}
