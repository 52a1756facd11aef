"""Forget UDP flows to endpoints that left a service.

UDP has no connection to break: conntrack keeps sending a client's datagrams to the
endpoint its first packet was DNATed to for as long as they keep coming, so a removed
endpoint would keep receiving them (upstream kube-proxy clears these too). TCP needs
nothing: a gone endpoint resets or times out, and a new connection is balanced afresh.
"""

from __future__ import annotations

import asyncio
import logging
import shutil

from kubelite.agent.network.proxy import serviceports

log = logging.getLogger(__name__)
Endpoint = tuple[str, int]


def udp_endpoints(sps: list[serviceports.ServicePort]) -> set[Endpoint]:
    return {ep for sp in sps if sp.protocol == "udp" for ep in sp.all_endpoints}


async def forget(endpoints: set[Endpoint], netns: str | None = None) -> None:
    """Delete the UDP flows answered by these endpoints (none found is fine)."""
    if not endpoints or shutil.which("conntrack") is None:
        return
    prefix = ("ip", "netns", "exec", netns) if netns else ()
    for ip, port in sorted(endpoints):
        proc = await asyncio.create_subprocess_exec(
            *prefix, "conntrack", "-D", "-p", "udp", "--reply-src", ip,
            "--reply-port-src", str(port), stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)
        await proc.wait()
        log.debug("udp flows forgotten endpoint=%s:%d rc=%s", ip, port, proc.returncode)
