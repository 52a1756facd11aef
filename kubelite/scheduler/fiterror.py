"""Why a pod fits no node: the Diagnosis of a cycle and the FitError message built from it.

The message format is upstream's FitError.Error():
"0/3 nodes are available: 1 Insufficient cpu, 2 node(s) didn't match Pod's node
affinity/selector. preemption: 0/3 nodes are available: 3 Preemption is not helpful for
scheduling." -- per-reason node counts sorted as strings, the pre_filter message instead
when a pre_filter plugin rejected the pod, then the post_filter (preemption) message.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from kubelite.scheduler import podinfo, protocol

NO_NODES_AVAILABLE = "no nodes available to schedule pods"


@dataclass(frozen=True)
class AllowedNodes:
    """The intersection of the node sets pre_filter plugins restricted the cycle to."""

    node_names: frozenset[str]
    plugins: frozenset[str]

    @staticmethod
    def merge(current: AllowedNodes | None, plugin: str, names: frozenset[str]) -> AllowedNodes:
        if current is None:
            return AllowedNodes(names, frozenset((plugin,)))
        return AllowedNodes(current.node_names & names, current.plugins | {plugin})


@dataclass
class Diagnosis:
    """Per-node rejections of one cycle and the plugins that rejected."""

    statuses: dict[str, protocol.Status] = field(default_factory=dict)
    unschedulable_plugins: set[str] = field(default_factory=set)
    pre_filter_msg: str = ""
    post_filter_msg: str = ""
    absent_status: protocol.Status | None = None  # nodes a pre_filter result left out
    num_absent: int = 0


class FitError:
    """A scheduling cycle's failure; `message()` is the FailedScheduling event text.

    `nominated` carries a post_filter (preemption) result: a node to nominate and the
    victims to evict, or an empty name meaning "clear status.nominatedNodeName".
    """

    def __init__(
        self,
        pod: podinfo.PodInfo,
        num_all_nodes: int,
        diagnosis: Diagnosis | None = None,
        *,
        message: str = "",
        nominated: protocol.PostFilterResult | None = None,
    ) -> None:
        self.pod = pod
        self.num_all_nodes = num_all_nodes
        self.diagnosis = diagnosis or Diagnosis()
        self.message_override = message
        self.nominated = nominated

    def message(self) -> str:
        if self.message_override:
            return self.message_override
        d = self.diagnosis
        text = f"0/{self.num_all_nodes} nodes are available:"
        if d.pre_filter_msg:
            text += f" {d.pre_filter_msg}."
        else:
            histogram = _histogram(d)
            if histogram:
                text += f" {histogram}."
        if d.post_filter_msg:
            text += f" {d.post_filter_msg}"
        return text

    def __str__(self) -> str:
        return self.message()

    @property
    def unschedulable_plugins(self) -> set[str]:
        return self.diagnosis.unschedulable_plugins


def _histogram(d: Diagnosis) -> str:
    counts: Counter[str] = Counter()
    for status in d.statuses.values():
        counts.update(status.reasons)
    if d.absent_status is not None and d.num_absent:
        for reason in d.absent_status.reasons:
            counts[reason] += d.num_absent
    return ", ".join(sorted(f"{count} {reason}" for reason, count in counts.items()))
