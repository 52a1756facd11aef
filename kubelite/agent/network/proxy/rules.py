"""Services + EndpointSlices → the text of the nftables table `ip kubelite` (pure).

Layout of the table:
- nat `prerouting`/`output` (priority -100) look up (daddr . l4proto . dport) in the
  `service-ips` and `node-ports` verdict maps; each hit goes to a per-service chain that
  picks one endpoint with `numgen random` and goes to a per-endpoint chain doing `dnat`.
- NodePort hits first pass an `external-*` chain that marks the packet for masquerade
  (a reply must come back through this node; 127.0.0.1 sources must be rewritten).
- An endpoint chain marks traffic from the endpoint itself (pod → VIP → same pod, the
  hairpin case); `postrouting` masquerades marked packets only.
- Keys of services without ready endpoints are in the `no-endpoints` set; filter chains on
  input/forward/output reject them (TCP reset, else ICMP port-unreachable) so clients
  fail fast instead of hanging.
- `forward` drops forwarded traffic whose destination is outside the pod and service
  CIDRs, so enabling ip_forward never turns the node into a general router.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Any

Obj = dict[str, Any]
TABLE = "kubelite"
MASQ_MARK = 0x4000
SERVICE_NAME_LABEL = "kubernetes.io/service-name"
PROTOCOLS = {"TCP": "tcp", "UDP": "udp", "SCTP": "sctp"}


@dataclass(frozen=True)
class Config:
    cluster_cidr: str
    service_cidr: str
    node_addresses: tuple[str, ...] = ("127.0.0.1",)


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

    @property
    def ident(self) -> str:
        return f"{self.namespace}/{self.name}/{self.protocol}/{self.port_name or self.port}"


def _ready(ep: Obj) -> bool:
    cond = ep.get("conditions") or {}
    return cond.get("ready") is not False and not cond.get("terminating")


def slice_endpoints(slices: list[Obj], port_name: str, protocol: str) -> tuple[tuple[str, int], ...]:
    """Ready (ip, port) pairs of a service port across its IPv4 slices, sorted, unique."""
    out: set[tuple[str, int]] = set()
    for sl in slices:
        if sl.get("addressType", "IPv4") != "IPv4":
            continue
        ports = [p for p in sl.get("ports") or []
                 if (p.get("name") or "") == port_name and p.get("protocol", "TCP") == protocol
                 and p.get("port")]
        for p in ports:
            for ep in sl.get("endpoints") or []:
                if _ready(ep):
                    out.update((addr, int(p["port"])) for addr in ep.get("addresses") or [])
    return tuple(sorted(out, key=lambda e: (ipaddress.ip_address(e[0]), e[1])))


def service_ports(services: list[Obj], slices: list[Obj]) -> list[ServicePort]:
    """What to program: every port of every ClusterIP/NodePort/LoadBalancer service."""
    by_svc: dict[tuple[str, str], list[Obj]] = {}
    for sl in slices:
        meta = sl.get("metadata") or {}
        svc_name = (meta.get("labels") or {}).get(SERVICE_NAME_LABEL)
        if svc_name:
            by_svc.setdefault((meta.get("namespace", ""), svc_name), []).append(sl)
    out = []
    for svc in services:
        meta, spec = svc["metadata"], svc.get("spec") or {}
        ip = spec.get("clusterIP") or ""
        if spec.get("type") == "ExternalName" or ip in ("", "None") or ":" in ip:
            continue
        mine = by_svc.get((meta.get("namespace", ""), meta["name"]), [])
        for p in spec.get("ports") or []:
            proto = p.get("protocol", "TCP")
            if proto not in PROTOCOLS:
                continue
            out.append(ServicePort(
                meta.get("namespace", ""), meta["name"], p.get("name") or "", PROTOCOLS[proto],
                ip, int(p["port"]), int(p.get("nodePort") or 0),
                slice_endpoints(mine, p.get("name") or "", proto)))
    return sorted(out, key=lambda s: s.ident)


def _chain(kind: str, sp: ServicePort, suffix: str = "") -> str:
    # Names and port names are DNS labels: safe in an unquoted nft identifier.
    return f"{kind}-{sp.ident}{suffix}"


def _keys(sp: ServicePort, cfg: Config) -> tuple[list[str], list[str]]:
    """(cluster IP keys, node port keys) of a service port as map element keys."""
    ips = [f"{sp.cluster_ip} . {sp.protocol} . {sp.port}"]
    nodes = [f"{addr} . {sp.protocol} . {sp.node_port}"
             for addr in cfg.node_addresses] if sp.node_port else []
    return ips, nodes


def _service_chains(sp: ServicePort) -> list[str]:
    """The service chain (endpoint choice) and one chain per endpoint."""
    eps = [_chain("endpoint", sp, f"/{ip}/{port}") for ip, port in sp.endpoints]
    choices = ", ".join(f"{i} : goto {c}" for i, c in enumerate(eps))
    pick = (f"goto {eps[0]}" if len(eps) == 1 else
            f"numgen random mod {len(eps)} vmap {{ {choices} }}")
    lines = [f"\tchain {_chain('service', sp)} {{", f"\t\t{pick}", "\t}"]
    if sp.node_port:
        lines += [f"\tchain {_chain('external', sp)} {{",
                  f"\t\tmeta mark set meta mark | {MASQ_MARK:#x}",
                  f"\t\tgoto {_chain('service', sp)}", "\t}"]
    for (ip, port), name in zip(sp.endpoints, eps):
        lines += [f"\tchain {name} {{",
                  f"\t\tip saddr {ip} meta mark set meta mark | {MASQ_MARK:#x}",
                  f"\t\tmeta l4proto {sp.protocol} dnat to {ip}:{port}", "\t}"]
    return lines


def _map(name: str, elements: list[str], verdict: bool) -> list[str]:
    kind = "map" if verdict else "set"
    tail = " : verdict" if verdict else ""
    lines = [f"\t{kind} {name} {{",
             f"\t\ttype ipv4_addr . inet_proto . inet_service{tail}"]
    if elements:
        lines.append("\t\telements = { " + ",\n\t\t\t".join(elements) + " }")
    return lines + ["\t}"]


def _maps(sps: list[ServicePort], cfg: Config) -> list[str]:
    ips: list[str] = []
    nodes: list[str] = []
    dead: list[str] = []
    for sp in sps:
        cluster_keys, node_keys = _keys(sp, cfg)
        if not sp.endpoints:
            dead += cluster_keys + node_keys
            continue
        ips += [f"{k} : goto {_chain('service', sp)}" for k in cluster_keys]
        nodes += [f"{k} : goto {_chain('external', sp)}" for k in node_keys]
    return (_map("service-ips", ips, True) + _map("node-ports", nodes, True)
            + _map("no-endpoints", dead, False))


def _hook(name: str, kind: str, hook: str, priority: int, body: list[str]) -> list[str]:
    head = f"\t\ttype {kind} hook {hook} priority {priority}; policy accept;"
    return [f"\tchain {name} {{", head, *(f"\t\t{b}" for b in body), "\t}"]


def _base_chains(cfg: Config) -> list[str]:
    key = "ip daddr . meta l4proto . th dport"
    dispatch = [f"{key} vmap @service-ips", f"{key} vmap @node-ports"]
    check = [f"{key} @no-endpoints goto reject-no-endpoints"]
    guard = f"ip daddr != {{ {cfg.cluster_cidr}, {cfg.service_cidr} }} drop"
    return [
        *_hook("nat-prerouting", "nat", "prerouting", -100, dispatch),
        *_hook("nat-output", "nat", "output", -100, dispatch),
        *_hook("nat-postrouting", "nat", "postrouting", 100, [
            f"meta mark & {MASQ_MARK:#x} == 0 return",
            f"meta mark set meta mark & {~MASQ_MARK & 0xffffffff:#x} masquerade"]),
        *_hook("filter-input", "filter", "input", 0, check),
        *_hook("filter-output", "filter", "output", 0, check),
        *_hook("filter-forward", "filter", "forward", 0, [*check, guard]),
        "\tchain reject-no-endpoints {",
        "\t\tmeta l4proto tcp reject with tcp reset",
        "\t\treject", "\t}"]


def render(services: list[Obj], slices: list[Obj], cfg: Config) -> str:
    """The whole table as `nft -f` input (without the flush/delete that apply adds)."""
    sps = service_ports(services, slices)
    lines = [f"table ip {TABLE} {{", *_maps(sps, cfg), *_base_chains(cfg)]
    for sp in sps:
        if sp.endpoints:
            lines += _service_chains(sp)
    return "\n".join([*lines, "}", ""])
