"""ServiceLB, as k3s has it: a `type: LoadBalancer` Service gets this node's address in
status.loadBalancer.ingress (ipMode VIP) and the service proxy answers address:port.

Each node agent runs one and speaks only for its own address, so several nodes can each
add themselves. A node offers a service only if all its ports are free there: not held by
a listening (TCP) or bound (UDP) socket in the node's network namespace, not another
service's node port, and not an older LoadBalancer service's port. A service that cannot have them stays
pending (no ingress from this node) with a SyncLoadBalancerFailed event saying why; it is
checked again on every change and every `resync` seconds, so it gets its address once
the port is free. A service that has the address keeps its ports.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import logging
from dataclasses import dataclass
from typing import Any

from kubelite.agent.network.proxy import listeners
from kubelite.api import errors
from kubelite.client import events, informer, rest

log = logging.getLogger(__name__)
Obj = dict[str, Any]
Sockets = set[tuple[str, str, int]]


@dataclass(frozen=True)
class Options:
    node_name: str
    node_ip: str
    netns: str | None = None        # the node's namespace (None: the agent's own)
    resync: float = 5.0


def is_ours(svc: Obj) -> bool:
    """LoadBalancer services without a loadBalancerClass (another class names another
    implementation, as upstream) and not being deleted."""
    spec = svc.get("spec") or {}
    return (spec.get("type") == "LoadBalancer" and not spec.get("loadBalancerClass")
            and not svc["metadata"].get("deletionTimestamp"))


def _ports(svc: Obj) -> list[tuple[str, int]]:
    return [(p.get("protocol", "TCP"), int(p["port"])) for p in svc["spec"].get("ports") or []]


def _has(svc: Obj, ip: str) -> bool:
    ingress = ((svc.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
    return any(i.get("ip") == ip for i in ingress)


def _age(svc: Obj) -> tuple[str, str, str]:
    meta = svc["metadata"]
    return (meta.get("creationTimestamp") or "", meta.get("namespace", ""), meta["name"])


def plan(services: list[Obj], node_ip: str, sockets: Sockets) -> dict[str, str]:
    """key → "" if this node offers the service, else why not. Services already holding
    the address keep it; the others, oldest first, take free ports."""
    ours = sorted((s for s in services if is_ours(s)), key=_age)
    node_ports = {(p.get("protocol", "TCP"), int(p["nodePort"])): informer.key_of(s)
                  for s in services for p in (s.get("spec") or {}).get("ports") or []
                  if p.get("nodePort")}
    taken: dict[tuple[str, int], str] = {}
    out: dict[str, str] = {}
    for svc in sorted(ours, key=lambda s: not _has(s, node_ip)):    # stable: by age within
        key = informer.key_of(svc)
        why = "" if _has(svc, node_ip) else next(
            (w for proto, port in _ports(svc)
             if (w := _conflict(proto, port, key, taken, node_ports, sockets, node_ip))), "")
        out[key] = why
        if not why:
            taken.update({p: key for p in _ports(svc)})
    return out


def _conflict(proto: str, port: int, key: str, taken: dict[tuple[str, int], str],
              node_ports: dict[tuple[str, int], str], sockets: Sockets, node_ip: str) -> str:
    """Why `key` cannot have port/proto on this node; "" if it can."""
    if (proto, port) in taken:
        return f"port {port}/{proto} is already used by service {taken[proto, port]}"
    if node_ports.get((proto, port), key) != key:
        return (f"port {port}/{proto} is already used as a node port by service "
                f"{node_ports[proto, port]}")
    if listeners.holds(sockets, proto, node_ip, port):
        return f"port {port}/{proto} is already in use by a socket listening on the node"
    return ""


def wanted_ingress(svc: Obj, node_ip: str, offer: bool) -> list[Obj]:
    """The service's ingress list with this node's entry added or removed."""
    have = ((svc.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
    others = [copy.deepcopy(i) for i in have if i.get("ip") != node_ip]
    return others + ([{"ip": node_ip, "ipMode": "VIP"}] if offer else [])


class ServiceLB:
    def __init__(self, client: rest.Client, opts: Options) -> None:
        self.client = client
        self.opts = opts
        self.rt = client.resource("v1", "Service")
        self.recorder = events.Recorder(client, "service-lb-controller", opts.node_name)
        self._dirty = asyncio.Event()
        self._reported: dict[str, str] = {}        # uid → last failure message

    async def run(self) -> None:
        """Keep every LoadBalancer service's ingress current until cancelled."""
        services = informer.Informer(self.client, self.rt)
        mark = informer.Handlers(lambda _o: self._dirty.set(),
                                 lambda _o, _n: self._dirty.set(), lambda _o: self._dirty.set())
        services.add_handlers(mark)
        task = asyncio.create_task(services.run(), name="servicelb-informer")
        try:
            await services.wait_synced()
            while True:
                self._dirty.clear()
                try:
                    await self.reconcile(services.list())
                except errors.APIError as e:
                    log.warning("service load balancer sync failed error=%s", e)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._dirty.wait(), self.opts.resync)
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    async def reconcile(self, services: list[Obj]) -> None:
        ip = self.opts.node_ip
        # Reading the node's sockets walks the kernel's whole TCP hash (tens of ms on the
        # agent's event loop): only a service still waiting for this node's address needs it.
        waiting = any(is_ours(s) and not _has(s, ip) for s in services)
        decisions = plan(services, ip, await listeners.held(self.opts.netns) if waiting else set())
        for svc in services:
            key = informer.key_of(svc)
            offer = key in decisions and not decisions[key]
            if key not in decisions and not _has(svc, ip):
                continue
            want = wanted_ingress(svc, ip, offer)
            if want != (((svc.get("status") or {}).get("loadBalancer") or {}).get("ingress")
                        or []):
                await self._write(svc, want)
                if offer:
                    self.recorder.event(svc, "Normal", "UpdatedIngressIP",
                                        f"LoadBalancer Ingress IP addresses updated: {ip}")
            self._report(svc, decisions.get(key, ""))

    async def _write(self, svc: Obj, ingress: list[Obj]) -> None:
        meta = svc["metadata"]
        try:
            await self.client.patch(self.rt, meta["name"], {"status": {"loadBalancer": {
                "ingress": ingress}}}, namespace=meta["namespace"], subresource="status")
        except errors.APIError as e:
            if not errors.is_not_found(e):
                raise
        log.info("load balancer ingress service=%s/%s ingress=%s", meta["namespace"],
                 meta["name"], [i["ip"] for i in ingress])

    def _report(self, svc: Obj, why: str) -> None:
        """One Warning per distinct reason a service cannot have this node's address."""
        uid = svc["metadata"].get("uid", "")
        if why and self._reported.get(uid) != why:
            self.recorder.event(svc, "Warning", "SyncLoadBalancerFailed",
                                f"Error syncing load balancer: failed to ensure load balancer "
                                f"on node {self.opts.node_name}: {why}")
        if why:
            self._reported[uid] = why
        else:
            self._reported.pop(uid, None)
