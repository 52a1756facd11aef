"""The cluster zone in memory: what Services, EndpointSlices and Pods say DNS should answer.

Updates come one object at a time from informer events (`upsert_*`/`delete_*`); every
change bumps `generation`, so a server may cache packed answers until it moves. Lookups are
pure (no I/O) and return an `Answer` of plain records; `server` turns them into packets.
All name comparisons are case-insensitive, as the Kubernetes DNS specification requires.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from kubelite.agent.network.dns import answers, names

Obj = dict[str, Any]
Answer = answers.Answer
Record = answers.Record
NOERROR, NXDOMAIN, REFUSED = answers.NOERROR, answers.NXDOMAIN, answers.REFUSED


@dataclass(frozen=True)
class Port:
    name: str
    protocol: str  # lower case: "tcp", "udp", "sctp"
    port: int


@dataclass(frozen=True)
class Service:
    kind: str  # "cluster" (has cluster IPs), "headless" or "external"
    cluster_ips: tuple[str, ...]
    ports: tuple[Port, ...]
    external_name: str = ""
    publish_not_ready: bool = False


@dataclass(frozen=True)
class Endpoint:
    addresses: tuple[str, ...]
    hostname: str  # explicit hostname, or "" (then the dashed address stands in)
    ready: bool


@dataclass(frozen=True)
class Slice:
    service: str
    endpoints: tuple[Endpoint, ...]
    ports: tuple[Port, ...]


@dataclass(frozen=True)
class Pod:
    hostname: str
    subdomain: str
    ips: tuple[str, ...]
    ready: bool


@dataclass
class Zone:
    """Records of one cluster domain, fed incrementally."""

    domain: str = "cluster.local"
    ttl: int = 5
    generation: int = 0
    services: dict[tuple[str, str], Service] = field(default_factory=dict)
    slices: dict[tuple[str, str], Slice] = field(default_factory=dict)
    pods: dict[tuple[str, str], Pod] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.domain = self.domain.strip(".").lower()
        self._ns_services: dict[str, set[str]] = {}
        self._svc_slices: dict[tuple[str, str], set[str]] = {}
        self._subdomain_pods: dict[tuple[str, str], set[str]] = {}
        self._reverse: dict[str, list[str]] = {}
        self._reverse_generation = -1

    # -- updates from informer events ------------------------------------------------------

    def upsert_service(self, obj: Obj) -> None:
        ns, name = _key(obj)
        self.services[(ns, name)] = service_of(obj)
        self._ns_services.setdefault(ns, set()).add(name)
        self.generation += 1

    def delete_service(self, obj: Obj) -> None:
        ns, name = _key(obj)
        if self.services.pop((ns, name), None) is not None:
            self._ns_services.get(ns, set()).discard(name)
            self.generation += 1

    def upsert_slice(self, obj: Obj) -> None:
        self.delete_slice(obj)
        ns, name = _key(obj)
        sl = slice_of(obj)
        if sl is not None:
            self.slices[(ns, name)] = sl
            self._svc_slices.setdefault((ns, sl.service), set()).add(name)
        self.generation += 1

    def delete_slice(self, obj: Obj) -> None:
        ns, name = _key(obj)
        old = self.slices.pop((ns, name), None)
        if old is not None:
            self._svc_slices.get((ns, old.service), set()).discard(name)
            self.generation += 1

    def upsert_pod(self, obj: Obj) -> None:
        self.delete_pod(obj)
        ns, name = _key(obj)
        pod = pod_of(obj)
        if pod is not None:
            self.pods[(ns, name)] = pod
            self._subdomain_pods.setdefault((ns, pod.subdomain), set()).add(name)
            self.generation += 1

    def delete_pod(self, obj: Obj) -> None:
        ns, name = _key(obj)
        old = self.pods.pop((ns, name), None)
        if old is not None:
            self._subdomain_pods.get((ns, old.subdomain), set()).discard(name)
            self.generation += 1

    # -- reading ---------------------------------------------------------------------------

    def has_namespace(self, ns: str) -> bool:
        return bool(self._ns_services.get(ns))

    def endpoints(self, ns: str, svc: str) -> list[tuple[str, str, tuple[Port, ...]]]:
        """(hostname, address, ports) of the service's published endpoints, de-duplicated.

        Endpoints come from its EndpointSlices and, for a headless service, from pods whose
        hostname and subdomain name it. Unready ones count only with publishNotReadyAddresses.
        """
        service = self.services.get((ns, svc))
        if service is None:
            return []
        out: dict[tuple[str, str], tuple[Port, ...]] = {}
        for sl_name in sorted(self._svc_slices.get((ns, svc), ())):
            sl = self.slices[(ns, sl_name)]
            for ep in sl.endpoints:
                if ep.ready or service.publish_not_ready:
                    for addr in ep.addresses:
                        out.setdefault((ep.hostname or names.dashed(addr), addr), sl.ports)
        if service.kind == "headless":
            for pod_name in sorted(self._subdomain_pods.get((ns, svc), ())):
                pod = self.pods[(ns, pod_name)]
                if pod.ready or service.publish_not_ready:
                    for addr in pod.ips:
                        out.setdefault((pod.hostname, addr), service.ports)
        return [(host, addr, ports) for (host, addr), ports in out.items()]

    def reverse(self, address: str) -> list[str]:
        """Names whose records hold `address` (for PTR): service cluster IPs, headless endpoints."""
        if self._reverse_generation != self.generation:
            self._reverse = self._reverse_index()
            self._reverse_generation = self.generation
        return self._reverse.get(address, [])

    def _reverse_index(self) -> dict[str, list[str]]:
        index: dict[str, list[str]] = {}
        for (ns, name), svc in sorted(self.services.items()):
            fqdn = f"{name}.{ns}.svc.{self.domain}"
            for ip in svc.cluster_ips:
                index.setdefault(ip, []).append(fqdn)
            if svc.kind == "headless":
                for host, addr, _ in self.endpoints(ns, name):
                    index.setdefault(addr, []).append(f"{host}.{fqdn}")
        return index

    def lookup(self, qname: str, qtype: str) -> Answer:
        """Answer one question; names outside the zone are REFUSED (the server forwards them)."""
        return answers.lookup(self, qname, qtype)


def search_domains(namespace: str, domain: str = "cluster.local") -> list[str]:
    """The search path a pod in `namespace` gets (ClusterFirst DNS policy), most specific first."""
    domain = domain.strip(".")
    return [f"{namespace}.svc.{domain}", f"svc.{domain}", domain]


def _key(obj: Obj) -> tuple[str, str]:
    meta = obj["metadata"]
    return meta.get("namespace", "").lower(), meta["name"].lower()


def _ports(items: list[Obj] | None) -> tuple[Port, ...]:
    return tuple(Port(str(p.get("name") or "").lower(), str(p.get("protocol") or "TCP").lower(),
                      int(p.get("port") or 0)) for p in items or [])


def service_of(obj: Obj) -> Service:
    spec = obj.get("spec") or {}
    ports = _ports(spec.get("ports"))
    publish = bool(spec.get("publishNotReadyAddresses"))
    if spec.get("type") == "ExternalName":
        return Service("external", (), ports, str(spec.get("externalName") or "").strip(".").lower())
    ips = tuple(ip for ip in spec.get("clusterIPs") or [spec.get("clusterIP")] if ip and ip != "None")
    return Service("cluster" if ips else "headless", ips, ports, publish_not_ready=publish)


def slice_of(obj: Obj) -> Slice | None:
    """A slice's endpoints, or None when it names no service."""
    svc = ((obj.get("metadata") or {}).get("labels") or {}).get("kubernetes.io/service-name")
    if not svc:
        return None
    eps = tuple(Endpoint(tuple(ep.get("addresses") or ()), str(ep.get("hostname") or "").lower(),
                         (ep.get("conditions") or {}).get("ready") is not False)
                for ep in obj.get("endpoints") or [])
    return Slice(svc.lower(), eps, _ports(obj.get("ports")))


def pod_of(obj: Obj) -> Pod | None:
    """A pod's hostname record, or None when it has no hostname+subdomain or no IP yet."""
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    if not spec.get("hostname") or not spec.get("subdomain"):
        return None
    ips = tuple(p["ip"] for p in status.get("podIPs") or [] if p.get("ip"))
    ips = ips or ((status["podIP"],) if status.get("podIP") else ())
    if not ips or (obj.get("metadata") or {}).get("deletionTimestamp"):
        return None
    ready = any(c.get("type") == "Ready" and c.get("status") == "True"
                for c in status.get("conditions") or [])
    return Pod(spec["hostname"].lower(), spec["subdomain"].lower(), ips, ready)
