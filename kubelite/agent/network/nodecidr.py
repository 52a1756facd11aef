"""The agent's side of pod networking: wait for the Node's pod CIDR (assigned by the
node IPAM controller), then bring up the pod network for it."""

from __future__ import annotations

import asyncio
import logging
import os
from typing import Any

from kubelite.agent.network import iproute, podnet
from kubelite.api import errors
from kubelite.client import rest

log = logging.getLogger(__name__)


async def wait_pod_cidr(client: rest.Client, node_name: str, timeout: float) -> str:
    """The Node's first IPv4 pod CIDR, waiting up to `timeout` seconds; "" if none came."""
    rt = client.resource("v1", "Node")
    try:
        async with asyncio.timeout(timeout):
            while True:
                node = await client.get(rt, node_name)
                if cidr := _ipv4(node):
                    return cidr
                rv = node["metadata"].get("resourceVersion", "")
                try:
                    async for ev in client.watch(rt, field_selector=f"metadata.name={node_name}",
                                                 resource_version=rv, bookmarks=False):
                        if cidr := _ipv4(ev.get("object") or {}):
                            return cidr
                except errors.APIError as e:
                    log.debug("node watch ended node=%s error=%s", node_name, e)
    except TimeoutError:
        return ""


def _ipv4(node: dict[str, Any]) -> str:
    spec = node.get("spec") or {}
    cidrs = spec.get("podCIDRs") or ([spec["podCIDR"]] if spec.get("podCIDR") else [])
    return next((c for c in cidrs if ":" not in c), "")


def _sandbox_alive(sandbox_id: str) -> bool:
    """The runtime names a sandbox's namespace kubelite-<id>; gone namespace, gone pod."""
    return os.path.exists(os.path.join(iproute.NETNS_DIR, f"kubelite-{sandbox_id}"))


async def start(client: rest.Client, node_name: str, data_dir: str,
                wait: float) -> podnet.PodNetwork | None:
    """The node's pod network, up; None (pods get loopback only) if no pod CIDR came."""
    cidr = await wait_pod_cidr(client, node_name, wait) if wait > 0 else ""
    if not cidr:
        log.warning("node has no pod CIDR; pods get loopback only node=%s", node_name)
        return None
    net = podnet.PodNetwork(podnet.Config(pod_cidr=cidr,
                                          state_dir=os.path.join(data_dir, "network", "ipam")))
    await net.start(alive=_sandbox_alive)
    log.info("pod network ready node=%s cidr=%s bridge=%s", node_name, cidr, net.cfg.bridge_name)
    return net
