"""ServicePorts → the text of the nftables table `ip kubelite` (pure).

Layout of the table:
- nat `prerouting`/`output` (priority -100) look up (daddr . l4proto . dport) in the
  `service-ips` and `node-ports` verdict maps; each hit goes to a per-service chain that
  picks one endpoint with `numgen random` and goes to a per-endpoint chain doing `dnat`.
- NodePort, external IP and load-balancer (status.loadBalancer.ingress) hits first pass an
  `external-*` chain that marks the packet for masquerade (a reply must come back through
  this node; 127.0.0.1 sources must be rewritten).
- An endpoint chain marks traffic from the endpoint itself (pod → VIP → same pod, the
  hairpin case); `postrouting` masquerades marked packets.
- internal/externalTrafficPolicy Local keep to this node's endpoints (none: drop);
  external traffic then keeps its client address (only 127/8 sources are masqueraded).
- sessionAffinity ClientIP: each endpoint has a set `affinity-*` of client addresses
  with the service's timeout; the service chain sends a known client back to its endpoint
  before choosing at random, and the endpoint chain refreshes the client's entry.
- Keys of services without ready endpoints are in the `no-endpoints` set; filter chains on
  input/forward/output reject them (TCP reset, else ICMP port-unreachable) so clients
  fail fast instead of hanging.
- `forward` drops forwarded traffic whose destination is outside the pod and service
  CIDRs, so enabling ip_forward never turns the node into a general router (on a node that
  already forwarded, only traffic from the pod bridge is guarded: the host's own routing is
  not ours to break). With egress masquerade on, pods' own traffic may leave,
  source-rewritten to the node's address. Traffic first addressed to a ClusterIP passes to
  its endpoints wherever they are (the API server's node address, for one).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kubelite.agent.network.proxy.serviceports import ServicePort, service_ports

Obj = dict[str, Any]
TABLE = "kubelite"
MASQ_MARK = 0x4000
AFFINITY_PREFIX = "affinity-"          # client sets; kept across updates (apply.py)


@dataclass(frozen=True)
class Config:
    cluster_cidr: str
    service_cidr: str
    node_addresses: tuple[str, ...] = ("127.0.0.1",)
    # Pods may reach beyond the cluster's networks, masqueraded as the node (k3s's default).
    egress_masquerade: bool = False
    # Guard only traffic entering from this interface (the pod bridge); "": all forwarded
    # traffic. The proxy narrows it when the node already forwarded before it started.
    guard_interface: str = ""
    # This node's name: traffic policies Local keep to endpoints whose nodeName it is.
    node_name: str = ""


def _chain(kind: str, sp: ServicePort, suffix: str = "") -> str:
    # Names and port names are DNS labels: safe in an unquoted nft identifier.
    return f"{kind}-{sp.ident}{suffix}"


Names = tuple[str, str]                 # (endpoint chain, affinity set)


def _names(sp: ServicePort, ep: tuple[str, int]) -> Names:
    suffix = f"/{ep[0]}/{ep[1]}"
    return _chain("endpoint", sp, suffix), _chain("affinity", sp, suffix)


def _keys(sp: ServicePort, cfg: Config) -> tuple[list[str], list[str], list[str]]:
    """(cluster IP, node port, load-balancer) keys of a service port as map element keys."""
    ips = [f"{sp.cluster_ip} . {sp.protocol} . {sp.port}"]
    nodes = [f"{addr} . {sp.protocol} . {sp.node_port}"
             for addr in cfg.node_addresses] if sp.node_port else []
    lbs = [f"{addr} . {sp.protocol} . {sp.port}" for addr in sp.load_balancer_ips]
    return ips, nodes, lbs


def _pick(sp: ServicePort, eps: tuple[tuple[str, int], ...]) -> list[str]:
    """Rules choosing one of `eps`: a known client's own (ClientIP affinity), else random."""
    names = [_names(sp, ep) for ep in eps]
    choices = ", ".join(f"{i} : goto {chain}" for i, (chain, _aff) in enumerate(names))
    sticky = [f"\t\tip saddr @{aff} goto {chain}" for chain, aff in names
              ] if sp.affinity_seconds else []
    return [*sticky, f"\t\tgoto {names[0][0]}" if len(names) == 1 else
            f"\t\tnumgen random mod {len(names)} vmap {{ {choices} }}"]


def _external_chain(sp: ServicePort) -> list[str]:
    """Marks external traffic for masquerade (with externalTrafficPolicy Local only what
    comes from 127/8, which a pod cannot answer), then picks an endpoint."""
    mark = f"meta mark set meta mark | {MASQ_MARK:#x}"
    head = [f"\tchain {_chain('external', sp)} {{",
            f"\t\tip saddr 127.0.0.0/8 {mark}" if sp.external_local else f"\t\t{mark}"]
    if sp.other_external is None:
        return [*head, f"\t\tgoto {_chain('service', sp)}", "\t}"]
    return [*head, *_pick(sp, sp.other_external), "\t}"]


