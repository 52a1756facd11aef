"""NodeResourcesBalancedAllocation: prefer nodes where CPU and memory would be used in
similar fractions after placing the pod (1 - standard deviation of the fractions)."""

from __future__ import annotations

import math
from typing import Any

from kubelite.scheduler import handle as handle_mod
from kubelite.scheduler import nodeinfo, podinfo, protocol, resources
from kubelite.scheduler.plugins import scoring

NAME = "NodeResourcesBalancedAllocation"


def balanced_score(fractions: list[float]) -> int:
    """(1 - std) * 100 over fractions capped at 1, truncated as upstream."""
    if len(fractions) == 2:
        std = abs(fractions[0] - fractions[1]) / 2
    elif fractions:
        mean = sum(fractions) / len(fractions)
        std = math.sqrt(sum((f - mean) ** 2 for f in fractions) / len(fractions))
    else:
        std = 0.0
    return int((1 - std) * protocol.MAX_NODE_SCORE)


class NodeResourcesBalancedAllocation:
    name = NAME

    def __init__(self) -> None:
        self._memo: scoring.Memo = {}

    def pre_score(
        self, state: protocol.CycleState, pod: podinfo.PodInfo, nodes: list[nodeinfo.NodeInfo]
    ) -> protocol.Status | None:
        """A pod that requests neither CPU nor memory cannot unbalance a node."""
        if not pod.requests.milli_cpu and not pod.requests.memory:
            return protocol.SKIP
        return None

    def score(self, state: protocol.CycleState, pod: podinfo.PodInfo, node: nodeinfo.NodeInfo) -> int:
        return self.score_nodes(state, pod, [node])[0]

    def score_nodes(
        self, state: protocol.CycleState, pod: podinfo.PodInfo, nodes: list[nodeinfo.NodeInfo]
    ) -> list[int]:
        return scoring.memoized_scores(self._memo, pod, nodes, lambda node: self._score(pod.requests, node))

    def _score(self, want: resources.Resource, node: nodeinfo.NodeInfo) -> int:
        alloc, used = node.allocatable, node.requested
        fractions = []
        if alloc.milli_cpu:
            fractions.append(min((used.milli_cpu + want.milli_cpu) / alloc.milli_cpu, 1.0))
        if alloc.memory:
            fractions.append(min((used.memory + want.memory) / alloc.memory, 1.0))
        return balanced_score(fractions)

    def events_to_register(self) -> tuple[protocol.ClusterEvent, ...]:
        return (protocol.NODE_ADD, protocol.NODE_UPDATE, protocol.ASSIGNED_POD_DELETE)


def new(args: dict[str, Any] | None, handle: handle_mod.Handle) -> NodeResourcesBalancedAllocation:
    return NodeResourcesBalancedAllocation()
