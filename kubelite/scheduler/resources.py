"""Resource arithmetic: node allocatable and pod requests as the scheduler counts them.

A pod's request is the sum of its containers' requests (a limit stands in for a
missing request, as API defaulting does), the max with each init container (restartable
"sidecar" init containers add up), plus the pod overhead. The non-zero variant counts
an absent CPU or memory request as 100m / 200Mi, so scoring still spreads pods that
request nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from kubelite.api import quantity

DEFAULT_MILLI_CPU_REQUEST = 100
DEFAULT_MEMORY_REQUEST = 200 * 1024 * 1024
CPU, MEMORY, EPHEMERAL_STORAGE, PODS = "cpu", "memory", "ephemeral-storage", "pods"


@dataclass(slots=True)
class Resource:
    """Amounts in scheduler units: millicores, bytes, pod count, extended resources."""

    milli_cpu: int = 0
    memory: int = 0
    ephemeral_storage: int = 0
    pods: int = 0
    scalars: dict[str, int] = field(default_factory=dict)

    def add(self, other: Resource, sign: int = 1) -> None:
        self.milli_cpu += sign * other.milli_cpu
        self.memory += sign * other.memory
        self.ephemeral_storage += sign * other.ephemeral_storage
        self.pods += sign * other.pods
        for name, amount in other.scalars.items():
            self.scalars[name] = self.scalars.get(name, 0) + sign * amount

    def max_with(self, other: Resource) -> None:
        self.milli_cpu = max(self.milli_cpu, other.milli_cpu)
        self.memory = max(self.memory, other.memory)
        self.ephemeral_storage = max(self.ephemeral_storage, other.ephemeral_storage)
        for name, amount in other.scalars.items():
            self.scalars[name] = max(self.scalars.get(name, 0), amount)

    def copy(self) -> Resource:
        return Resource(self.milli_cpu, self.memory, self.ephemeral_storage, self.pods, dict(self.scalars))


def from_resource_list(rl: Mapping[str, Any] | None) -> Resource:
    """A ResourceList ({"cpu": "4", "memory": "32Gi", "pods": "110"}) in scheduler units."""
    res = Resource()
    for name, amount in (rl or {}).items():
        if name == CPU:
            res.milli_cpu += quantity.milli_value(amount)
        elif name == MEMORY:
            res.memory += quantity.value(amount)
        elif name == EPHEMERAL_STORAGE:
            res.ephemeral_storage += quantity.value(amount)
        elif name == PODS:
            res.pods += quantity.value(amount)
        else:
            res.scalars[name] = res.scalars.get(name, 0) + quantity.value(amount)
    return res


def container_requests(container: Mapping[str, Any], non_zero: bool = False) -> Resource:
    """One container's requests (limits fill in for missing requests)."""
    resources = container.get("resources") or {}
    merged = dict(resources.get("limits") or {})
    merged.update(resources.get("requests") or {})
    merged.pop(PODS, None)
    res = from_resource_list(merged)
    if non_zero:
        if CPU not in merged:
            res.milli_cpu = DEFAULT_MILLI_CPU_REQUEST
        if MEMORY not in merged:
            res.memory = DEFAULT_MEMORY_REQUEST
    return res


def pod_requests(spec: Mapping[str, Any], non_zero: bool = False) -> Resource:
    """The pod's effective request (see module docstring); `pods` is always 1."""
    total = Resource()
    for container in spec.get("containers") or ():
        total.add(container_requests(container, non_zero))
    init_max, sidecars = Resource(), Resource()
    for container in spec.get("initContainers") or ():
        reqs = container_requests(container, non_zero)
        if container.get("restartPolicy") == "Always":
            total.add(reqs)
            sidecars.add(reqs)
            reqs = sidecars.copy()
        else:
            reqs.add(sidecars)
        init_max.max_with(reqs)
    total.max_with(init_max)
    overhead = spec.get("overhead")
    if overhead:
        total.add(from_resource_list(overhead))
    total.pods = 1
    return total
