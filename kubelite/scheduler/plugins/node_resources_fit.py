"""NodeResourcesFit: a pod's requests must fit the node's allocatable minus what its pods
request (and the pod count under `pods`); scoring prefers the least allocated node
(or the most allocated one with scoringStrategy MostAllocated)."""

from __future__ import annotations

from typing import Any

from kubelite.scheduler import handle as handle_mod
from kubelite.scheduler import nodeinfo, podinfo, protocol
from kubelite.scheduler.plugins import scoring

NAME = "NodeResourcesFit"
TOO_MANY_PODS = "Too many pods"
LEAST_ALLOCATED, MOST_ALLOCATED = "LeastAllocated", "MostAllocated"
_MAX = protocol.MAX_NODE_SCORE


def insufficient(pod: podinfo.PodInfo, node: nodeinfo.NodeInfo) -> list[str]:
    """Every reason the pod does not fit (empty when it does)."""
    reasons = []
    alloc, used, want = node.allocatable, node.requested, pod.requests
    if len(node.pods) + 1 > alloc.pods:
        reasons.append(TOO_MANY_PODS)
    if want.milli_cpu and want.milli_cpu > alloc.milli_cpu - used.milli_cpu:
        reasons.append("Insufficient cpu")
    if want.memory and want.memory > alloc.memory - used.memory:
        reasons.append("Insufficient memory")
    if want.ephemeral_storage and want.ephemeral_storage > alloc.ephemeral_storage - used.ephemeral_storage:
        reasons.append("Insufficient ephemeral-storage")
    for name, amount in want.scalars.items():
        if amount and amount > alloc.scalars.get(name, 0) - used.scalars.get(name, 0):
            reasons.append(f"Insufficient {name}")
    return reasons


def least_allocated(requested: int, capacity: int) -> int:
    if capacity == 0 or requested > capacity:
        return 0
    return (capacity - requested) * _MAX // capacity


def most_allocated(requested: int, capacity: int) -> int:
    if capacity == 0:
        return 0
    return min(requested, capacity) * _MAX // capacity


class NodeResourcesFit:
    name = NAME

    def __init__(self, strategy: str = LEAST_ALLOCATED, cpu_weight: int = 1, memory_weight: int = 1) -> None:
        self.scorer = least_allocated if strategy == LEAST_ALLOCATED else most_allocated
        self.cpu_weight, self.memory_weight = cpu_weight, memory_weight
        self._memo: scoring.Memo = {}

    def filter(
        self, state: protocol.CycleState, pod: podinfo.PodInfo, node: nodeinfo.NodeInfo
    ) -> protocol.Status | None:
        want = pod.requests
        # fast path for the common case: no extended resources, everything fits
        if (
            node.free_pods > 0
            and want.milli_cpu <= node.free_cpu
            and want.memory <= node.free_memory
            and want.ephemeral_storage <= node.free_ephemeral_storage
            and not want.scalars
        ):
            return None
        reasons = insufficient(pod, node)
        return protocol.Status(protocol.Code.UNSCHEDULABLE, tuple(reasons), NAME) if reasons else None

    def score(self, state: protocol.CycleState, pod: podinfo.PodInfo, node: nodeinfo.NodeInfo) -> int:
        return self.score_nodes(state, pod, [node])[0]

    def score_nodes(
        self, state: protocol.CycleState, pod: podinfo.PodInfo, nodes: list[nodeinfo.NodeInfo]
    ) -> list[int]:
        return scoring.memoized_scores(self._memo, pod, nodes, lambda node: self._score(pod, node))

    def _score(self, pod: podinfo.PodInfo, node: nodeinfo.NodeInfo) -> int:
        alloc = node.allocatable
        total = weights = 0
        if alloc.milli_cpu:
            total += self.cpu_weight * self.scorer(node.non_zero_cpu + pod.non_zero_cpu, alloc.milli_cpu)
            weights += self.cpu_weight
        if alloc.memory:
            total += self.memory_weight * self.scorer(node.non_zero_memory + pod.non_zero_memory, alloc.memory)
            weights += self.memory_weight
        return total // weights if weights else 0

    def events_to_register(self) -> tuple[protocol.ClusterEvent, ...]:
        return (protocol.NODE_ADD, protocol.NODE_UPDATE, protocol.ASSIGNED_POD_DELETE, protocol.ASSIGNED_POD_UPDATE)


def new(args: dict[str, Any] | None, handle: handle_mod.Handle) -> NodeResourcesFit:
    """args: {"scoringStrategy": {"type": ..., "resources": [{"name": "cpu", "weight": 1}, ...]}}."""
    strategy = (args or {}).get("scoringStrategy") or {}
    kind = strategy.get("type") or LEAST_ALLOCATED
    if kind not in (LEAST_ALLOCATED, MOST_ALLOCATED):
        raise ValueError(f"NodeResourcesFit: scoring strategy {kind!r} is not supported")
    weights = {r["name"]: r.get("weight", 1) for r in strategy.get("resources") or ()}
    if set(weights) - {"cpu", "memory"}:
        raise ValueError("NodeResourcesFit: only cpu and memory can be scored")
    return NodeResourcesFit(kind, weights.get("cpu", 1), weights.get("memory", 1))
