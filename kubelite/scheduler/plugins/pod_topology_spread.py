"""PodTopologySpread: keep matching pods evenly spread over topology domains.

DoNotSchedule constraints filter (skew = matching pods in the node's domain + self -
global minimum must not exceed maxSkew); ScheduleAnyway constraints, or the system
default constraints (hostname maxSkew 3, zone maxSkew 5) for pods that set none and are
selected by a Service/ReplicaSet/..., score (fewer matching pods is better).
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from typing import Any

from kubelite.api import labels as api_labels
from kubelite.api import nodeselector, taints
from kubelite.scheduler import handle as handle_mod
from kubelite.scheduler import nodeinfo, podinfo, protocol

NAME = "PodTopologySpread"
REASON = "node(s) didn't match pod topology spread constraints"
MISSING_LABEL_REASON = "node(s) didn't match pod topology spread constraints (missing required label)"
SYSTEM_DEFAULT_CONSTRAINTS = (
    {"maxSkew": 3, "topologyKey": podinfo.HOSTNAME_LABEL, "whenUnsatisfiable": "ScheduleAnyway"},
    {"maxSkew": 5, "topologyKey": podinfo.ZONE_LABEL, "whenUnsatisfiable": "ScheduleAnyway"},
)
_SCORE = NAME + "/score"


@dataclass(frozen=True, slots=True)
class Constraint:
    max_skew: int
    topology_key: str
    selector: api_labels.Selector
    min_domains: int
    honor_affinity: bool
    honor_taints: bool


def constraints_of(pod: podinfo.PodInfo, action: str) -> list[Constraint]:
    """The pod's own constraints with whenUnsatisfiable == action."""
    out = []
    for raw in pod.spec.get("topologySpreadConstraints") or ():
        if raw.get("whenUnsatisfiable", "DoNotSchedule") != action:
            continue
        selector = api_labels.from_label_selector(raw.get("labelSelector"))
        extra = tuple(
            api_labels.requirement(key, api_labels.IN, [pod.labels[key]])
            for key in raw.get("matchLabelKeys") or () if key in pod.labels
        )
        if extra and not selector.nothing:
            selector = api_labels.Selector(selector.requirements + extra)
        out.append(_constraint(raw, selector))
    return out


def _constraint(raw: dict[str, Any], selector: api_labels.Selector) -> Constraint:
    return Constraint(
        max_skew=raw.get("maxSkew") or 1,
        topology_key=raw["topologyKey"],
        selector=selector,
        min_domains=raw.get("minDomains") or 1,
        honor_affinity=(raw.get("nodeAffinityPolicy") or "Honor") == "Honor",
        honor_taints=(raw.get("nodeTaintsPolicy") or "Ignore") == "Honor",
    )


def count_matching(node: nodeinfo.NodeInfo, selector: api_labels.Selector, namespace: str) -> int:
    """Pods on the node in the namespace that the selector picks (terminating ones excluded)."""
    count = 0
    for pod in node.pods.values():
        terminating = (pod.pod.get("metadata") or {}).get("deletionTimestamp")
        if pod.namespace == namespace and not terminating and selector.matches(pod.labels):
            count += 1
    return count


def _eligible(node: nodeinfo.NodeInfo, pod: podinfo.PodInfo, required: nodeselector.Required, c: Constraint) -> bool:
    if c.honor_affinity and not required.matches(node):
        return False
    return not (c.honor_taints and taints.first_untolerated(node.hard_taints, pod.tolerations) is not None)


class _FilterState:
    __slots__ = ("constraints", "counts", "minimum", "self_match")

    def __init__(self, constraints: list[Constraint], pod: podinfo.PodInfo) -> None:
        self.constraints = constraints
        self.counts: Counter[tuple[str, str]] = Counter()
        self.minimum: dict[int, int] = {}
        self.self_match = [1 if c.selector.matches(pod.labels) else 0 for c in constraints]


