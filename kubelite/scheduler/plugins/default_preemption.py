"""DefaultPreemption: when no node fits, find a node where evicting lower-priority pods
would let the pod fit; otherwise explain why preemption cannot help.

Evictions are not done here: a success returns the nominated node and its victims in
the PostFilterResult for the wiring to delete and to set status.nominatedNodeName.
PodDisruptionBudgets are not considered.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from kubelite.scheduler import handle as handle_mod
from kubelite.scheduler import nodeinfo, podinfo, protocol

NAME = "DefaultPreemption"
NOT_HELPFUL = "Preemption is not helpful for scheduling"
NO_VICTIMS = "No preemption victims found for incoming pod"


class DefaultPreemption:
    name = NAME

    def __init__(self, handle: handle_mod.Handle) -> None:
        self.handle = handle

    def post_filter(
        self, state: protocol.CycleState, pod: podinfo.PodInfo, statuses: dict[str, protocol.Status]
    ) -> tuple[protocol.PostFilterResult | None, protocol.Status]:
        if pod.spec.get("preemptionPolicy") == "Never":
            return None, protocol.unschedulable("preemption: not eligible due to preemptionPolicy=Never.")
        nodes = self.handle.cache.node_list()
        reasons: Counter[str] = Counter()
        best: tuple[tuple[int, int, int], str, list[podinfo.PodInfo]] | None = None
        for node in nodes:
            status = statuses.get(node.name)
            if status is None or status.code != protocol.Code.UNSCHEDULABLE:
                reasons[NOT_HELPFUL] += 1
                continue
            victims, failure = self.select_victims(state, pod, node)
            if failure is not None:
                reasons.update(failure.reasons)
                continue
            rank = (max((v.priority for v in victims), default=-(2**31)), sum(v.priority for v in victims), len(victims))
            if best is None or rank < best[0]:
                best = (rank, node.name, victims)
        if best is not None:
            evicted = tuple(v.pod for v in best[2])
            return protocol.PostFilterResult(best[1], evicted), protocol.Status(protocol.Code.SUCCESS)
        histogram = ", ".join(sorted(f"{count} {reason}" for reason, count in reasons.items()))
        message = f"preemption: 0/{len(nodes)} nodes are available: {histogram}."
        return protocol.PostFilterResult(""), protocol.unschedulable(message)

    def select_victims(
        self, state: protocol.CycleState, pod: podinfo.PodInfo, node: nodeinfo.NodeInfo
    ) -> tuple[list[podinfo.PodInfo], protocol.Status | None]:
        """The fewest lower-priority pods to evict (highest priority reprieved first)."""
        lower = [p for p in node.pods.values() if p.priority < pod.priority]
        if not lower:
            return [], protocol.unresolvable(NO_VICTIMS)
        trial = node.clone()
        for victim in lower:
            trial.remove_pod(victim.key)
        failure = self._run_filters(state, pod, trial)
        if failure is not None:
            return [], failure
        victims = []
        for candidate in sorted(lower, key=lambda p: -p.priority):
            trial.add_pod(candidate)
            if self._run_filters(state, pod, trial) is not None:
                trial.remove_pod(candidate.key)
                victims.append(candidate)
        return victims, None

    def _run_filters(
        self, state: protocol.CycleState, pod: podinfo.PodInfo, node: nodeinfo.NodeInfo
    ) -> protocol.Status | None:
        if self.handle.run_filters is None:
            raise RuntimeError("DefaultPreemption: the handle has no filter runner")
        return self.handle.run_filters(state, pod, node)


def new(args: dict[str, Any] | None, handle: handle_mod.Handle) -> DefaultPreemption:
    return DefaultPreemption(handle)
