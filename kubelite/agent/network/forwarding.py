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

import json
import logging
import os

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

    async def enable(self, node_ips: list[str]) -> None:
        """Guard for these node addresses in place, then forwarding on."""
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
                self._save({SYSCTL: old})
            await sysctl.write(SYSCTL, "1", self.netns)
        self.enabled = True
        log.info("forwarding to other nodes on netns=%s was=%s", self.netns or "-", old)

    async def disable(self) -> None:
        """Forwarding back as it was, then the guard gone; cheap when already off."""
        if self.enabled is False:
            return
        saved = self._load()
        for key, value in saved.items():
            await sysctl.write(key, value, self.netns)
        if saved:
            os.unlink(self.saved_path)
        if f"ip {TABLE}" in await apply.tables(self.netns):
            await apply.nft("delete", "table", "ip", TABLE, netns=self.netns)
        if self.enabled or saved:
            log.info("forwarding to other nodes off netns=%s restored=%s",
                     self.netns or "-", saved)
        self.applied = ""
        self.enabled = False

    def _save(self, values: dict[str, str]) -> None:
        os.makedirs(os.path.dirname(self.saved_path), exist_ok=True)
        with open(self.saved_path + ".tmp", "w", encoding="utf-8") as f:
            json.dump(values, f)
        os.replace(self.saved_path + ".tmp", self.saved_path)

    def _load(self) -> dict[str, str]:
        try:
            with open(self.saved_path, encoding="utf-8") as f:
                return {str(k): str(v) for k, v in json.load(f).items()}
        except FileNotFoundError:
            return {}
