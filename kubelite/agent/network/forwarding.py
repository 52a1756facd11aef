"""Forwarding between nodes, behind a guard: the node forwards pod traffic to other nodes
only, never off to the rest of the world.

Pods reach pods on other nodes through this node, so the node must forward
(net.ipv4.ip_forward). Before forwarding goes on, the nft table `ip kubelite-route-guard`
is in place: its forward hook accepts traffic to the cluster CIDR and to the nodes'
InternalIPs, replies within flows it let in, and, only where the service proxy
masquerades pods' egress, pods' own traffic; it drops everything else. On disable the sysctl goes back to its old value
first, then the table goes. The old value is kept in a file, so an agent that crashed with
forwarding on still restores it on its next start.
"""

from __future__ import annotations

import logging
import os
import shutil

from kubelite.agent.network.proxy import apply, sysctl

log = logging.getLogger(__name__)
TABLE = "kubelite-route-guard"
SYSCTL = "net.ipv4.ip_forward"


def render(cluster_cidr: str, node_ips: list[str], *, pod_egress: bool = False) -> str:
    """The guard table as `nft -f` input."""
    elements = f"\t\telements = {{ {', '.join(node_ips)} }}\n" if node_ips else ""
    egress = f"\t\tip saddr {cluster_cidr} accept\n" if pod_egress else ""
    return (f"table ip {TABLE} {{\n"
            f"\tset node-ips {{\n\t\ttype ipv4_addr\n{elements}\t}}\n"
            "\tchain forward {\n"
            "\t\ttype filter hook forward priority 0; policy accept;\n"
            "\t\tct state established,related accept\n"
            f"\t\tip daddr {cluster_cidr} accept\n"
            f"\t\tip daddr @node-ips accept\n{egress}"
            "\t\tdrop\n"
            "\t}\n}\n")


class Forwarding:
    """ip_forward on behind the guard table, in one network namespace (None: our own)."""

    def __init__(self, cluster_cidr: str, state_dir: str, netns: str | None = None, *,
                 pod_egress: bool = False) -> None:
        self.cluster_cidr = cluster_cidr
        self.netns = netns
        self.pod_egress = pod_egress        # the service proxy masquerades pods' egress
        self.saved_path = os.path.join(state_dir, "forwarding.json")
        self.applied = ""                   # the guard text last written
        self.enabled: bool | None = None    # None: not known yet (a crash may have left it on)
        self.usable = shutil.which("nft") is not None     # no guard, no forwarding

    async def enable(self, node_ips: list[str]) -> None:
        """Guard for these node addresses in place, then forwarding on."""
        if not self.usable:
            if self.enabled is None:
                log.warning("nft is not installed: no forwarding, pods cannot reach other nodes")
                self.enabled = False
            return
        text = render(self.cluster_cidr, node_ips, pod_egress=self.pod_egress)
        if text != self.applied:
            await apply.nft("-f", "-", netns=self.netns, stdin=(
                f"add table ip {TABLE}\ndelete table ip {TABLE}\n{text}"))
            self.applied = text
        if self.enabled:
            return
        old = await sysctl.read(SYSCTL, self.netns)
        if old != "1":
            if not os.path.exists(self.saved_path):
                sysctl.save(self.saved_path, {SYSCTL: old})
            await sysctl.write(SYSCTL, "1", self.netns)
        self.enabled = True
        log.info("forwarding to other nodes on netns=%s was=%s", self.netns or "-", old)

    async def disable(self) -> None:
        """Forwarding back as it was, then the guard gone; cheap when already off."""
        if self.enabled is False:
            return
        saved = sysctl.load_saved(self.saved_path)
        for key, value in saved.items():
            await sysctl.write(key, value, self.netns)
        sysctl.forget(self.saved_path)
        if self.usable and f"ip {TABLE}" in await apply.tables(self.netns):
            await apply.nft("delete", "table", "ip", TABLE, netns=self.netns)
        if self.enabled or saved:
            log.info("forwarding to other nodes off netns=%s restored=%s",
                     self.netns or "-", saved)
        self.applied = ""
        self.enabled = False
