"""Node IPAM (upstream's range allocator): every Node without spec.podCIDR gets the first
free /24 (by default) of the cluster CIDR, written as spec.podCIDR and spec.podCIDRs.

Nodes that bring their own podCIDR (hollow nodes) keep it; any CIDR a Node already holds
counts as in use, and so do ones this controller assigned whose write the cache has not
seen yet, so two Nodes never get the same range.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
from collections.abc import Iterable
from typing import Any

from kubelite.api import errors
from kubelite.client import factory, rest
from kubelite.controllers import controller

log = logging.getLogger(__name__)
Obj = dict[str, Any]
DEFAULT_CLUSTER_CIDR = "10.42.0.0/16"
DEFAULT_MASK_SIZE = 24
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def node_cidrs(node: Obj) -> list[str]:
    """The pod CIDRs a Node holds (podCIDRs, else podCIDR)."""
    spec = node.get("spec") or {}
    return list(spec.get("podCIDRs") or ([spec["podCIDR"]] if spec.get("podCIDR") else []))


def _parse(cidrs: Iterable[str]) -> list[Network]:
    out = []
    for c in cidrs:
        try:
            out.append(ipaddress.ip_network(c, strict=False))
        except ValueError:
            log.warning("ignoring malformed pod CIDR %r", c)
    return out


def next_free(cluster_cidr: str, mask_size: int, used: Iterable[str]) -> str | None:
    """The first /mask_size subnet of `cluster_cidr` overlapping none of `used`, or None."""
    cluster = ipaddress.ip_network(cluster_cidr)
    taken = [n for n in _parse(used) if n.version == cluster.version and n.overlaps(cluster)]
    for candidate in cluster.subnets(new_prefix=mask_size):
        if not any(candidate.overlaps(t) for t in taken):
            return str(candidate)
    return None


class NodeIPAMController(controller.Controller):
    name = "node-ipam-controller"

    def __init__(self, client: rest.Client, informers: factory.InformerFactory, *,
                 cluster_cidr: str = DEFAULT_CLUSTER_CIDR,
                 mask_size: int = DEFAULT_MASK_SIZE) -> None:
        super().__init__(client, informers)
        net = ipaddress.ip_network(cluster_cidr)
        if not net.prefixlen <= mask_size <= net.max_prefixlen:
            raise ValueError(f"node CIDR mask size {mask_size} does not fit in {cluster_cidr}")
        self.cluster_cidr, self.mask_size = str(net), mask_size
        self.node_rt = client.resource("v1", "Node")
        self.nodes = informers.informer("v1", "Node")
        self.nodes.add_handlers(self.enqueue_handlers())
        self._pending: dict[str, str] = {}     # node name -> CIDR written, not yet seen
        self._lock = asyncio.Lock()

    def _in_use(self, except_node: str) -> list[str]:
        used = [c for n in self.nodes.list() for c in node_cidrs(n)]
        used += [c for name, c in self._pending.items() if name != except_node]
        return used

    async def sync(self, key: str) -> None:
        node = self.nodes.get(key)
        if node is None or node["metadata"].get("deletionTimestamp"):
            self._pending.pop(key, None)
            return
        if node_cidrs(node):
            self._pending.pop(key, None)
            return
        async with self._lock:
            cidr = self._pending.get(key) or next_free(
                self.cluster_cidr, self.mask_size, self._in_use(key))
            if cidr is None:
                log.warning("no pod CIDR left in %s for node=%s", self.cluster_cidr, key)
                return
            self._pending[key] = cidr
        await self._assign(key, cidr)

    async def _assign(self, name: str, cidr: str) -> None:
        try:
            await self.client.patch(self.node_rt, name,
                                    {"spec": {"podCIDR": cidr, "podCIDRs": [cidr]}})
        except errors.APIError as e:
            if errors.is_not_found(e):
                self._pending.pop(name, None)
                return
            raise
        log.info("pod CIDR assigned node=%s cidr=%s", name, cidr)