class PodTopologySpread:
    name = NAME

    def __init__(self, handle: handle_mod.Handle, defaults: tuple[dict[str, Any], ...]) -> None:
        self.handle = handle
        self.defaults = defaults

    def pre_filter(
        self, state: protocol.CycleState, pod: podinfo.PodInfo, nodes: list[nodeinfo.NodeInfo]
    ) -> tuple[protocol.PreFilterResult | None, protocol.Status | None]:
        constraints = constraints_of(pod, "DoNotSchedule")
        if not constraints:
            return None, protocol.SKIP
        fs = _FilterState(constraints, pod)
        required = nodeselector.required_of(pod.spec)
        domains: list[set[str]] = [set() for _ in constraints]
        for node in nodes:
            labels = node.labels
            if any(c.topology_key not in labels for c in constraints):
                continue
            for i, c in enumerate(constraints):
                if _eligible(node, pod, required, c):
                    value = labels[c.topology_key]
                    domains[i].add(value)
                    fs.counts[(c.topology_key, value)] += count_matching(node, c.selector, pod.namespace)
        for i, c in enumerate(constraints):
            values = domains[i]
            low = min((fs.counts[(c.topology_key, v)] for v in values), default=0)
            fs.minimum[i] = 0 if len(values) < c.min_domains else low
        state[NAME] = fs
        return None, None

    def filter(
        self, state: protocol.CycleState, pod: podinfo.PodInfo, node: nodeinfo.NodeInfo
    ) -> protocol.Status | None:
        fs: _FilterState = state[NAME]
        for i, c in enumerate(fs.constraints):
            value = node.labels.get(c.topology_key)
            if value is None:
                return protocol.Status(protocol.Code.UNSCHEDULABLE_AND_UNRESOLVABLE, (MISSING_LABEL_REASON,), NAME)
            skew = fs.counts[(c.topology_key, value)] + fs.self_match[i] - fs.minimum[i]
            if skew > c.max_skew:
                return protocol.Status(protocol.Code.UNSCHEDULABLE, (REASON,), NAME)
        return None

    def _score_constraints(self, pod: podinfo.PodInfo) -> tuple[list[Constraint], bool]:
        """(constraints, system defaulted): the pod's own, else the defaults by its selectors."""
        if pod.spec.get("topologySpreadConstraints"):
            return constraints_of(pod, "ScheduleAnyway"), False
        selectors = self.handle.spread_selectors(pod.pod) if self.defaults else []
        if not selectors:
            return [], True
        merged = api_labels.Selector(tuple(r for s in selectors for r in s.requirements))
        return [_constraint(raw, merged) for raw in self.defaults], True

    def pre_score(
        self, state: protocol.CycleState, pod: podinfo.PodInfo, nodes: list[nodeinfo.NodeInfo]
    ) -> protocol.Status | None:
        constraints, defaulted = self._score_constraints(pod)
        if not constraints:
            return protocol.SKIP
        ignored = {
            n.name for n in nodes if not defaulted and any(c.topology_key not in n.labels for c in constraints)
        }
        counts: Counter[tuple[str, str]] = Counter()
        required = nodeselector.required_of(pod.spec)
        for c in constraints:
            if c.topology_key == podinfo.HOSTNAME_LABEL:
                continue  # counted per node in score
            for node in self.handle.cache.node_list():
                value = node.labels.get(c.topology_key)
                if value is not None and _eligible(node, pod, required, c):
                    counts[(c.topology_key, value)] += count_matching(node, c.selector, pod.namespace)
        weights = [_domain_weight(c, nodes, ignored) for c in constraints]
        state[_SCORE] = (constraints, counts, weights, ignored, [n.name for n in nodes])
        return None

    def score(self, state: protocol.CycleState, pod: podinfo.PodInfo, node: nodeinfo.NodeInfo) -> int:
        constraints, counts, weights, ignored, _ = state[_SCORE]
        if node.name in ignored:
            return 0
        total = 0.0
        for c, weight in zip(constraints, weights):
            value = node.labels.get(c.topology_key)
            if value is None:
                continue
            if c.topology_key == podinfo.HOSTNAME_LABEL:
                matching = count_matching(node, c.selector, pod.namespace)
            else:
                matching = counts[(c.topology_key, value)]
            total += matching * weight + (c.max_skew - 1)
        return int(total + 0.5)  # math.Round: halves away from zero

    def normalize_score(self, state: protocol.CycleState, pod: podinfo.PodInfo, scores: list[int]) -> None:
        ignored, names = state[_SCORE][3], state[_SCORE][4]
        kept = [s for s, name in zip(scores, names) if name not in ignored]
        low, high = min(kept, default=0), max(kept, default=0)
        for i, name in enumerate(names):
            if name in ignored:
                scores[i] = 0
            elif high == 0:
                scores[i] = protocol.MAX_NODE_SCORE
            else:
                scores[i] = protocol.MAX_NODE_SCORE * (high + low - scores[i]) // high

    def events_to_register(self) -> tuple[protocol.ClusterEvent, ...]:
        return (
            protocol.ASSIGNED_POD_ADD, protocol.ASSIGNED_POD_UPDATE, protocol.ASSIGNED_POD_DELETE,
            protocol.NODE_ADD, protocol.NODE_UPDATE, protocol.NODE_DELETE,
        )


def _domain_weight(c: Constraint, nodes: list[nodeinfo.NodeInfo], ignored: set[str]) -> float:
    """log(domains + 2): constraints over many small domains weigh more per pod."""
    if c.topology_key == podinfo.HOSTNAME_LABEL:
        size = len(nodes) - len(ignored)
    else:
        size = len({n.labels[c.topology_key] for n in nodes if c.topology_key in n.labels and n.name not in ignored})
    return math.log(size + 2)


def new(args: dict[str, Any] | None, handle: handle_mod.Handle) -> PodTopologySpread:
    """args: {"defaultingType": "System" | "List", "defaultConstraints": [...]} as upstream."""
    args = args or {}
    kind = args.get("defaultingType") or "System"
    if kind not in ("System", "List"):
        raise ValueError(f"PodTopologySpread: defaultingType {kind!r} is not supported")
    defaults = SYSTEM_DEFAULT_CONSTRAINTS if kind == "System" else tuple(args.get("defaultConstraints") or ())
    return PodTopologySpread(handle, defaults)
