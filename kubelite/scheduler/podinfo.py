"""PodInfo: what the scheduler derives from a pod once, so no cycle re-parses it.

Built for the pod being scheduled and for every pod in the cache; immutable after
construction (plugins read it, nobody mutates it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kubelite.api import labels as api_labels
from kubelite.scheduler import resources

HOSTNAME_LABEL = "kubernetes.io/hostname"
ZONE_LABEL = "topology.kubernetes.io/zone"


@dataclass(frozen=True, slots=True)
class AffinityTerm:
    """A parsed PodAffinityTerm; `weight` is set for preferred terms."""

    selector: api_labels.Selector
    namespaces: frozenset[str]
    namespace_selector: api_labels.Selector
    topology_key: str
    weight: int = 0

    def matches(self, pod: PodInfo, namespace_labels: dict[str, str] | None) -> bool:
        """Whether an existing pod is selected by this term (namespace, then labels)."""
        if pod.namespace in self.namespaces or (
            namespace_labels is not None and self.namespace_selector.matches(namespace_labels)
        ):
            return self.selector.matches(pod.labels)
        return False


class PodInfo:
    """Pod-level data used by the plugins; `key` is the UID (namespace/name without one)."""

    __slots__ = (
        "host_ports",
        "key",
        "labels",
        "name",
        "namespace",
        "node_name",
        "non_zero_cpu",
        "non_zero_memory",
        "pod",
        "preferred_affinity",
        "preferred_anti_affinity",
        "priority",
        "requests",
        "requests_key",
        "required_affinity",
        "required_anti_affinity",
        "tolerations",
    )

    def __init__(self, pod: dict[str, Any]) -> None:
        meta, spec = pod.get("metadata") or {}, pod.get("spec") or {}
        self.pod = pod
        self.namespace: str = meta.get("namespace") or "default"
        self.name: str = meta.get("name") or ""
        self.key: str = meta.get("uid") or f"{self.namespace}/{self.name}"
        self.labels: dict[str, str] = meta.get("labels") or {}
        self.node_name: str = spec.get("nodeName") or ""
        self.priority: int = spec.get("priority") or 0
        self.requests = resources.pod_requests(spec)
        non_zero = resources.pod_requests(spec, non_zero=True)
        self.non_zero_cpu, self.non_zero_memory = non_zero.milli_cpu, non_zero.memory
        # identifies the request shape for score memoization (a str: its hash is cached)
        self.requests_key = (
            f"{self.requests.milli_cpu},{self.requests.memory},{self.non_zero_cpu},{self.non_zero_memory}"
        )
        self.host_ports = host_ports(spec)
        self.tolerations: list[dict[str, Any]] = spec.get("tolerations") or []
        affinity = spec.get("affinity") or {}
        pod_aff, anti = affinity.get("podAffinity") or {}, affinity.get("podAntiAffinity") or {}
        req_key, pref_key = "requiredDuringSchedulingIgnoredDuringExecution", "preferredDuringSchedulingIgnoredDuringExecution"
        self.required_affinity = self._terms(pod_aff.get(req_key))
        self.required_anti_affinity = self._terms(anti.get(req_key))
        self.preferred_affinity = self._weighted(pod_aff.get(pref_key))
        self.preferred_anti_affinity = self._weighted(anti.get(pref_key))

    @property
    def spec(self) -> dict[str, Any]:
        return self.pod.get("spec") or {}

    def has_affinity(self) -> bool:
        return bool(
            self.required_affinity or self.required_anti_affinity
            or self.preferred_affinity or self.preferred_anti_affinity
        )

    def _terms(self, raw: list[dict[str, Any]] | None) -> tuple[AffinityTerm, ...]:
        return tuple(self._term(term, 0) for term in raw or ())

    def _weighted(self, raw: list[dict[str, Any]] | None) -> tuple[AffinityTerm, ...]:
        return tuple(self._term(w.get("podAffinityTerm") or {}, w.get("weight") or 0) for w in raw or ())

    def _term(self, term: dict[str, Any], weight: int) -> AffinityTerm:
        ns_selector = term.get("namespaceSelector")
        namespaces = term.get("namespaces") or []
        if not namespaces and ns_selector is None:
            namespaces = [self.namespace]
        return AffinityTerm(
            selector=api_labels.from_label_selector(term.get("labelSelector")),
            namespaces=frozenset(namespaces),
            namespace_selector=api_labels.from_label_selector(ns_selector),
            topology_key=term.get("topologyKey") or "",
            weight=weight,
        )


def host_ports(spec: dict[str, Any]) -> tuple[tuple[str, str, int], ...]:
    """(hostIP, protocol, hostPort) of every container port that claims a host port."""
    ports = []
    for container in spec.get("containers") or ():
        for port in container.get("ports") or ():
            if port.get("hostPort"):
                ip = port.get("hostIP") or "0.0.0.0"
                ports.append((ip, port.get("protocol") or "TCP", int(port["hostPort"])))
    return tuple(ports)
