"""The scheduling framework: runs a profile's plugins over the cache for one pod.

`schedule_one(pod)` is the synchronous scheduling cycle: pre_filter, filter over a
round-robin slice of the nodes (percentageOfNodesToScore, adaptive by default),
post_filter when nothing fits, pre_score/score/normalize_score with weights, a random
pick among the best, then assume in the cache, reserve and permit. `bind(result)` is
the async binding cycle; when it fails the cycle is undone (unreserve, forget).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from kubelite.scheduler import fiterror, nodeinfo, podinfo, protocol
from kubelite.scheduler import handle as handle_mod

MIN_FEASIBLE_NODES_TO_FIND = 100
MIN_FEASIBLE_NODES_PERCENTAGE_TO_FIND = 5
BASE_PERCENTAGE_OF_NODES_TO_SCORE = 50
SKIPPED = "/skipped-filters"  # cycle-state key: plugins whose pre_filter said SKIP


def num_feasible_nodes_to_find(percentage: int, num_all_nodes: int) -> int:
    """How many feasible nodes a cycle looks for before it stops filtering."""
    if num_all_nodes < MIN_FEASIBLE_NODES_TO_FIND:
        return num_all_nodes
    if percentage <= 0:
        percentage = max(
            BASE_PERCENTAGE_OF_NODES_TO_SCORE - num_all_nodes // 125, MIN_FEASIBLE_NODES_PERCENTAGE_TO_FIND
        )
    return max(num_all_nodes * percentage // 100, MIN_FEASIBLE_NODES_TO_FIND)


@dataclass
class ScheduleResult:
    """A scheduling cycle's success: the node chosen and what binding needs."""

    pod: podinfo.PodInfo
    node_name: str
    evaluated_nodes: int
    feasible_nodes: int
    state: protocol.CycleState = field(default_factory=dict, repr=False)


@dataclass(frozen=True)
class Plugins:
    """A profile's plugins per extension point, in call order (score with weights)."""

    pre_filter: tuple[protocol.PreFilterPlugin, ...] = ()
    filter: tuple[protocol.FilterPlugin, ...] = ()
    post_filter: tuple[protocol.PostFilterPlugin, ...] = ()
    pre_score: tuple[protocol.PreScorePlugin, ...] = ()
    score: tuple[tuple[protocol.ScorePlugin, int], ...] = ()
    reserve: tuple[protocol.ReservePlugin, ...] = ()
    permit: tuple[protocol.PermitPlugin, ...] = ()
    bind: tuple[protocol.BindPlugin, ...] = ()


