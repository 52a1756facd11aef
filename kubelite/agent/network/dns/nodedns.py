"""The cluster DNS as the node agent runs it: answering on the pod bridge's gateway
address, and published as the endpoints of the selectorless `kube-dns` Service so the
Service's ClusterIP reaches it once a service proxy forwards it.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

from kubelite.agent.network.dns import clusterdns
from kubelite.api import errors
from kubelite.client import rest

log = logging.getLogger(__name__)

Obj = dict[str, Any]
NAMESPACE, NAME = "kube-system", "kube-dns"
PORTS = (("dns", "UDP"), ("dns-tcp", "TCP"))


@dataclass(frozen=True)
class Options:
    upstreams: tuple[str, ...] = ()   # "host[:port]"; empty: other names are REFUSED
    domain: str = "cluster.local"
    port: int = 53


def endpoints(ip: str, port: int) -> Obj:
    return {"apiVersion": "v1", "kind": "Endpoints",
            "metadata": {"name": NAME, "namespace": NAMESPACE,
                         "labels": {"endpointslice.kubernetes.io/skip-mirror": "true"}},
            "subsets": [{"addresses": [{"ip": ip}],
                         "ports": [{"name": n, "port": port, "protocol": p} for n, p in PORTS]}]}


def endpoint_slice(ip: str, port: int) -> Obj:
    return {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
            "metadata": {"name": NAME, "namespace": NAMESPACE,
                         "labels": {"kubernetes.io/service-name": NAME}},
            "addressType": "IPv4",
            "endpoints": [{"addresses": [ip], "conditions": {"ready": True}}],
            "ports": [{"name": n, "port": port, "protocol": p} for n, p in PORTS]}


async def _put(client: rest.Client, want: Obj, fields: tuple[str, ...]) -> None:
    """Create `want`, or set `fields` of the existing object to it."""
    rt = client.resource(want["apiVersion"], want["kind"])
    try:
        have = await client.get(rt, NAME, NAMESPACE)
    except errors.APIError as e:
        if not errors.is_not_found(e):
            raise
        try:
            await client.create(rt, want, NAMESPACE)
        except errors.APIError as e2:
            if not errors.is_already_exists(e2):
                raise
        return
    if all(have.get(f) == want.get(f) for f in fields):
        return
    have.update({f: want[f] for f in fields})
    await client.update(rt, have)


async def publish(client: rest.Client, ip: str, port: int) -> None:
    """Point kube-dns's Endpoints and EndpointSlice at this node's DNS."""
    await _put(client, endpoints(ip, port), ("subsets",))
    await _put(client, endpoint_slice(ip, port), ("endpoints", "ports"))


async def run(client: rest.Client, ip: str, opts: Options,
              ready: asyncio.Event | None = None) -> None:
    """Serve DNS on ip:port until cancelled; failures are logged and retried, never raised,
    so the DNS can't take the node agent down with it."""
    delay = 1.0
    while True:
        dns = clusterdns.ClusterDNS(client, listen=[(ip, opts.port)], domain=opts.domain,
                                    upstreams=list(opts.upstreams))
        task = asyncio.create_task(dns.run(), name="cluster-dns")
        try:
            await _wait_ready(dns, task)
            await publish(client, ip, opts.port)
            if ready is not None:
                ready.set()
            await task
        except Exception as e:   # noqa: BLE001 - a port in use, an API hiccup, a bug
            log.warning("cluster DNS failed; retrying address=%s:%d error=%s delay=%.0fs",
                        ip, opts.port, e, delay)
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        await asyncio.sleep(delay)
        delay = min(delay * 2, 30.0)


async def _wait_ready(dns: clusterdns.ClusterDNS, task: asyncio.Task[None]) -> None:
    """Return once `dns` serves; raise what made its task end first."""
    ready = asyncio.create_task(dns.ready.wait())
    try:
        await asyncio.wait({ready, task}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        ready.cancel()
    if task.done():
        task.result()
