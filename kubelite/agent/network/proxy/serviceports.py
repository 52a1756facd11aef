"""Services + EndpointSlices → what the proxy programs: one ServicePort per service port,
with its ready endpoints, node port, load-balancer addresses and session affinity (pure).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Any

Obj = dict[str, Any]
SERVICE_NAME_LABEL = "kubernetes.io/service-name"
PROTOCOLS = {"TCP": "tcp", "UDP": "udp", "SCTP": "sctp"}
DEFAULT_AFFINITY_SECONDS = 10800          # upstream's sessionAffinityConfig default (3 h)


@dataclass(frozen=True)
class ServicePort:
    """One (service, port) the proxy serves, with its resolved endpoints."""
    namespace: str
    name: str
    port_name: str
    protocol: str                       # nft spelling: tcp, udp, sctp
    cluster_ip: str
    port: int
    node_port: int = 0
    endpoints: tuple[tuple[str, int], ...] = field(default_factory=tuple)
    # spec.externalIPs and status.loadBalancer.ingress IPs (ipMode VIP): reached at
    # ip:port like a node port.
    load_balancer_ips: tuple[str, ...] = ()
    affinity_seconds: int = 0           # sessionAffinity ClientIP timeout; 0: none
    # Where external traffic (node port, load balancer) goes when not to `endpoints`: with
    # a traffic policy Local on one side only. None: to `endpoints`.
    other_external: tuple[tuple[str, int], ...] | None = None
    # externalTrafficPolicy Local: external traffic keeps the client's address.
    external_local: bool = False
    # Ready endpoints exist (maybe only on other nodes): without, clients are refused.
    ready_anywhere: bool = True

    @property
    def ident(self) -> str:
        return f"{self.namespace}/{self.name}/{self.protocol}/{self.port_name or self.port}"

    @property
    def external_endpoints(self) -> tuple[tuple[str, int], ...]:
        return self.endpoints if self.other_external is None else self.other_external

    @property
    def all_endpoints(self) -> tuple[tuple[str, int], ...]:
        return tuple(sorted(set(self.endpoints) | set(self.external_endpoints),
                            key=lambda e: (ipaddress.ip_address(e[0]), e[1])))

    @property
    def external(self) -> bool:
        """Reached from outside the cluster network (node port or load-balancer address)."""
        return bool(self.node_port or self.load_balancer_ips)


def _ready(ep: Obj) -> bool:
    cond = ep.get("conditions") or {}
    return cond.get("ready") is not False and not cond.get("terminating")


def slice_endpoints(slices: list[Obj], port_name: str, protocol: str, node: str = ""
                    ) -> tuple[tuple[str, int], ...]:
    """Ready (ip, port) pairs of a service port across its IPv4 slices, sorted, unique;
    with `node`, only the endpoints on that node."""
    out: set[tuple[str, int]] = set()
    for sl in slices:
        if sl.get("addressType", "IPv4") != "IPv4":
            continue
        ports = [p for p in sl.get("ports") or []
                 if (p.get("name") or "") == port_name and p.get("protocol", "TCP") == protocol
                 and p.get("port")]
        for p in ports:
            for ep in sl.get("endpoints") or []:
                if _ready(ep) and (not node or ep.get("nodeName") == node):
                    out.update((addr, int(p["port"])) for addr in ep.get("addresses") or [])
    return tuple(sorted(out, key=lambda e: (ipaddress.ip_address(e[0]), e[1])))


def load_balancer_ips(svc: Obj) -> tuple[str, ...]:
    """IPv4 addresses besides the cluster IP the service answers on, as upstream: its
    spec.externalIPs and, for a LoadBalancer, its ingress IPs (ipMode Proxy ones are the
    load balancer's own business)."""
    spec = svc.get("spec") or {}
    ingress = ((svc.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
    if spec.get("type") != "LoadBalancer":
        ingress = []
    ips = [i["ip"] for i in ingress if i.get("ip") and i.get("ipMode", "VIP") == "VIP"]
    return tuple(sorted({ip for ip in [*ips, *(spec.get("externalIPs") or [])] if ":" not in ip}))


def affinity_seconds(spec: Obj) -> int:
    if spec.get("sessionAffinity") != "ClientIP":
        return 0
    cfg = (spec.get("sessionAffinityConfig") or {}).get("clientIP") or {}
    return int(cfg.get("timeoutSeconds") or DEFAULT_AFFINITY_SECONDS)


def _slices_by_service(slices: list[Obj]) -> dict[tuple[str, str], list[Obj]]:
    by_svc: dict[tuple[str, str], list[Obj]] = {}
    for sl in slices:
        meta = sl.get("metadata") or {}
        svc_name = (meta.get("labels") or {}).get(SERVICE_NAME_LABEL)
        if svc_name:
            by_svc.setdefault((meta.get("namespace", ""), svc_name), []).append(sl)
    return by_svc


def service_ports(services: list[Obj], slices: list[Obj], node: str = "") -> list[ServicePort]:
    """What to program: every port of every ClusterIP/NodePort/LoadBalancer service. On
    `node` (if known), traffic policies Local keep to its own endpoints."""
    by_svc = _slices_by_service(slices)
    out = []
    for svc in services:
        meta, spec = svc["metadata"], svc.get("spec") or {}
        ip = spec.get("clusterIP") or ""
        if spec.get("type") == "ExternalName" or ip in ("", "None") or ":" in ip:
            continue
        mine = by_svc.get((meta.get("namespace", ""), meta["name"]), [])
        lb_ips, affinity = load_balancer_ips(svc), affinity_seconds(spec)
        for p in spec.get("ports") or []:
            proto = p.get("protocol", "TCP")
            if proto not in PROTOCOLS:
                continue
            name = p.get("name") or ""
            ready = slice_endpoints(mine, name, proto)
            local = slice_endpoints(mine, name, proto, node) if node else ready
            internal = local if spec.get("internalTrafficPolicy") == "Local" else ready
            ext_local = spec.get("externalTrafficPolicy") == "Local" and bool(node)
            external = local if ext_local else ready
            out.append(ServicePort(
                meta.get("namespace", ""), meta["name"], name, PROTOCOLS[proto],
                ip, int(p["port"]), int(p.get("nodePort") or 0), internal, lb_ips, affinity,
                None if external == internal else external, ext_local, bool(ready)))
    return sorted(out, key=lambda s: s.ident)
