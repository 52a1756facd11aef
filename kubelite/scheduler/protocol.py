"""The scheduler's contracts: Status values and one Protocol per extension point.

Plugins are called in the order a profile lists them, always from one thread, inside
one synchronous scheduling cycle (bind is the only async step). Expected outcomes are
values: a plugin returns `None` for success (like upstream's nil *Status) or a `Status`;
an exception is a bug and fails the cycle.

Plugins must not mutate the pod dict, the NodeInfo they are given or the cluster
cache; per-cycle data goes into the cycle state, a dict keyed by the plugin's name.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    from kubelite.scheduler import nodeinfo, podinfo

CycleState = dict[str, Any]
MAX_NODE_SCORE = 100
MIN_NODE_SCORE = 0

# Cluster events a plugin can ask to be woken up by: (resource, action).
NODE_ADD = ("Node", "Add")
NODE_UPDATE = ("Node", "Update")
NODE_DELETE = ("Node", "Delete")
ASSIGNED_POD_ADD = ("AssignedPod", "Add")
ASSIGNED_POD_UPDATE = ("AssignedPod", "Update")
ASSIGNED_POD_DELETE = ("AssignedPod", "Delete")
PVC_ADD = ("PersistentVolumeClaim", "Add")
PVC_UPDATE = ("PersistentVolumeClaim", "Update")
PV_ADD = ("PersistentVolume", "Add")
PV_UPDATE = ("PersistentVolume", "Update")
STORAGE_CLASS_ADD = ("StorageClass", "Add")
STORAGE_CLASS_UPDATE = ("StorageClass", "Update")
ClusterEvent = tuple[str, str]


class Code(enum.IntEnum):
    """Outcome of a plugin call (framework.Code upstream)."""

    SUCCESS = 0
    ERROR = 1
    UNSCHEDULABLE = 2  # may fit after preemption or a cluster change
    UNSCHEDULABLE_AND_UNRESOLVABLE = 3  # preemption cannot help on this node
    WAIT = 4
    SKIP = 5
    PENDING = 6


@dataclass(frozen=True, slots=True)
class Status:
    """A plugin's verdict; `reasons` are the per-node texts a FitError counts."""

    code: Code
    reasons: tuple[str, ...] = ()
    plugin: str = ""

    def message(self) -> str:
        return ", ".join(self.reasons)

    def is_rejected(self) -> bool:
        return self.code in (Code.UNSCHEDULABLE, Code.UNSCHEDULABLE_AND_UNRESOLVABLE)

    def with_plugin(self, plugin: str) -> Status:
        return Status(self.code, self.reasons, plugin)


SKIP = Status(Code.SKIP)


def unschedulable(*reasons: str) -> Status:
    return Status(Code.UNSCHEDULABLE, reasons)


def unresolvable(*reasons: str) -> Status:
    return Status(Code.UNSCHEDULABLE_AND_UNRESOLVABLE, reasons)


def error(reason: str) -> Status:
    return Status(Code.ERROR, (reason,))


@dataclass(frozen=True, slots=True)
class PreFilterResult:
    """Node names a pre_filter plugin restricts the cycle to (None = all nodes)."""

    node_names: frozenset[str] | None = None


@dataclass(frozen=True, slots=True)
class PostFilterResult:
    """A nominated node (with victims to evict) found by a post_filter plugin."""

    nominated_node_name: str = ""
    victims: tuple[dict[str, Any], ...] = ()


@runtime_checkable
class Plugin(Protocol):
    name: str


@runtime_checkable
class PreFilterPlugin(Protocol):
    name: str

    def pre_filter(
        self, state: CycleState, pod: podinfo.PodInfo, nodes: list[nodeinfo.NodeInfo]
    ) -> tuple[PreFilterResult | None, Status | None]:
        """Compute per-cycle data; SKIP disables this plugin's filter for the cycle."""


@runtime_checkable
class FilterPlugin(Protocol):
    name: str

    def filter(self, state: CycleState, pod: podinfo.PodInfo, node: nodeinfo.NodeInfo) -> Status | None:
        """None when the pod may run on the node."""


@runtime_checkable
class PostFilterPlugin(Protocol):
    name: str

    def post_filter(
        self, state: CycleState, pod: podinfo.PodInfo, statuses: dict[str, Status]
    ) -> tuple[PostFilterResult | None, Status]:
        """Called when no node fits (statuses: node name -> rejection); e.g. preemption."""


@runtime_checkable
class PreScorePlugin(Protocol):
    name: str

    def pre_score(
        self, state: CycleState, pod: podinfo.PodInfo, nodes: list[nodeinfo.NodeInfo]
    ) -> Status | None:
        """Compute per-cycle scoring data over the feasible nodes; SKIP disables score."""


@runtime_checkable
class ScorePlugin(Protocol):
    name: str

    def score(self, state: CycleState, pod: podinfo.PodInfo, node: nodeinfo.NodeInfo) -> int:
        """A raw score; normalize_score (if any) maps raw scores to 0..MAX_NODE_SCORE."""


@runtime_checkable
class NormalizeScorePlugin(Protocol):
    name: str

    def normalize_score(self, state: CycleState, pod: podinfo.PodInfo, scores: list[int]) -> None:
        """Rewrite `scores` (one per feasible node, in order) in place."""


@runtime_checkable
class ReservePlugin(Protocol):
    name: str

    def reserve(self, state: CycleState, pod: podinfo.PodInfo, node_name: str) -> Status | None:
        """Claim node-local resources; undone by unreserve when a later step fails."""

    def unreserve(self, state: CycleState, pod: podinfo.PodInfo, node_name: str) -> None:
        """Idempotent undo of reserve."""


@runtime_checkable
class PermitPlugin(Protocol):
    name: str

    def permit(self, state: CycleState, pod: podinfo.PodInfo, node_name: str) -> Status | None:
        """Last veto before binding (WAIT is not supported)."""


@runtime_checkable
class BindPlugin(Protocol):
    name: str

    async def bind(self, state: CycleState, pod: podinfo.PodInfo, node_name: str) -> Status | None:
        """Write the binding; SKIP passes to the next bind plugin."""


@runtime_checkable
class EnqueueExtensions(Protocol):
    name: str

    def events_to_register(self) -> tuple[ClusterEvent, ...]:
        """Cluster events that may make a pod this plugin rejected schedulable."""
