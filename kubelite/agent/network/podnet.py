"""The pod network of one node: the runtime's network hooks.

`setup` gives a sandbox a veth pair: the host side `kl<hash>` is a port of the node's
bridge (hairpin on, so a pod can reach itself through a service later), the pod side is
renamed eth0 inside the pod's namespace and gets the next free address of the node's pod
CIDR, with a default route via the bridge. `teardown` deletes the pair and frees the
address. Nothing here forwards or translates: traffic stays on the bridge and the node.
"""

from __future__ import annotations

import contextlib
import hashlib
import ipaddress
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from kubelite.agent.network import bridge, ipam, iproute, rtnl

log = logging.getLogger(__name__)
VETH_PREFIX = "kl"
POD_IFNAME = "eth0"


@dataclass(frozen=True)
class Config:
    pod_cidr: str
    state_dir: str                  # IPAM files live here (under the agent's data dir)
    node_netns: str = ""            # the node's namespace; "" is the agent's own
    mtu: int = 1500
    bridge_name: str = bridge.NAME


def host_veth(sandbox_id: str) -> str:
    """The host-side veth name: `kl` and 11 hex digits of a hash (13 < IFNAMSIZ)."""
    return VETH_PREFIX + hashlib.sha256(sandbox_id.encode()).hexdigest()[:11]


class PodNetwork:
    def __init__(self, cfg: Config) -> None:
        self.cfg = cfg
        self.ipam = ipam.IPAM(cfg.state_dir, cfg.pod_cidr)
        self.created_bridge = False

    @property
    def gateway(self) -> ipaddress.IPv4Interface:
        return self.ipam.gateway

    async def start(self, alive: Callable[[str], bool] | None = None) -> None:
        """Bring up the bridge; free addresses (and veths) of sandboxes no longer `alive`."""
        self.created_bridge = await bridge.ensure(self.gateway, netns=self.cfg.node_netns,
                                                  mtu=self.cfg.mtu, name=self.cfg.bridge_name)
        if alive is None:
            return
        for owner in {o for o in self.ipam.owners().values() if not alive(o)}:
            await iproute.delete_link(host_veth(owner), self.cfg.node_netns)
            log.info("stale pod address freed sandbox=%s ips=%s", owner, self.ipam.release(owner))

    async def stop(self) -> None:
        """Remove the bridge unless pods this agent does not know (another agent's, on a
        shared host) still hang on it. Agents on one host share `kubelite0`, so whichever
        stops last removes it, not necessarily the one that created it."""
        node, name = self.cfg.node_netns, self.cfg.bridge_name
        if not await iproute.link_exists(name, node):
            return
        ours = {host_veth(o) for o in self.ipam.owners().values()}
        foreign = [p for p in await bridge.ports(node, name) if p not in ours]
        if foreign:
            log.warning("pod bridge left in place name=%s ports=%s", name, foreign)
            return
        await bridge.remove(netns=node, name=name)
        self.created_bridge = False

    async def setup(self, sandbox_id: str, netns_path: str, _config: Any = None) -> tuple[str, ...]:
        """Wire the sandbox's namespace to the bridge; return its addresses."""
        addr = self.ipam.allocate(sandbox_id)
        veth = host_veth(sandbox_id)
        try:
            await iproute.delete_link(veth, self.cfg.node_netns)   # left by a failed attempt
            if not await iproute.link_exists(self.cfg.bridge_name, self.cfg.node_netns):
                await self.start()          # another agent on this host removed it
            await self._wire(veth, netns_path, addr)
        except BaseException:
            with contextlib.suppress(Exception):
                await iproute.delete_link(veth, self.cfg.node_netns)
            self.ipam.release(sandbox_id)
            raise
        log.info("pod network up sandbox=%s ip=%s veth=%s", sandbox_id, addr.ip, veth)
        return (str(addr.ip),)

    async def _wire(self, veth: str, netns_path: str, addr: ipaddress.IPv4Interface) -> None:
        """Over netlink, not `ip`: each `ip` process cost several ms of the agent's time
        (it forks the agent's large process), and a pod needed six."""
        node = self.cfg.node_netns
        node_path = os.path.join(iproute.NETNS_DIR, iproute.ns_name(node)) if node else ""
        rtnl.wire_pod(node_path, veth, self.cfg.bridge_name, netns_path, POD_IFNAME,
                      self.cfg.mtu, addr, self.gateway.ip)

    async def teardown(self, sandbox_id: str, netns_path: str = "", _config: Any = None) -> None:
        """Delete the sandbox's veth pair and free its address; idempotent."""
        await iproute.delete_link(host_veth(sandbox_id), self.cfg.node_netns)
        freed = self.ipam.release(sandbox_id)
        log.info("pod network down sandbox=%s ips=%s", sandbox_id, freed)

