"""NodeInfo (one node and the pods on it) and the Cache the scheduler cycles read.

The cache is kept incrementally from informer events (add/update/remove node and
pod) plus the scheduler's own assumptions: `assume(pod, node)` counts a pod on its
node as soon as a cycle picks it, before the binding is written, and `forget` undoes
that when binding fails. An assumed pod later seen bound by the informer is confirmed.

A scheduling cycle is synchronous, so it reads the cache directly: nothing changes
under it. The node list is rebuilt only when nodes come or go.
"""

from __future__ import annotations

import itertools
from typing import Any

from kubelite.scheduler import podinfo, resources

_generation = itertools.count(1)
_HARD_EFFECTS = ("NoSchedule", "NoExecute")
_TERMINAL = ("Succeeded", "Failed")


class NodeInfo:
    """Aggregated state of one node. `node` is None for a placeholder whose pods arrived first."""

    __slots__ = (
        "allocatable",
        "free_cpu",
        "free_ephemeral_storage",
        "free_memory",
        "free_pods",
        "generation",
        "hard_taints",
        "labels",
        "name",
        "node",
        "non_zero_cpu",
        "non_zero_memory",
        "pods",
        "pods_with_affinity",
        "pods_with_required_anti_affinity",
        "prefer_taints",
        "requested",
        "taints",
        "unschedulable",
        "used_ports",
    )

    def __init__(self, node: dict[str, Any] | None = None, name: str = "") -> None:
        self.pods: dict[str, podinfo.PodInfo] = {}
        self.pods_with_affinity: dict[str, podinfo.PodInfo] = {}
        self.pods_with_required_anti_affinity: dict[str, podinfo.PodInfo] = {}
        self.used_ports: dict[tuple[str, int], set[str]] = {}  # (protocol, port) -> host IPs
        self.requested = resources.Resource()
        self.non_zero_cpu = 0
        self.non_zero_memory = 0
        self.node: dict[str, Any] | None = None
        self.name = name
        self.set_node(node)

    def set_node(self, node: dict[str, Any] | None) -> None:
        """Replace the node object; derived fields follow it."""
        self.node = node
        self.generation = next(_generation)
        meta, spec, status = (node or {}).get("metadata") or {}, (node or {}).get("spec") or {}, (node or {}).get("status") or {}
        self.name = meta.get("name") or self.name
        self.labels: dict[str, str] = meta.get("labels") or {}
        self.allocatable = resources.from_resource_list(status.get("allocatable") or status.get("capacity"))
        self.taints: list[dict[str, Any]] = spec.get("taints") or []
        self.hard_taints = [t for t in self.taints if t.get("effect") in _HARD_EFFECTS]
        self.prefer_taints = [t for t in self.taints if t.get("effect") == "PreferNoSchedule"]
        self.unschedulable = bool(spec.get("unschedulable"))
        self._refresh_free()

    def _refresh_free(self) -> None:
        """Allocatable minus requested, kept for NodeResourcesFit's hot path."""
        alloc, used = self.allocatable, self.requested
        self.free_cpu = alloc.milli_cpu - used.milli_cpu
        self.free_memory = alloc.memory - used.memory
        self.free_ephemeral_storage = alloc.ephemeral_storage - used.ephemeral_storage
        self.free_pods = alloc.pods - len(self.pods)

    def add_pod(self, pod: podinfo.PodInfo) -> None:
        self.pods[pod.key] = pod
        if pod.has_affinity():
            self.pods_with_affinity[pod.key] = pod
        if pod.required_anti_affinity:
            self.pods_with_required_anti_affinity[pod.key] = pod
        self._account(pod, 1)

    def remove_pod(self, key: str) -> podinfo.PodInfo | None:
        pod = self.pods.pop(key, None)
        if pod is not None:
            self.pods_with_affinity.pop(key, None)
            self.pods_with_required_anti_affinity.pop(key, None)
            self._account(pod, -1)
        return pod

    def _account(self, pod: podinfo.PodInfo, sign: int) -> None:
        self.requested.add(pod.requests, sign)
        self.non_zero_cpu += sign * pod.non_zero_cpu
        self.non_zero_memory += sign * pod.non_zero_memory
        for ip, protocol, port in pod.host_ports:
            ips = self.used_ports.setdefault((protocol, port), set())
            if sign > 0:
                ips.add(ip)
            else:
                ips.discard(ip)
                if not ips:
                    del self.used_ports[(protocol, port)]
        self.generation = next(_generation)
        self._refresh_free()

    def clone(self) -> NodeInfo:
        """An independent copy (preemption dry runs remove pods from it)."""
        copy = NodeInfo(self.node, self.name)
        for pod in self.pods.values():
            copy.add_pod(pod)
        return copy


