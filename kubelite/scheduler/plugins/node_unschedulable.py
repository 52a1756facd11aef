"""NodeUnschedulable: cordoned nodes (spec.unschedulable) take only pods that tolerate it."""

from __future__ import annotations

from typing import Any

from kubelite.api import taints
from kubelite.scheduler import handle as handle_mod
from kubelite.scheduler import nodeinfo, podinfo, protocol

NAME = "NodeUnschedulable"
REASON = "node(s) were unschedulable"
TAINT = {"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"}
_REJECT = protocol.Status(protocol.Code.UNSCHEDULABLE_AND_UNRESOLVABLE, (REASON,), NAME)


class NodeUnschedulable:
    name = NAME

    def __init__(self, handle: handle_mod.Handle) -> None:
        self.cache = handle.cache

    def pre_filter(
        self, state: protocol.CycleState, pod: podinfo.PodInfo, nodes: list[nodeinfo.NodeInfo]
    ) -> tuple[protocol.PreFilterResult | None, protocol.Status | None]:
        """Nothing to check while no node is cordoned."""
        return None, (None if self.cache.unschedulable_nodes else protocol.SKIP)

    def filter(
        self, state: protocol.CycleState, pod: podinfo.PodInfo, node: nodeinfo.NodeInfo
    ) -> protocol.Status | None:
        if not node.unschedulable or taints.tolerated(pod.tolerations, TAINT):
            return None
        return _REJECT

    def events_to_register(self) -> tuple[protocol.ClusterEvent, ...]:
        return (protocol.NODE_ADD, protocol.NODE_UPDATE)


def new(args: dict[str, Any] | None, handle: handle_mod.Handle) -> NodeUnschedulable:
    return NodeUnschedulable(handle)
