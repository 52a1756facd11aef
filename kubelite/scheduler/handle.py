"""What plugins may reach beyond their arguments: the cache and wiring-supplied lookups.

The wiring fills the callbacks from informers and the API client; tests use the
defaults. The framework sets `run_filters` so preemption can re-check a node.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from kubelite.api import labels as api_labels
from kubelite.scheduler import nodeinfo

if TYPE_CHECKING:
    from kubelite.scheduler import podinfo, protocol


def _no_namespace_labels(namespace: str) -> dict[str, str] | None:
    return None


def _no_claim(namespace: str, name: str) -> dict[str, Any] | None:
    return None


def _no_object(name: str) -> dict[str, Any] | None:
    return None


def _no_volumes() -> list[dict[str, Any]]:
    return []


def _no_selectors(pod: dict[str, Any]) -> list[api_labels.Selector]:
    return []


@dataclass
class Handle:
    """Shared by every plugin of one framework."""

    cache: nodeinfo.Cache = field(default_factory=nodeinfo.Cache)
    # labels of a namespace (for affinity terms with a namespaceSelector)
    namespace_labels: Callable[[str], dict[str, str] | None] = _no_namespace_labels
    # selectors of the Services, ReplicationControllers, ReplicaSets and StatefulSets that
    # select the pod: the default topology spread constraints spread by them
    spread_selectors: Callable[[dict[str, Any]], list[api_labels.Selector]] = _no_selectors
    # PersistentVolumeClaim by namespace and name, PersistentVolume and StorageClass by name
    claim: Callable[[str, str], dict[str, Any] | None] = _no_claim
    volume: Callable[[str], dict[str, Any] | None] = _no_object
    storage_class: Callable[[str], dict[str, Any] | None] = _no_object
    volumes: Callable[[], list[dict[str, Any]]] = _no_volumes
    # pre-binds a volume to a claim (writes its claimRef); raises an api.errors.APIError
    bind_volume: Callable[[dict[str, Any], dict[str, Any]], Awaitable[None]] | None = None
    # writes pods/<name>/binding; raises an api.errors.APIError on failure
    bind: Callable[[dict[str, Any], str], Awaitable[None]] | None = None
    run_filters: Callable[
        [protocol.CycleState, podinfo.PodInfo, nodeinfo.NodeInfo], protocol.Status | None
    ] | None = None
