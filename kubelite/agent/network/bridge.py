"""The node's pod bridge `kubelite0`: every pod's host-side veth is a port of it, and it
holds the pods' gateway address (the first of the node's pod CIDR). Pods on one node
talk to each other over it at layer 2; the node reaches them over its connected route.
"""

from __future__ import annotations

import ipaddress
import json
import logging

from kubelite.agent.network import iproute

log = logging.getLogger(__name__)
NAME = "kubelite0"


async def addresses(netns: str = "", name: str = NAME) -> list[str]:
    """The IPv4 addresses (with prefix) on the bridge."""
    out = await iproute.ip("-json", "-4", "addr", "show", "dev", name, netns=netns)
    return [f"{a['local']}/{a['prefixlen']}" for link in json.loads(out or "[]")
            for a in link.get("addr_info", [])]


async def ensure(gateway: ipaddress.IPv4Interface, *, netns: str = "", mtu: int = 1500,
                 name: str = NAME) -> bool:
    """Make the bridge exist, be up and hold exactly `gateway`; True if it was created."""
    created = not await iproute.link_exists(name, netns)
    if created:
        await iproute.ip("link", "add", name, "mtu", str(mtu), "type", "bridge", netns=netns)
        log.info("pod bridge created name=%s gateway=%s", name, gateway)
    have = await addresses(netns, name)
    if have != [str(gateway)]:
        if have:
            await iproute.ip("addr", "flush", "dev", name, netns=netns)
        await iproute.ip("addr", "add", str(gateway), "dev", name, netns=netns)
    await iproute.ip("link", "set", name, "up", netns=netns)
    return created


async def remove(*, netns: str = "", name: str = NAME) -> None:
    """Delete the bridge (and with it its address and route); no error if absent."""
    if await iproute.delete_link(name, netns):
        log.info("pod bridge removed name=%s", name)


async def ports(netns: str = "", name: str = NAME) -> list[str]:
    """The links attached to the bridge."""
    out = await iproute.ip("-json", "link", "show", "master", name, netns=netns)
    return [link["ifname"] for link in json.loads(out or "[]")]
