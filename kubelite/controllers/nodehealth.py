"""Node health as the node lifecycle controller judges it: pure functions over Nodes.

- `stale_conditions`: the conditions a node gets when its kubelet stopped reporting
  (Ready, MemoryPressure, DiskPressure and PIDPressure become Unknown).
- `no_schedule_taints`: the NoSchedule taints its conditions imply (TaintNodesByCondition).
- `no_execute_taint`: the NoExecute taint its Ready condition implies, if any.
- `zone_state`: Normal, PartialDisruption or FullDisruption from the Ready conditions of a
  zone's nodes, and `eviction_rate` for a zone in that state.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from typing import Any

from kubelite.controllers import conditions

Obj = dict[str, Any]

NOT_READY = "node.kubernetes.io/not-ready"
UNREACHABLE = "node.kubernetes.io/unreachable"
UNSCHEDULABLE = "node.kubernetes.io/unschedulable"
# condition type -> {status that taints: taint key}
CONDITION_TAINTS = {
    "Ready": {"False": NOT_READY, "Unknown": UNREACHABLE},
    "MemoryPressure": {"True": "node.kubernetes.io/memory-pressure"},
    "DiskPressure": {"True": "node.kubernetes.io/disk-pressure"},
    "NetworkUnavailable": {"True": "node.kubernetes.io/network-unavailable"},
    "PIDPressure": {"True": "node.kubernetes.io/pid-pressure"},
}
NO_SCHEDULE_KEYS = frozenset([k for m in CONDITION_TAINTS.values() for k in m.values()]
                             + [UNSCHEDULABLE])
NO_EXECUTE_KEYS = frozenset([NOT_READY, UNREACHABLE])
MONITORED_CONDITIONS = ("Ready", "MemoryPressure", "DiskPressure", "PIDPressure")

NORMAL = "Normal"
PARTIAL_DISRUPTION = "PartialDisruption"
FULL_DISRUPTION = "FullDisruption"
ZONE_LABEL = "topology.kubernetes.io/zone"
REGION_LABEL = "topology.kubernetes.io/region"


def ready_status(node: Obj) -> str:
    """"True", "False" or "Unknown" (a node that never reported counts as Unknown)."""
    c = conditions.of(node, "Ready")
    return str(c.get("status", "Unknown")) if c else "Unknown"


def parse_time(value: str | None) -> datetime.datetime | None:
    if not value:
        return None
    try:
        return datetime.datetime.fromisoformat(value)
    except ValueError:
        return None


def stale_conditions(node: Obj, now: str) -> list[Obj]:
    """The node's conditions once its kubelet is presumed gone: each monitored condition
    Unknown (added when missing, as never reported), the others left as they are."""
    conditions = [dict(c) for c in (node.get("status") or {}).get("conditions") or []]
    by_type = {c.get("type"): c for c in conditions}
    for type_ in MONITORED_CONDITIONS:
        c = by_type.get(type_)
        if c is None:
            conditions.append({"type": type_, "status": "Unknown",
                               "reason": "NodeStatusNeverUpdated",
                               "message": "Kubelet never posted node status.",
                               "lastHeartbeatTime": node["metadata"].get("creationTimestamp"),
                               "lastTransitionTime": now})
        elif c.get("status") != "Unknown":
            c.update(status="Unknown", reason="NodeStatusUnknown",
                     message="Kubelet stopped posting node status.", lastTransitionTime=now)
    return conditions


def no_schedule_taints(node: Obj) -> list[Obj]:
    """The NoSchedule taints the node's conditions and spec.unschedulable call for."""
    keys = []
    for c in (node.get("status") or {}).get("conditions") or []:
        key = CONDITION_TAINTS.get(c.get("type", ""), {}).get(c.get("status", ""))
        if key:
            keys.append(key)
    if (node.get("spec") or {}).get("unschedulable"):
        keys.append(UNSCHEDULABLE)
    return [{"key": k, "effect": "NoSchedule"} for k in sorted(set(keys))]


def no_execute_taint(node: Obj) -> str | None:
    """The NoExecute taint key the Ready condition calls for, if any."""
    status = ready_status(node)
    if status == "False":
        return NOT_READY
    if status == "Unknown":
        return UNREACHABLE
    return None


def with_taints(taints: Iterable[Obj], effect: str, managed: frozenset[str],
                wanted: list[Obj]) -> list[Obj]:
    """Replace the taints of `effect` whose keys this controller manages by `wanted`,
    keeping a taint (and its timeAdded) that is already there."""
    current = list(taints)
    have = {(t.get("key"), t.get("effect")): t for t in current}
    out = [t for t in current if not (t.get("effect") == effect and t.get("key") in managed)]
    for w in wanted:
        out.append(have.get((w["key"], effect), w))
    return out


def zone_of(node: Obj) -> str:
    labels = node["metadata"].get("labels") or {}
    return f"{labels.get(REGION_LABEL, '')}:\x00:{labels.get(ZONE_LABEL, '')}"


def zone_state(ready: list[str], unhealthy_threshold: float = 0.55) -> str:
    """A zone with no Ready node is fully disrupted; more than two unready nodes making up
    at least the threshold share of it is a partial disruption."""
    ok = sum(1 for s in ready if s == "True")
    bad = len(ready) - ok
    if ok == 0 and bad > 0:
        return FULL_DISRUPTION
    if bad > 2 and bad / len(ready) >= unhealthy_threshold:
        return PARTIAL_DISRUPTION
    return NORMAL


def eviction_rate(state: str, zone_size: int, *, qps: float, secondary_qps: float,
                  large_cluster: int) -> float:
    """Nodes per second that may be tainted NoExecute in a zone in `state`."""
    if state == PARTIAL_DISRUPTION:
        return secondary_qps if zone_size > large_cluster else 0.0
    return qps


class TokenBucket:
    """`rate` tokens a second up to `burst`; a zero rate hands out nothing."""

    def __init__(self, rate: float, burst: int = 1, *, now: float = 0.0) -> None:
        self.rate, self.burst = rate, burst
        self.tokens = float(burst)
        self.stamp = now

    def set_rate(self, rate: float, now: float) -> None:
        self._fill(now)
        self.rate = rate

    def _fill(self, now: float) -> None:
        if self.rate > 0:
            self.tokens = min(float(self.burst), self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now

    def take(self, now: float) -> bool:
        self._fill(now)
        if self.rate <= 0 or self.tokens < 1:
            return False
        self.tokens -= 1
        return True
