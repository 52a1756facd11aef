"""NodeName: a pod that names its node fits only there."""

from __future__ import annotations

from typing import Any

from kubelite.scheduler import handle as handle_mod
from kubelite.scheduler import nodeinfo, podinfo, protocol

NAME = "NodeName"
REASON = "node(s) didn't match the requested node name"
_REJECT = protocol.Status(protocol.Code.UNSCHEDULABLE_AND_UNRESOLVABLE, (REASON,), NAME)


class NodeName:
    name = NAME

    def pre_filter(
        self, state: protocol.CycleState, pod: podinfo.PodInfo, nodes: list[nodeinfo.NodeInfo]
    ) -> tuple[protocol.PreFilterResult | None, protocol.Status | None]:
        """Nothing to check when the pod names no node."""
        return None, (None if pod.node_name else protocol.SKIP)

    def filter(
        self, state: protocol.CycleState, pod: podinfo.PodInfo, node: nodeinfo.NodeInfo
    ) -> protocol.Status | None:
        return None if not pod.node_name or pod.node_name == node.name else _REJECT

    def events_to_register(self) -> tuple[protocol.ClusterEvent, ...]:
        return (protocol.NODE_ADD, protocol.NODE_UPDATE)


def new(args: dict[str, Any] | None, handle: handle_mod.Handle) -> NodeName:
    return NodeName()
