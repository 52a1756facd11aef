"""Routes between nodes (flannel's host-gw): every other node's pod CIDR is reached through
that node's InternalIP, so pods on different nodes talk without any encapsulation.

Each route is installed as `ip route replace <podCIDR> via <InternalIP> proto 76`; the
route protocol number 76 marks it as kubelite's, so the routes this module owns can be
listed and removed without touching anyone else's. Only pod CIDRs inside the cluster CIDR
are routed (simulated nodes carry ranges outside it) and never via a loopback next hop.
Nodes must share a link (host-gw needs the next hop directly reachable); a route the
kernel refuses is logged and tried again on the next change.

`NodeRoutes` keeps the routes level-triggered from a Node informer, turns forwarding on
(behind the guard of `forwarding.py`) only while a route to another node exists, and
removes every route it owns when it stops.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import logging
from collections.abc import Callable
from typing import Any

from kubelite.agent.network import forwarding, iproute
from kubelite.agent.network.proxy import apply
from kubelite.client import informer, rest

log = logging.getLogger(__name__)
Obj = dict[str, Any]
PROTO = "76"            # route protocol number of kubelite's routes (`ip route show proto 76`)
RESYNC_SECONDS = 30.0   # re-check the routing table this often (someone may have removed one)
RETRY_SECONDS = 5.0     # after a failed pass


def internal_ip(node: Obj) -> str:
    """The Node's first IPv4 InternalIP, or "" (malformed addresses are skipped)."""
    for a in (node.get("status") or {}).get("addresses") or []:
        if a.get("type") != "InternalIP":
            continue
        try:
            return str(ipaddress.IPv4Address(a.get("address", "")))
        except ValueError:
            continue
    return ""


def _pod_cidrs(node: Obj) -> list[str]:
    spec = node.get("spec") or {}
    return list(spec.get("podCIDRs") or ([spec["podCIDR"]] if spec.get("podCIDR") else []))


def desired(nodes: list[Obj], self_name: str, cluster_cidr: str) -> dict[str, str]:
    """pod CIDR -> next hop for every other live node with a pod CIDR and an InternalIP."""
    cluster = ipaddress.IPv4Network(cluster_cidr)
    out: dict[str, str] = {}
    for node in nodes:
        meta = node.get("metadata") or {}
        via = internal_ip(node)
        if meta.get("name") == self_name or meta.get("deletionTimestamp") or not via:
            continue
        if ipaddress.IPv4Address(via).is_loopback:
            continue
        for cidr in _pod_cidrs(node):
            try:
                net = ipaddress.ip_network(cidr, strict=False)
            except ValueError:
                continue
            if isinstance(net, ipaddress.IPv4Network) and net.subnet_of(cluster):
                out[str(net)] = via
    return out


async def installed(netns: str = "") -> dict[str, str]:
    """pod CIDR -> next hop of every route kubelite owns in the namespace's main table."""
    out = await iproute.ip("-json", "-4", "route", "show", "proto", PROTO, netns=netns)
    return {r["dst"]: r.get("gateway", "") for r in json.loads(out or "[]")}


async def sync(want: dict[str, str], netns: str = "") -> dict[str, str]:
    """Make kubelite's routes exactly `want`; return the ones in place afterwards."""
    have = await installed(netns)
    for cidr in [c for c in have if c not in want]:
        await _delete(cidr, netns)
        del have[cidr]
    for cidr, via in want.items():
        if have.get(cidr) == via:
            continue
        try:
            await iproute.ip("route", "replace", cidr, "via", via, "proto", PROTO, netns=netns)
        except iproute.CommandFailed as e:
            log.warning("route to node not installed cidr=%s via=%s error=%s", cidr, via, e)
            continue
        log.info("route to node installed cidr=%s via=%s", cidr, via)
        have[cidr] = via
    return have


async def _delete(cidr: str, netns: str) -> None:
    try:
        await iproute.ip("route", "delete", cidr, "proto", PROTO, netns=netns)
        log.info("route to node removed cidr=%s", cidr)
    except iproute.CommandFailed as e:      # gone already (its link went away)
        log.debug("route to node already gone cidr=%s error=%s", cidr, e)


async def remove_all(netns: str = "") -> None:
    """Delete every route kubelite owns in the namespace."""
    for cidr in await installed(netns):
        await _delete(cidr, netns)


class NodeRoutes:
    """Keeps this node's routes to every other node's pods while it runs."""

    def __init__(self, client: rest.Client, *, node_name: str, cluster_cidr: str,
                 state_dir: str, netns: str = "", pod_egress: bool = False) -> None:
        self.node_name = node_name
        self.cluster_cidr = str(ipaddress.IPv4Network(cluster_cidr))   # ValueError if not one
        self.netns = netns
        self.nodes = informer.Informer(client, client.resource("v1", "Node"))
        self.guard = forwarding.Forwarding(cluster_cidr, state_dir, netns or None,
                                           pod_egress=pod_egress)
        self.routes: dict[str, str] = {}
        self._want: tuple[dict[str, str], list[str]] | None = None   # last pass's input
        self._dirty = asyncio.Event()
        self._changed = asyncio.Condition()
        mark = self._dirty.set
        self.nodes.add_handlers(informer.Handlers(
            on_add=lambda _: mark(), on_update=lambda _o, _n: mark(), on_delete=lambda _: mark()))

    async def run(self) -> None:
        """Follow Nodes until cancelled; then remove the routes and the forwarding."""
        try:
            async with asyncio.TaskGroup() as tg:
                tg.create_task(self.nodes.run(), name="node-routes-informer")
                await self.nodes.wait_synced()
                force = True
                while True:
                    wait = RESYNC_SECONDS
                    try:
                        await self.reconcile(force=force)
                    except (iproute.CommandFailed, apply.NftFailed, OSError) as e:
                        log.warning("routes to other nodes not synced error=%s", e)
                        wait, self._want = RETRY_SECONDS, None
                    try:
                        await asyncio.wait_for(self._dirty.wait(), wait)
                        force = False
                    except TimeoutError:
                        force = True
        finally:
            await self.stop()

    async def reconcile(self, *, force: bool = True) -> None:
        """One level-triggered pass: routes, then the forwarding they need. Unless `force`d,
        a pass whose input is unchanged (a Node heartbeat) touches nothing."""
        self._dirty.clear()
        nodes = self.nodes.list()
        want = desired(nodes, self.node_name, self.cluster_cidr)
        node_ips = sorted({ip for n in nodes if (ip := internal_ip(n))})
        if not force and self._want == (want, node_ips) and self.routes == want:
            return
        self._want = (want, node_ips)
        self.routes = await sync(want, self.netns)
        if self.routes:
            await self.guard.enable(node_ips)
        else:
            await self.guard.disable()
        async with self._changed:
            self._changed.notify_all()

    async def wait_routes(self, until: Callable[[dict[str, str]], bool],
                          timeout: float) -> dict[str, str]:
        """Wait until the routes in place satisfy `until`; return them (for tests)."""
        async with asyncio.timeout(timeout), self._changed:
            await self._changed.wait_for(lambda: until(self.routes))
            return dict(self.routes)

    async def stop(self) -> None:
        """Forwarding off first (while the guard still stands), then the routes."""
        await self.guard.disable()
        await remove_all(self.netns)
        self.routes = {}
        log.info("routes to other nodes removed node=%s", self.node_name)
