"""InterPodAffinity: required pod affinity / anti-affinity (the pod's and the existing
pods' anti-affinity) filter nodes by topology domain; preferred terms (both ways) and
existing pods' required affinity score them.

Counts are per topology pair (label key, value), computed once per cycle in pre_filter /
pre_score from the cache and then looked up per node.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any

from kubelite.scheduler import handle as handle_mod
from kubelite.scheduler import nodeinfo, podinfo, protocol

NAME = "InterPodAffinity"
AFFINITY_REASON = "node(s) didn't match pod affinity rules"
ANTI_AFFINITY_REASON = "node(s) didn't match pod anti-affinity rules"
EXISTING_ANTI_AFFINITY_REASON = "node(s) didn't satisfy existing pods anti-affinity rules"
HARD_POD_AFFINITY_WEIGHT = 1
_SCORE = NAME + "/score"
Pair = tuple[str, str]


class _FilterState:
    __slots__ = ("affinity", "anti", "existing_anti", "existing_anti_keys", "self_match")

    def __init__(self) -> None:
        self.existing_anti: Counter[Pair] = Counter()
        self.affinity: Counter[Pair] = Counter()
        self.anti: Counter[Pair] = Counter()
        self.existing_anti_keys: set[str] = set()
        self.self_match = False


class InterPodAffinity:
    name = NAME

    def __init__(self, handle: handle_mod.Handle) -> None:
        self.handle = handle

    def _matches(self, term: podinfo.AffinityTerm, pod: podinfo.PodInfo) -> bool:
        labels = None if term.namespace_selector.nothing else self.handle.namespace_labels(pod.namespace)
        return term.matches(pod, labels)

    def _affinity_nodes(self) -> Iterable[nodeinfo.NodeInfo]:
        cache = self.handle.cache
        return [n for n in (cache.get(name) for name in cache.affinity_nodes) if n is not None]

    def pre_filter(
        self, state: protocol.CycleState, pod: podinfo.PodInfo, nodes: list[nodeinfo.NodeInfo]
    ) -> tuple[protocol.PreFilterResult | None, protocol.Status | None]:
        with_anti = [n for n in self._affinity_nodes() if n.pods_with_required_anti_affinity]
        if not pod.required_affinity and not pod.required_anti_affinity and not with_anti:
            return None, protocol.SKIP
        fs = _FilterState()
        for node in with_anti:
            for existing in node.pods_with_required_anti_affinity.values():
                for term in existing.required_anti_affinity:
                    value = node.labels.get(term.topology_key)
                    if value is not None and self._matches(term, pod):
                        fs.existing_anti[(term.topology_key, value)] += 1
                        fs.existing_anti_keys.add(term.topology_key)
        if pod.required_affinity or pod.required_anti_affinity:
            self._count_incoming(fs, pod, nodes)
        fs.self_match = all(self._matches(t, pod) for t in pod.required_affinity)
        state[NAME] = fs
        return None, None

    def _count_incoming(self, fs: _FilterState, pod: podinfo.PodInfo, nodes: list[nodeinfo.NodeInfo]) -> None:
        for node in nodes:
            labels = node.labels
            for existing in node.pods.values():
                if pod.required_affinity and all(self._matches(t, existing) for t in pod.required_affinity):
                    for term in pod.required_affinity:
                        if term.topology_key in labels:
                            fs.affinity[(term.topology_key, labels[term.topology_key])] += 1
                for term in pod.required_anti_affinity:
                    if term.topology_key in labels and self._matches(term, existing):
                        fs.anti[(term.topology_key, labels[term.topology_key])] += 1

    def filter(
        self, state: protocol.CycleState, pod: podinfo.PodInfo, node: nodeinfo.NodeInfo
    ) -> protocol.Status | None:
        fs: _FilterState = state[NAME]
        labels = node.labels
        if pod.required_affinity and not _satisfies_affinity(fs, pod, labels):
            return protocol.Status(protocol.Code.UNSCHEDULABLE_AND_UNRESOLVABLE, (AFFINITY_REASON,), NAME)
        for term in pod.required_anti_affinity:
            value = labels.get(term.topology_key)
            if value is not None and fs.anti[(term.topology_key, value)] > 0:
                return protocol.Status(protocol.Code.UNSCHEDULABLE, (ANTI_AFFINITY_REASON,), NAME)
        for key in fs.existing_anti_keys:
            value = labels.get(key)
            if value is not None and fs.existing_anti[(key, value)] > 0:
                return protocol.Status(protocol.Code.UNSCHEDULABLE, (EXISTING_ANTI_AFFINITY_REASON,), NAME)
        return None

    def pre_score(
        self, state: protocol.CycleState, pod: podinfo.PodInfo, nodes: list[nodeinfo.NodeInfo]
    ) -> protocol.Status | None:
        has_preferred = bool(pod.preferred_affinity or pod.preferred_anti_affinity)
        if not has_preferred and not self.handle.cache.affinity_nodes:
            return protocol.SKIP
        source = self.handle.cache.node_list() if has_preferred else self._affinity_nodes()
        scores: Counter[Pair] = Counter()
        for node in source:
            existing_pods = node.pods if has_preferred else node.pods_with_affinity
            for existing in existing_pods.values():
                self._score_pair(scores, pod, existing, node.labels)
        scores = Counter({pair: s for pair, s in scores.items() if s})
        if not scores:
            return protocol.SKIP
        state[_SCORE] = (scores, {key for key, _ in scores})
        return None

    def _score_pair(
        self, scores: Counter[Pair], pod: podinfo.PodInfo, existing: podinfo.PodInfo, labels: dict[str, str]
    ) -> None:
        """Add what one existing pod contributes to its topology pairs' scores."""
        weighted = [(t, t.weight) for t in pod.preferred_affinity if self._matches(t, existing)]
        weighted += [(t, -t.weight) for t in pod.preferred_anti_affinity if self._matches(t, existing)]
        weighted += [(t, HARD_POD_AFFINITY_WEIGHT) for t in existing.required_affinity if self._matches(t, pod)]
        weighted += [(t, t.weight) for t in existing.preferred_affinity if self._matches(t, pod)]
        weighted += [(t, -t.weight) for t in existing.preferred_anti_affinity if self._matches(t, pod)]
        for term, weight in weighted:
            value = labels.get(term.topology_key)
            if value is not None:
                scores[(term.topology_key, value)] += weight

    def score(self, state: protocol.CycleState, pod: podinfo.PodInfo, node: nodeinfo.NodeInfo) -> int:
        scores, keys = state[_SCORE]
        labels = node.labels
        return sum(scores.get((key, labels[key]), 0) for key in keys if key in labels)

    def normalize_score(self, state: protocol.CycleState, pod: podinfo.PodInfo, scores: list[int]) -> None:
        low, high = min(scores, default=0), max(scores, default=0)
        spread = high - low
        for i, raw in enumerate(scores):
            scores[i] = int(protocol.MAX_NODE_SCORE * (raw - low) / spread) if spread > 0 else 0

    def events_to_register(self) -> tuple[protocol.ClusterEvent, ...]:
        return (
            protocol.ASSIGNED_POD_ADD, protocol.ASSIGNED_POD_UPDATE, protocol.ASSIGNED_POD_DELETE,
            protocol.NODE_ADD, protocol.NODE_UPDATE,
        )


def _satisfies_affinity(fs: _FilterState, pod: podinfo.PodInfo, labels: dict[str, str]) -> bool:
    """All topology keys present and a matching pod in each domain; the first pod of a
    group that matches its own terms may go anywhere those keys exist."""
    pods_exist = True
    for term in pod.required_affinity:
        value = labels.get(term.topology_key)
        if value is None:
            return False
        if fs.affinity[(term.topology_key, value)] <= 0:
            pods_exist = False
    return pods_exist or (not fs.affinity and fs.self_match)


def new(args: dict[str, Any] | None, handle: handle_mod.Handle) -> InterPodAffinity:
    return InterPodAffinity(handle)
