"""The service proxy as a node agent runs it: the nft proxy for this node's namespace and
(unless off) ServiceLB for its address, each restarted after a failure so neither can take
the agent down."""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from kubelite.agent.network.proxy import proxier, servicelb
from kubelite.client import rest

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Options:
    cluster_cidr: str = "10.42.0.0/16"       # every node's pods (the node IPAM range)
    service_cidr: str = "10.43.0.0/16"
    # Pods reach beyond the cluster's networks masqueraded as the node; off: such
    # forwarded traffic is dropped.
    egress_masquerade: bool = True
    servicelb: bool = True


async def run(client: rest.Client, node_name: str, node_ip: str, gateway: str,
              opts: Options, *, state_dir: str = "") -> None:
    """Proxy Services on this node until cancelled; `state_dir` keeps what the proxy must
    restore even after a crash."""
    if shutil.which("nft") is None:
        log.warning("nft is not installed; no service proxy node=%s", node_name)
        return
    addresses = tuple(dict.fromkeys(("127.0.0.1", node_ip, gateway)))
    proxy = proxier.ServiceProxy(client, netns=None, node_addresses=addresses,
                                 cluster_cidr=opts.cluster_cidr, service_cidr=opts.service_cidr,
                                 egress_masquerade=opts.egress_masquerade, node_name=node_name,
                                 state_file=os.path.join(state_dir, "proxy-sysctls.json")
                                 if state_dir else "")
    async with asyncio.TaskGroup() as tg:
        tg.create_task(_retrying("service-proxy", proxy.run), name="service-proxy")
        if opts.servicelb:
            lb = servicelb.ServiceLB(client, servicelb.Options(node_name, node_ip))
            tg.create_task(_retrying("servicelb", lb.run), name="servicelb")


async def _retrying(name: str, start: Callable[[], Awaitable[None]]) -> None:
    delay = 1.0
    while True:
        try:
            await start()
        except Exception:
            log.exception("failed; restarting part=%s delay=%.0fs", name, delay)
        await asyncio.sleep(delay)
        delay = min(delay * 2, 30.0)