class Cache:
    """Nodes and the pods bound (or assumed) to them, by name and pod key."""

    def __init__(self) -> None:
        self._nodes: dict[str, NodeInfo] = {}
        self._pods: dict[str, tuple[podinfo.PodInfo, str]] = {}  # key -> (pod, node name)
        self._assumed: set[str] = set()
        self._node_list: list[NodeInfo] | None = None
        self.affinity_nodes: set[str] = set()  # nodes holding pods with (anti-)affinity
        # nodes with a property most clusters lack, so plugins can skip a cycle when none has it
        self.unschedulable_nodes: set[str] = set()
        self.hard_tainted_nodes: set[str] = set()  # NoSchedule / NoExecute taints
        self.prefer_tainted_nodes: set[str] = set()  # PreferNoSchedule taints

    # nodes
    def add_node(self, node: dict[str, Any]) -> NodeInfo:
        name = node["metadata"]["name"]
        info = self._nodes.get(name)
        if info is None:
            info = self._nodes[name] = NodeInfo(node)
        else:
            info.set_node(node)
        self._node_list = None
        self._index(info, present=True)
        return info

    def _index(self, info: NodeInfo, present: bool) -> None:
        for members, member in (
            (self.unschedulable_nodes, info.unschedulable),
            (self.hard_tainted_nodes, bool(info.hard_taints)),
            (self.prefer_tainted_nodes, bool(info.prefer_taints)),
        ):
            if present and member:
                members.add(info.name)
            else:
                members.discard(info.name)

    update_node = add_node

    def remove_node(self, name: str) -> None:
        """Forget a node; its pods stay accounted on a placeholder until they are deleted."""
        info = self._nodes.get(name)
        if info is None:
            return
        self._index(info, present=False)
        if info.pods:
            info.set_node(None)
        else:
            del self._nodes[name]
        self._node_list = None

    def node_list(self) -> list[NodeInfo]:
        """Nodes that exist (placeholders excluded), in a stable order."""
        if self._node_list is None:
            self._node_list = [n for n in self._nodes.values() if n.node is not None]
        return self._node_list

    def get(self, name: str) -> NodeInfo | None:
        info = self._nodes.get(name)
        return info if info is not None and info.node is not None else None

    def __len__(self) -> int:
        return len(self.node_list())

    # pods
    def add_pod(self, pod: dict[str, Any]) -> None:
        """An informer saw a bound pod (confirms an assumed one); terminal pods are ignored."""
        self.update_pod(pod)

    def update_pod(self, pod: dict[str, Any]) -> None:
        """Terminating pods still hold their resources; only terminal ones are dropped."""
        info = podinfo.PodInfo(pod)
        if (pod.get("status") or {}).get("phase") in _TERMINAL:
            self.remove_pod(info.key)
            return
        if not info.node_name:
            return  # not bound yet: the queue's business, and an assumption stays
        self._assumed.discard(info.key)
        self._place(info, info.node_name)

    def remove_pod(self, key_or_pod: str | dict[str, Any]) -> None:
        key = key_or_pod if isinstance(key_or_pod, str) else podinfo.PodInfo(key_or_pod).key
        entry = self._pods.pop(key, None)
        self._assumed.discard(key)
        if entry is None:
            return
        node = self._nodes.get(entry[1])
        if node is None:
            return
        node.remove_pod(key)
        if not node.pods_with_affinity:
            self.affinity_nodes.discard(node.name)
        if node.node is None and not node.pods:
            del self._nodes[node.name]

    def assume(self, pod: podinfo.PodInfo, node_name: str) -> None:
        """Count a pod on the node its binding is being written for."""
        self._place(pod, node_name)
        self._assumed.add(pod.key)

    def forget(self, pod: podinfo.PodInfo) -> None:
        """Undo assume (binding failed)."""
        if pod.key in self._assumed:
            self.remove_pod(pod.key)

    def is_assumed(self, key: str) -> bool:
        return key in self._assumed

    def node_of(self, key: str) -> str | None:
        entry = self._pods.get(key)
        return entry[1] if entry is not None else None

    def _place(self, info: podinfo.PodInfo, node_name: str) -> None:
        if info.key in self._pods:
            self.remove_pod(info.key)
        node = self._nodes.get(node_name)
        if node is None:
            node = self._nodes[node_name] = NodeInfo(None, node_name)
        node.add_pod(info)
        self._pods[info.key] = (info, node_name)
        if info.has_affinity():
            self.affinity_nodes.add(node_name)
