"""NodeAffinity: spec.nodeSelector and required node affinity filter nodes; preferred
node affinity terms add their weights to a node's score."""

from __future__ import annotations

from typing import Any

from kubelite.api import nodeselector
from kubelite.scheduler import handle as handle_mod
from kubelite.scheduler import nodeinfo, podinfo, protocol
from kubelite.scheduler.plugins import scoring

NAME = "NodeAffinity"
REASON = "node(s) didn't match Pod's node affinity/selector"
_REJECT = protocol.Status(protocol.Code.UNSCHEDULABLE_AND_UNRESOLVABLE, (REASON,), NAME)
_PREFERRED = "preferredDuringSchedulingIgnoredDuringExecution"


def preferred_of(spec: dict[str, Any]) -> list[dict[str, Any]]:
    return ((spec.get("affinity") or {}).get("nodeAffinity") or {}).get(_PREFERRED) or []


class NodeAffinity:
    name = NAME

    def __init__(self, added_affinity: dict[str, Any] | None = None) -> None:
        self.added = nodeselector.required_of({"affinity": {"nodeAffinity": added_affinity}}) if added_affinity else None

    def pre_filter(
        self, state: protocol.CycleState, pod: podinfo.PodInfo, nodes: list[nodeinfo.NodeInfo]
    ) -> tuple[protocol.PreFilterResult | None, protocol.Status | None]:
        required = nodeselector.required_of(pod.spec)
        if not required.node_selector and required.terms is None and self.added is None:
            return None, protocol.SKIP
        state[NAME] = required
        names = nodeselector.field_node_names(required.terms) if required.terms else None
        if names is not None and not names:
            return None, _REJECT
        return (protocol.PreFilterResult(names) if names is not None else None), None

    def filter(
        self, state: protocol.CycleState, pod: podinfo.PodInfo, node: nodeinfo.NodeInfo
    ) -> protocol.Status | None:
        if self.added is not None and not self.added.matches(node):
            return _REJECT
        return None if state[NAME].matches(node) else _REJECT

    def pre_score(
        self, state: protocol.CycleState, pod: podinfo.PodInfo, nodes: list[nodeinfo.NodeInfo]
    ) -> protocol.Status | None:
        preferred = preferred_of(pod.spec)
        if not preferred:
            return protocol.SKIP
        state[NAME + "/preferred"] = preferred
        return None

    def score(self, state: protocol.CycleState, pod: podinfo.PodInfo, node: nodeinfo.NodeInfo) -> int:
        total = 0
        for term in state[NAME + "/preferred"]:
            weight = term.get("weight") or 0
            if weight and nodeselector.matches_term(term.get("preference") or {}, node.labels, node.name):
                total += weight
        return total

    def normalize_score(self, state: protocol.CycleState, pod: podinfo.PodInfo, scores: list[int]) -> None:
        scoring.default_normalize(scores)

    def events_to_register(self) -> tuple[protocol.ClusterEvent, ...]:
        return (protocol.NODE_ADD, protocol.NODE_UPDATE)


def new(args: dict[str, Any] | None, handle: handle_mod.Handle) -> NodeAffinity:
    """args: {"addedAffinity": NodeAffinity} as NodeAffinityArgs upstream."""
    unknown = set(args or {}) - {"addedAffinity"}
    if unknown:
        raise ValueError(f"NodeAffinity: unknown args {sorted(unknown)}")
    return NodeAffinity((args or {}).get("addedAffinity"))
