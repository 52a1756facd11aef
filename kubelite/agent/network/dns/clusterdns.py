"""The cluster DNS server: informers feed a zone, UDP and TCP listeners answer from it."""

from __future__ import annotations

import asyncio
import logging

from kubelite.agent.network.dns import feeder, records, server
from kubelite.client import factory, rest

log = logging.getLogger(__name__)


def parse_address(text: str, default_port: int = 53) -> tuple[str, int]:
    """"host", "host:port", "[v6]:port" or a bare IPv6 address -> (host, port)."""
    if text.startswith("["):
        host, _, rest_ = text[1:].partition("]")
        return host, int(rest_[1:]) if rest_.startswith(":") else default_port
    if text.count(":") == 1:
        host, port = text.split(":")
        return host, int(port)
    return text, default_port


def host_upstreams(path: str = "/etc/resolv.conf") -> list[str]:
    """The host's nameservers, the default upstream of `kubelite dns`."""
    out = []
    try:
        with open(path) as f:
            for line in f:
                fields = line.split()
                if len(fields) >= 2 and fields[0] == "nameserver":
                    out.append(fields[1])
    except FileNotFoundError:
        pass
    return out


class ClusterDNS:
    """Serves `domain` from the API server's Services, EndpointSlices and Pods.

    `upstreams` ("host[:port]") receive every other name, tried in order; with none,
    other names are REFUSED and no query leaves the machine. `ready` is set once the zone
    has synced and every listener is bound.
    """

    def __init__(self, client: rest.Client, *, listen: list[tuple[str, int]],
                 domain: str = "cluster.local", upstreams: list[str] | None = None,
                 forward_timeout: float = 2.0) -> None:
        self.client = client
        self.listen = listen
        self.zone = records.Zone(domain=domain)
        ups = tuple(parse_address(u) for u in upstreams or [])
        # Forwarding to ourselves would loop each query until it times out.
        ups = tuple(u for u in ups if u not in listen)
        self.resolver = server.Resolver(self.zone, server.Config(ups, forward_timeout))
        self.ready = asyncio.Event()

    async def run(self) -> None:
        """Sync the zone, then answer until cancelled."""
        informers = factory.InformerFactory(self.client)
        feeder.feed(informers, self.zone)
        informers.start()
        closers: list[asyncio.BaseTransport | asyncio.Server] = []
        try:
            await informers.wait_synced()
            for host, port in self.listen:
                closers.extend(await server.serve(self.resolver, host, port))
                log.info("cluster DNS listening address=%s:%d domain=%s", host, port,
                         self.zone.domain)
            self.ready.set()
            await asyncio.Event().wait()
        finally:
            for c in closers:
                c.close()
            await informers.stop()