class Framework:
    """One scheduling profile. Not thread-safe: one cycle at a time, from one task."""

    def __init__(
        self,
        handle: handle_mod.Handle,
        plugins: Plugins,
        *,
        percentage_of_nodes_to_score: int = 0,
        rng: random.Random | None = None,
    ) -> None:
        self.handle = handle
        self.cache = handle.cache
        self.plugins = plugins
        self.percentage_of_nodes_to_score = percentage_of_nodes_to_score
        self.rng = rng or random.Random()
        self.next_start_node_index = 0
        handle.run_filters = self.run_filters

    # scheduling cycle
    def schedule_one(self, pod: dict[str, Any]) -> ScheduleResult | fiterror.FitError:
        """Pick a node for the pod and assume it there, or say why none fits."""
        info = podinfo.PodInfo(pod)
        state: protocol.CycleState = {}
        nodes = self.cache.node_list()
        if not nodes:
            return fiterror.FitError(info, 0, message=fiterror.NO_NODES_AVAILABLE)
        feasible, diagnosis, evaluated = self._find_nodes_that_fit(state, info, nodes)
        if not feasible:
            return self._fit_error(state, info, len(nodes), diagnosis)
        if len(feasible) == 1:
            host = feasible[0].name
        else:
            host = self._select_host(feasible, self._prioritize(state, info, feasible))
        result = ScheduleResult(info, host, evaluated, len(feasible), state)
        failure = self._reserve_and_permit(result)
        return failure if failure is not None else result

    def _find_nodes_that_fit(
        self, state: protocol.CycleState, pod: podinfo.PodInfo, nodes: list[nodeinfo.NodeInfo]
    ) -> tuple[list[nodeinfo.NodeInfo], fiterror.Diagnosis, int]:
        diagnosis = fiterror.Diagnosis()
        skipped, allowed, rejection = self._run_pre_filters(state, pod, nodes)
        state[SKIPPED] = skipped
        if rejection is not None:
            diagnosis.pre_filter_msg = rejection.message()
            diagnosis.unschedulable_plugins.add(rejection.plugin)
            diagnosis.statuses = {n.name: rejection for n in nodes}
            return [], diagnosis, 0
        candidates = nodes
        if allowed is not None:
            candidates = [n for n in nodes if n.name in allowed.node_names]
            diagnosis.absent_status = protocol.unresolvable(
                f"node(s) didn't satisfy plugin(s) [{' '.join(sorted(allowed.plugins))}]"
            )
        filters = [p.filter for p in self.plugins.filter if p.name not in skipped]
        feasible, evaluated = self._filter(state, pod, candidates, filters, diagnosis)
        diagnosis.num_absent = len(nodes) - len(candidates)
        return feasible, diagnosis, evaluated

    def _run_pre_filters(
        self, state: protocol.CycleState, pod: podinfo.PodInfo, nodes: list[nodeinfo.NodeInfo]
    ) -> tuple[set[str], fiterror.AllowedNodes | None, protocol.Status | None]:
        skipped: set[str] = set()
        allowed: fiterror.AllowedNodes | None = None
        for plugin in self.plugins.pre_filter:
            result, status = plugin.pre_filter(state, pod, nodes)
            if status is not None:
                if status.code == protocol.Code.SKIP:
                    skipped.add(plugin.name)
                    continue
                if status.code != protocol.Code.SUCCESS:
                    return skipped, allowed, status.with_plugin(plugin.name)
            if result is not None and result.node_names is not None:
                allowed = fiterror.AllowedNodes.merge(allowed, plugin.name, result.node_names)
        if allowed is not None and not allowed.node_names:
            plugins = " ".join(sorted(allowed.plugins))
            reason = f"node(s) didn't satisfy plugin(s) [{plugins}] simultaneously"
            return skipped, allowed, protocol.Status(protocol.Code.UNSCHEDULABLE_AND_UNRESOLVABLE, (reason,))
        return skipped, allowed, None

    def _filter(
        self,
        state: protocol.CycleState,
        pod: podinfo.PodInfo,
        nodes: list[nodeinfo.NodeInfo],
        filters: list[Any],
        diagnosis: fiterror.Diagnosis,
    ) -> tuple[list[nodeinfo.NodeInfo], int]:
        """Filter nodes from the round-robin start until enough fit (the hot loop)."""
        total = len(nodes)
        wanted = num_feasible_nodes_to_find(self.percentage_of_nodes_to_score, total)
        start = self.next_start_node_index % total if total else 0
        ordered = nodes[start:] + nodes[:start] if start else nodes
        feasible: list[nodeinfo.NodeInfo] = []
        evaluated = 0
        for node in ordered:
            evaluated += 1
            for run in filters:
                status = run(state, pod, node)
                if status is not None:
                    diagnosis.statuses[node.name] = status
                    diagnosis.unschedulable_plugins.add(status.plugin)
                    break
            else:
                feasible.append(node)
                if len(feasible) >= wanted:
                    break
        if total:
            self.next_start_node_index = (start + evaluated) % total
        return feasible, evaluated

    def run_filters(
        self, state: protocol.CycleState, pod: podinfo.PodInfo, node: nodeinfo.NodeInfo
    ) -> protocol.Status | None:
        """Every filter plugin on one node (pre_filter state must already be in `state`)."""
        for plugin in self.plugins.filter:
            if plugin.name in state.get(SKIPPED, ()):
                continue
            status = plugin.filter(state, pod, node)
            if status is not None:
                return status
        return None

    def _fit_error(
        self, state: protocol.CycleState, pod: podinfo.PodInfo, num_nodes: int, diagnosis: fiterror.Diagnosis
    ) -> fiterror.FitError:
        result = fiterror.FitError(pod, num_nodes, diagnosis)
        for plugin in self.plugins.post_filter:
            post, status = plugin.post_filter(state, pod, diagnosis.statuses)
            if status.code == protocol.Code.SUCCESS:
                result.nominated = post
                break
            if status.reasons:
                diagnosis.post_filter_msg = status.message()
            if post is not None:
                result.nominated = post
        return result

    def _prioritize(
        self, state: protocol.CycleState, pod: podinfo.PodInfo, nodes: list[nodeinfo.NodeInfo]
    ) -> list[int]:
        """Weighted sum of normalized plugin scores, one per node."""
        skipped = set()
        for plugin in self.plugins.pre_score:
            status = plugin.pre_score(state, pod, nodes)
            if status is not None and status.code == protocol.Code.SKIP:
                skipped.add(plugin.name)
            elif status is not None:
                raise RuntimeError(f"{plugin.name} pre_score failed: {status.message()}")
        totals = [0] * len(nodes)
        for scorer, weight in self.plugins.score:
            if scorer.name in skipped:
                continue
            batch = getattr(scorer, "score_nodes", None)
            if batch is not None:
                scores = batch(state, pod, nodes)
            else:
                score = scorer.score
                scores = [score(state, pod, node) for node in nodes]
            normalize = getattr(scorer, "normalize_score", None)
            if normalize is not None:
                normalize(state, pod, scores)
            for i, value in enumerate(scores):
                totals[i] += value * weight
        return totals

    def _select_host(self, nodes: list[nodeinfo.NodeInfo], totals: list[int]) -> str:
        """The highest total; ties broken at random so equal nodes share the load."""
        best = max(totals)
        tied = [i for i, total in enumerate(totals) if total == best]
        return nodes[tied[0] if len(tied) == 1 else self.rng.choice(tied)].name

    def _reserve_and_permit(self, result: ScheduleResult) -> fiterror.FitError | None:
        self.cache.assume(result.pod, result.node_name)
        for step in (self.plugins.reserve, self.plugins.permit):
            for plugin in step:
                run = plugin.reserve if step is self.plugins.reserve else plugin.permit  # type: ignore[union-attr]
                status = run(result.state, result.pod, result.node_name)
                if status is not None and status.code != protocol.Code.SUCCESS:
                    self._undo(result)
                    if status.code == protocol.Code.WAIT:
                        raise NotImplementedError(f"{plugin.name}: permit WAIT is not supported")
                    return fiterror.FitError(result.pod, len(self.cache), message=status.message())
        return None

    def _undo(self, result: ScheduleResult) -> None:
        for plugin in reversed(self.plugins.reserve):
            plugin.unreserve(result.state, result.pod, result.node_name)
        self.cache.forget(result.pod)

    # binding cycle
    async def bind(self, result: ScheduleResult) -> protocol.Status | None:
        """Write the binding; on failure undo the assumption so the pod can be retried."""
        for plugin in self.plugins.bind:
            status = await plugin.bind(result.state, result.pod, result.node_name)
            if status is not None and status.code == protocol.Code.SKIP:
                continue
            if status is not None and status.code != protocol.Code.SUCCESS:
                self._undo(result)
                return status.with_plugin(plugin.name)
            return None
        self._undo(result)
        return protocol.error("no bind plugin bound the pod")

    def plugins_for_events(self) -> dict[protocol.ClusterEvent, set[str]]:
        """Cluster event -> names of plugins whose rejections it may resolve (for the queue)."""
        interested: dict[protocol.ClusterEvent, set[str]] = {}
        seen: set[int] = set()
        everyone: list[Any] = [*self.plugins.pre_filter, *self.plugins.filter, *(p for p, _ in self.plugins.score)]
        for plugin in everyone:
            register = getattr(plugin, "events_to_register", None)
            if register is None or id(plugin) in seen:
                continue
            seen.add(id(plugin))
            for event in register():
                interested.setdefault(event, set()).add(plugin.name)
        return interested

