"""TaintToleration: NoSchedule/NoExecute taints a pod does not tolerate keep it off a
node; untolerated PreferNoSchedule taints lower the node's score."""

from __future__ import annotations

from typing import Any

from kubelite.api import taints
from kubelite.scheduler import handle as handle_mod
from kubelite.scheduler import nodeinfo, podinfo, protocol
from kubelite.scheduler.plugins import scoring

NAME = "TaintToleration"
REASON_PREFIX = "node(s) had untolerated taint "


class TaintToleration:
    name = NAME

    def __init__(self, handle: handle_mod.Handle) -> None:
        self.cache = handle.cache

    def pre_filter(
        self, state: protocol.CycleState, pod: podinfo.PodInfo, nodes: list[nodeinfo.NodeInfo]
    ) -> tuple[protocol.PreFilterResult | None, protocol.Status | None]:
        """Nothing to check while no node has a NoSchedule/NoExecute taint."""
        return None, (None if self.cache.hard_tainted_nodes else protocol.SKIP)

    def filter(
        self, state: protocol.CycleState, pod: podinfo.PodInfo, node: nodeinfo.NodeInfo
    ) -> protocol.Status | None:
        if not node.hard_taints:
            return None
        taint = taints.first_untolerated(node.hard_taints, pod.tolerations)
        if taint is None:
            return None
        reason = REASON_PREFIX + taints.describe(taint)
        return protocol.Status(protocol.Code.UNSCHEDULABLE_AND_UNRESOLVABLE, (reason,), NAME)

    def pre_score(
        self, state: protocol.CycleState, pod: podinfo.PodInfo, nodes: list[nodeinfo.NodeInfo]
    ) -> protocol.Status | None:
        """Only tolerations that can tolerate PreferNoSchedule matter for the score. Without
        PreferNoSchedule taints every node would score the same, so the plugin sits out."""
        if not self.cache.prefer_tainted_nodes:
            return protocol.SKIP
        state[NAME] = [
            t for t in pod.tolerations if (t.get("effect") or "PreferNoSchedule") == "PreferNoSchedule"
        ]
        return None

    def score(self, state: protocol.CycleState, pod: podinfo.PodInfo, node: nodeinfo.NodeInfo) -> int:
        if not node.prefer_taints:
            return 0
        tolerations = state[NAME]
        return sum(1 for taint in node.prefer_taints if not taints.tolerated(tolerations, taint))

    def normalize_score(self, state: protocol.CycleState, pod: podinfo.PodInfo, scores: list[int]) -> None:
        scoring.default_normalize(scores, reverse=True)

    def events_to_register(self) -> tuple[protocol.ClusterEvent, ...]:
        return (protocol.NODE_ADD, protocol.NODE_UPDATE)


def new(args: dict[str, Any] | None, handle: handle_mod.Handle) -> TaintToleration:
    return TaintToleration(handle)
