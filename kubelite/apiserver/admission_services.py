"""Admission: Service clusterIP and nodePort allocation (upstream's service REST allocators).

Allocation state is derived from the stored Services in the watch cache, not kept in a
separate bitmap object. Two creates racing for the same address are kept apart by one
lock per server and in-memory reservations: a value handed out stays reserved until the
watch cache sees any change of its Service (the write landed, and the stored object now
says what is held) or RESERVATION_SECONDS pass (the write failed). Deleting a Service
frees its values at once.
"""

from __future__ import annotations

import asyncio
import ipaddress
import random
import time
import weakref
from dataclasses import dataclass, field
from typing import Any, TypeVar

from kubelite.api import errors, registry
from kubelite.api.validation import field as vfield
from kubelite.apiserver import context, watchcache

Obj = dict[str, Any]
RESERVATION_SECONDS = 30.0
KUBERNETES_SERVICE = ("default", "kubernetes")
V = TypeVar("V", str, int)


@dataclass(frozen=True)
class Config:
    service_cidr: str = "10.43.0.0/16"
    node_port_low: int = 30000
    node_port_high: int = 32767

    @property
    def network(self) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
        return ipaddress.ip_network(self.service_cidr, strict=False)

    @property
    def first_ip(self) -> str:
        """The address reserved for the `kubernetes` Service."""
        return str(self.network.network_address + 1)


CONFIG = Config()


def configure(service_cidr: str = "10.43.0.0/16", node_ports: tuple[int, int] = (30000, 32767)
              ) -> None:
    """Set the service range and node port range (the server's flags)."""
    global CONFIG
    ipaddress.ip_network(service_cidr, strict=False)  # fail loudly on a bad range
    CONFIG = Config(service_cidr, node_ports[0], node_ports[1])


@dataclass
class Used:
    """Values taken by other Services (and live reservations of other writers)."""

    ips: set[str] = field(default_factory=set)
    ports: set[int] = field(default_factory=set)


@dataclass
class Reservation:
    """Values handed to one write of `owner` (namespace/name) that has not landed yet; the
    watcher sees the owner's next change in the cache."""

    owner: str
    deadline: float
    watcher: watchcache.Watcher

    def settled(self, now: float) -> bool:
        return self.deadline < now or not self.watcher.queue.empty()


@dataclass
class Allocator:
    """Per-server lock and reservations by value."""

    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    ips: dict[str, Reservation] = field(default_factory=dict)
    ports: dict[int, Reservation] = field(default_factory=dict)


_allocators: weakref.WeakKeyDictionary[watchcache.Cache, Allocator] = \
    weakref.WeakKeyDictionary()


def _allocator(ctx: context.Context) -> Allocator:
    alloc = _allocators.get(ctx.cache)
    if alloc is None:
        alloc = _allocators[ctx.cache] = Allocator()
    return alloc


def needs_cluster_ip(spec: Obj) -> bool:
    return (spec.get("type") or "ClusterIP") != "ExternalName"


def needs_node_ports(spec: Obj) -> bool:
    kind = spec.get("type") or "ClusterIP"
    return kind == "NodePort" or (kind == "LoadBalancer"
                                  and spec.get("allocateLoadBalancerNodePorts") is not False)


def held(svc: Obj) -> tuple[set[str], set[int]]:
    """The cluster IPs and node ports a stored Service holds."""
    spec = svc.get("spec") or {}
    ips = {ip for ip in spec.get("clusterIPs") or [spec.get("clusterIP")] if ip and ip != "None"}
    ports = {p["nodePort"] for p in spec.get("ports") or [] if p.get("nodePort")}
    return ips, ports


def _stored(ctx: context.Context) -> dict[str, Obj]:
    rt = ctx.registry.lookup("", "v1", "services")
    assert rt is not None
    out = {}
    for entry in ctx.cache.bucket(rt.key_prefix()).scan():
        out[f"{entry.namespace}/{entry.name}"] = entry.decode()
    return out


def _used_by_others(ctx: context.Context, alloc: Allocator, owner: str) -> Used:
    """Values held by every other stored Service or reserved by another writer; drops
    reservations whose write settled."""
    used = Used()
    for key, svc in _stored(ctx).items():
        if key != owner:
            ips, ports = held(svc)
            used.ips |= ips
            used.ports |= ports
    now = time.monotonic()
    _prune(alloc.ips, used.ips, owner, now)
    _prune(alloc.ports, used.ports, owner, now)
    return used


def _prune(table: dict[V, Reservation], into: set[V], owner: str, now: float) -> None:
    for value, res in list(table.items()):
        if res.settled(now):
            res.watcher.stop()
            del table[value]
        elif res.owner != owner:
            into.add(value)


def _reserve(ctx: context.Context, alloc: Allocator, owner: str, ip: str | None,
             ports: list[int]) -> None:
    if ip is None and not ports:
        return
    rt = ctx.registry.lookup("", "v1", "services")
    assert rt is not None
    namespace, _, name = owner.partition("/")
    key = rt.key(namespace, name)
    watcher = ctx.cache.watch(rt.key_prefix(), lambda e: e.key == key, ctx.cache.revision)
    res = Reservation(owner, time.monotonic() + RESERVATION_SECONDS, watcher)
    if ip is not None:
        alloc.ips[ip] = res
    for port in ports:
        alloc.ports[port] = res


def _invalid(svc: Obj, causes: list[errors.Cause]) -> errors.Invalid:
    return errors.Invalid("", "Service", svc["metadata"].get("name", ""), causes)