def _service_chains(sp: ServicePort) -> list[str]:
    """The service chain (endpoint choice), its external chain, one chain per endpoint
    and, with session affinity, one client set per endpoint."""
    lines = [line for ep in sp.all_endpoints if sp.affinity_seconds
             for line in (f"\tset {_names(sp, ep)[1]} {{", "\t\ttype ipv4_addr",
                          "\t\tflags dynamic,timeout", f"\t\ttimeout {sp.affinity_seconds}s",
                          "\t}")]
    if sp.endpoints:
        lines += [f"\tchain {_chain('service', sp)} {{", *_pick(sp, sp.endpoints), "\t}"]
    if sp.external and sp.external_endpoints:
        lines += _external_chain(sp)
    for ip, port in sp.all_endpoints:
        chain, aff = _names(sp, (ip, port))
        remember = [f"\t\tupdate @{aff} {{ ip saddr }}"] if sp.affinity_seconds else []
        lines += [f"\tchain {chain} {{",
                  f"\t\tip saddr {ip} meta mark set meta mark | {MASQ_MARK:#x}", *remember,
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
        cluster_keys, node_keys, lb_keys = _keys(sp, cfg)
        if not sp.ready_anywhere:
            dead += cluster_keys + node_keys + lb_keys
            continue
        # A traffic policy Local with no endpoint on this node drops, as upstream.
        internal = f"goto {_chain('service', sp)}" if sp.endpoints else "drop"
        external = f"goto {_chain('external', sp)}" if sp.external_endpoints else "drop"
        ips += [f"{k} : {internal}" for k in cluster_keys]
        ips += [f"{k} : {external}" for k in lb_keys]
        nodes += [f"{k} : {external}" for k in node_keys]
    return (_map("service-ips", sorted(set(ips)), True) + _map("node-ports", nodes, True)
            + _map("no-endpoints", sorted(set(dead)), False))


def _hook(name: str, kind: str, hook: str, priority: int, body: list[str]) -> list[str]:
    head = f"\t\ttype {kind} hook {hook} priority {priority}; policy accept;"
    return [f"\tchain {name} {{", head, *(f"\t\t{b}" for b in body), "\t}"]


def _postrouting(cfg: Config) -> list[str]:
    nets = f"{{ {cfg.cluster_cidr}, {cfg.service_cidr} }}"
    egress = [f"ip saddr {cfg.cluster_cidr} ip daddr != {nets} masquerade"
              ] if cfg.egress_masquerade else []
    return [*egress, f"meta mark & {MASQ_MARK:#x} == 0 return",
            f"meta mark set meta mark & {~MASQ_MARK & 0xffffffff:#x} masquerade"]


def _base_chains(cfg: Config) -> list[str]:
    key = "ip daddr . meta l4proto . th dport"
    dispatch = [f"{key} vmap @service-ips", f"{key} vmap @node-ports"]
    check = [f"{key} @no-endpoints goto reject-no-endpoints"]
    leaving = f"ip daddr != {{ {cfg.cluster_cidr}, {cfg.service_cidr} }}"
    scope = f'iifname "{cfg.guard_interface}" ' if cfg.guard_interface else ""
    guard = (f"{scope}ip saddr != {cfg.cluster_cidr} {leaving} drop" if cfg.egress_masquerade
             else f"{scope}{leaving} drop")
    # Traffic addressed to a ClusterIP goes wherever its endpoints are, other nodes included
    # (the `kubernetes` Service leads to the server's node address).
    service = f"{scope}ct original ip daddr {cfg.service_cidr} accept"
    return [
        *_hook("nat-prerouting", "nat", "prerouting", -100, dispatch),
        *_hook("nat-output", "nat", "output", -100, dispatch),
        *_hook("nat-postrouting", "nat", "postrouting", 100, _postrouting(cfg)),
        *_hook("filter-input", "filter", "input", 0, check),
        *_hook("filter-output", "filter", "output", 0, check),
        *_hook("filter-forward", "filter", "forward", 0, [*check, service, guard]),
        "\tchain reject-no-endpoints {",
        "\t\tmeta l4proto tcp reject with tcp reset",
        "\t\treject", "\t}"]


def render(services: list[Obj], slices: list[Obj], cfg: Config) -> str:
    """The whole table as `nft -f` input (apply adds what replaces the previous one)."""
    sps = service_ports(services, slices, cfg.node_name)
    lines = [f"table ip {TABLE} {{", *_maps(sps, cfg), *_base_chains(cfg)]
    for sp in sps:
        if sp.all_endpoints:
            lines += _service_chains(sp)
    return "\n".join([*lines, "}", ""])


def blocks(text: str) -> dict[str, tuple[str, str]]:
    """name → (chain|set|map, the block's text) of a table `render` wrote."""
    out: dict[str, tuple[str, str]] = {}
    lines = text.splitlines()
    for i, line in enumerate(lines):
        parts = line.strip().split()
        if line.startswith("\t") and not line.startswith("\t\t") and len(parts) == 3 \
                and parts[0] in ("chain", "set", "map") and parts[2] == "{":
            end = lines.index("\t}", i)
            out[parts[1]] = (parts[0], "\n".join(lines[i:end + 1]))
    return out
