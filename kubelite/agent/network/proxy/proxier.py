"""The service proxy loop: Services + EndpointSlices → one nft table, kept current.

Informer events only mark the state dirty; after a short debounce the whole table is
rebuilt and written in one transaction (skipped when the text is unchanged). The proxy
owns its node namespace's forwarding settings while it runs: the table (with its guard
that drops forwarded traffic leaving the cluster's networks) is in place before
ip_forward is turned on, and every sysctl it changed is restored on stop, before the
table goes.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import time
from collections.abc import Callable
from typing import Any

from kubelite.agent.network import bridge, iproute
from kubelite.agent.network.proxy import apply, conntrack, rules, serviceports, sysctl
from kubelite.client import factory, informer

log = logging.getLogger(__name__)
Obj = dict[str, Any]
FORWARD = "net.ipv4.ip_forward"
SYSCTLS = (FORWARD, "net.bridge.bridge-nf-call-iptables", "net.ipv4.conf.all.route_localnet")


class ServiceProxy:
    def __init__(self, client: Any, *, netns: str | None, node_addresses: tuple[str, ...] |
                 list[str], cluster_cidr: str, service_cidr: str,
                 bridge_name: str = bridge.NAME, debounce: float = 0.05,
                 egress_masquerade: bool = False, state_file: str = "",
                 node_name: str = "") -> None:
        self.client = client
        self.netns = netns
        self.cfg = rules.Config(cluster_cidr, service_cidr, tuple(node_addresses),
                                egress_masquerade, node_name=node_name)
        self.bridge_name = bridge_name
        self.state_file = state_file            # sysctls to restore, kept across a crash
        self.debounce = debounce
        self.applied = ""                       # the table text last written
        self._saved: dict[str, str] = {}
        self._udp: set[conntrack.Endpoint] = set()     # UDP endpoints in the table
        self._route = False
        self._dirty = asyncio.Event()
        self._changed = asyncio.Condition()

    async def start(self) -> None:
        """Write an empty table (with its forward guard), then route and sysctls."""
        original = sysctl.load_saved(self.state_file).get(FORWARD) or await sysctl.read(
            FORWARD, self.netns)
        if original == "1":          # a router already: guard only what comes from the pods
            self.cfg = dataclasses.replace(self.cfg, guard_interface=self.bridge_name)
        await self.sync([], [])
        ns = self.netns or ""
        if await iproute.link_exists(self.bridge_name, ns):
            await iproute.ip("route", "replace", self.cfg.service_cidr, "dev",
                             self.bridge_name, netns=ns)
            self._route = True
        await self._enable_sysctls()
        log.info("service proxy started netns=%s changed=%s", self.netns, sorted(self._saved))

    async def _enable_sysctls(self) -> None:
        """Turn SYSCTLS on, remembering (on disk too) what they were; a crashed run's
        record holds the true originals."""
        crashed = sysctl.load_saved(self.state_file)
        for key in SYSCTLS:
            try:
                now = await sysctl.read(key, self.netns)
            except OSError as e:     # no br_netfilter: pods on one bridge miss un-DNAT
                log.warning("sysctl unavailable key=%s error=%s", key, e)
                continue
            if key in crashed or now != "1":
                self._saved[key] = crashed.get(key, now)
                sysctl.save(self.state_file, self._saved)
            if now != "1":
                await sysctl.write(key, "1", self.netns)

    async def sync(self, services: list[Obj], slices: list[Obj]) -> bool:
        """Write the table for these objects; False if it was already current."""
        text = rules.render(services, slices, self.cfg)
        if text == self.applied:
            return False
        began = time.monotonic()
        await apply.apply(text, self.netns, self.applied)
        self.applied = text
        udp = conntrack.udp_endpoints(serviceports.service_ports(services, slices,
                                                                 self.cfg.node_name))
        await conntrack.forget(self._udp - udp, self.netns)
        self._udp = udp
        async with self._changed:
            self._changed.notify_all()
        log.debug("service rules applied netns=%s ms=%.1f", self.netns,
                  (time.monotonic() - began) * 1000)
        return True

    async def stop(self) -> None:
        """Restore sysctls first (forwarding off while the guard still stands), then
        remove the route and the table."""
        for key, old in self._saved.items():
            await sysctl.write(key, old, self.netns)
        self._saved.clear()
        sysctl.forget(self.state_file)
        if self._route:
            with contextlib.suppress(iproute.CommandFailed):   # gone with the bridge
                await iproute.ip("route", "del", self.cfg.service_cidr, "dev",
                                 self.bridge_name, netns=self.netns or "")
            self._route = False
        await apply.remove(self.netns)
        self.applied = ""
        log.info("service proxy stopped netns=%s", self.netns)

    async def wait_applied(self, predicate: Callable[[str], bool]) -> None:
        """Wait until the table last written satisfies `predicate` (its nft text)."""
        async with self._changed:
            await self._changed.wait_for(lambda: predicate(self.applied))

    def _mark(self, *_objs: Obj) -> None:
        self._dirty.set()

    async def run(self) -> None:
        """Watch Services and EndpointSlices and keep the table current until cancelled."""
        informers = factory.InformerFactory(self.client)
        svc = informers.informer("v1", "Service")
        slices = informers.informer("discovery.k8s.io/v1", "EndpointSlice")
        for inf in (svc, slices):
            inf.add_handlers(informer.Handlers(self._mark, self._mark, self._mark))
        informers.start()
        try:
            await informers.wait_synced()
            await self.start()
            while True:
                await self._dirty.wait()
                await asyncio.sleep(self.debounce)      # coalesce a burst of events
                self._dirty.clear()
                await self.sync(svc.list(), slices.list())
        finally:
            await informers.stop()
            await self.stop()