def _check_requested_ip(svc: Obj, ip: str, used: Used, owner: str) -> None:
    net = CONFIG.network
    try:
        addr = ipaddress.ip_address(ip)
    except ValueError:
        raise _invalid(svc, [vfield.invalid("spec.clusterIPs[0]", ip, "must be a valid IP "
                                            "address, (e.g. 10.9.8.7 or 2001:db8::ffff)")])
    problem = ""
    if addr not in net or addr in (net.network_address, net.broadcast_address):
        problem = (f"the provided IP ({ip}) is not in the valid range. The range of valid IPs "
                   f"is {net}")
    elif ip in used.ips or (ip == CONFIG.first_ip and owner != "/".join(KUBERNETES_SERVICE)):
        problem = "provided IP is already allocated"
    if problem:
        raise _invalid(svc, [vfield.invalid("spec.clusterIPs", [ip],
                                            f"failed to allocate IP {ip}: {problem}")])


def pick_ip(used: set[str]) -> str:
    """A random free address of the range, never the network, broadcast or first one."""
    net = CONFIG.network
    size = net.num_addresses
    base = int(net.network_address)
    candidates = range(2, size - 1) if net.version == 4 else range(2, size)
    if len(candidates) <= 0:
        raise errors.InternalError("failed to allocate a serviceIP: range is full")
    start = random.randrange(len(candidates))
    for i in range(len(candidates)):
        ip = str(ipaddress.ip_address(base + candidates[(start + i) % len(candidates)]))
        if ip not in used:
            return ip
    raise errors.InternalError("failed to allocate a serviceIP: range is full")


def pick_port(used: set[int]) -> int:
    low, high = CONFIG.node_port_low, CONFIG.node_port_high
    span = high - low + 1
    start = random.randrange(span)
    for i in range(span):
        port = low + (start + i) % span
        if port not in used:
            return port
    raise errors.InternalError("failed to allocate a nodePort: range is full")


def assign_cluster_ip(svc: Obj, old: Obj | None, used: Used, owner: str) -> str | None:
    """Fill spec.clusterIP(s); returns a newly taken address (to reserve) or None."""
    spec = svc.setdefault("spec", {})
    old_spec = (old or {}).get("spec") or {}
    if not needs_cluster_ip(spec):
        if old is not None and spec.get("clusterIP") == old_spec.get("clusterIP"):
            spec.pop("clusterIP", None)   # leaving ExternalName behind drops the address
            spec.pop("clusterIPs", None)
        return None
    if not spec.get("clusterIP") and spec.get("clusterIPs"):
        spec["clusterIP"] = spec["clusterIPs"][0]
    if not spec.get("clusterIP") and old is not None and needs_cluster_ip(old_spec) \
            and old_spec.get("clusterIP"):
        spec["clusterIP"] = old_spec["clusterIP"]
    ip = spec.get("clusterIP")
    fresh = None
    if not ip:
        ip = fresh = pick_ip(used.ips)
    elif ip != "None" and ip != old_spec.get("clusterIP"):
        _check_requested_ip(svc, ip, used, owner)
        fresh = ip
    spec["clusterIP"] = ip
    spec["clusterIPs"] = [ip]
    return fresh


def _keep_old_node_ports(ports: list[Obj], old_spec: Obj) -> None:
    """Ports the client left without a nodePort keep the one the same-named port had."""
    old_ports = old_spec.get("ports") or []
    by_name = {p.get("name", ""): p.get("nodePort") for p in old_ports}
    taken = {p["nodePort"] for p in ports if p.get("nodePort")}
    for p in ports:
        previous = by_name.get(p.get("name", ""))
        if not p.get("nodePort") and previous and previous not in taken:
            p["nodePort"] = previous
            taken.add(previous)


def assign_node_ports(svc: Obj, old: Obj | None, used: Used) -> list[int]:
    """Fill spec.ports[*].nodePort; returns the newly taken ports (to reserve)."""
    spec = svc.get("spec") or {}
    if not needs_node_ports(spec):
        return []
    ports = spec.get("ports") or []
    old_spec = (old or {}).get("spec") or {}
    if old is not None and needs_node_ports(old_spec):
        _keep_old_node_ports(ports, old_spec)
    held_before = held(old)[1] if old is not None else set()
    fresh: list[int] = []
    for i, p in enumerate(ports):
        port = p.get("nodePort")
        if port and port not in held_before and port not in fresh:
            if port in used.ports:
                raise _invalid(svc, [vfield.invalid(f"spec.ports[{i}].nodePort", port,
                                                    "provided port is already allocated")])
            fresh.append(port)
    by_number = {p["port"]: p["nodePort"] for p in ports if p.get("nodePort")}
    for p in ports:
        if not p.get("nodePort"):
            # The same port number over TCP and UDP shares one node port, as upstream.
            port = by_number.get(p.get("port")) or pick_port(used.ports | set(fresh)
                                                             | held_before)
            p["nodePort"] = by_number[p.get("port")] = port
            if port not in fresh:
                fresh.append(port)
    return fresh


async def allocate_service_ips(ctx: context.Context, rt: registry.ResourceType, new: Obj,
                               old: Obj | None) -> None:
    """Admission plugin: give a Service its cluster IP and node ports, or reject taken ones."""
    if rt.group != "" or rt.kind != "Service" or not isinstance(new.get("spec"), dict):
        return
    meta = new["metadata"]
    owner = f"{meta.get('namespace', '')}/{meta.get('name', '')}"
    alloc = _allocator(ctx)
    async with alloc.lock:
        await ctx.cache.wait_fresh()
        used = _used_by_others(ctx, alloc, owner)
        ip = assign_cluster_ip(new, old, used, owner)
        ports = assign_node_ports(new, old, used)
        _reserve(ctx, alloc, owner, ip, ports)
