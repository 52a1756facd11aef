"""The ingress controller: informers -> routing tables, certificates, open ports, Ingress
status and events. The proxy reads the tables on every request; this loop replaces them
whole whenever an Ingress, IngressClass, Service or TLS Secret changes (level-triggered:
every pass recomputes everything from the caches). Endpoint changes only drop the
balancer's cached addresses for their Service.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import socket
import ssl
from dataclasses import dataclass
from typing import Any

from kubelite.api import errors
from kubelite.client import events, factory, informer, rest
from kubelite.ingress import classes, endpoints, listeners, proxy, routes, tls

log = logging.getLogger(__name__)

Obj = dict[str, Any]
COMPONENT = "kubelite-ingress"
RETRY_SECONDS = 10.0  # ports that could not be bound are tried again this often


@dataclass(frozen=True)
class Options:
    bind: str = "127.0.0.1"
    http_port: int = 80
    https_port: int = 443
    # What status.loadBalancer.ingress says (an IP or a host name); see status_address.
    address: str = ""
    create_default_class: bool = True


def status_address(options: Options) -> str:
    """What status.loadBalancer names: --ingress-address, else the bind address; a
    wildcard bind names this machine by host name (a syscall, no DNS query)."""
    if options.address:
        return options.address
    if options.bind in ("", "0.0.0.0", "::"):
        return socket.gethostname()
    return options.bind


def load_balancer_status(address: str) -> Obj:
    try:
        ipaddress.ip_address(address)
        point = {"ip": address}
    except ValueError:
        point = {"hostname": address}
    return {"loadBalancer": {"ingress": [point]}}


class Controller:
    def __init__(self, client: rest.Client, options: Options) -> None:
        self.client = client
        self.options = options
        self._informers = factory.InformerFactory(client)
        self.ingresses = self._informers.informer("networking.k8s.io/v1", "Ingress")
        self.classes = self._informers.informer("networking.k8s.io/v1", "IngressClass")
        self.services = self._informers.informer("v1", "Service")
        self.slices = self._informers.informer("discovery.k8s.io/v1", "EndpointSlice",
                                               service=endpoints.slice_service_key)
        self.secrets = informer.Informer(client, client.resource("v1", "Secret"),
                                         field_selector=f"type={tls.TLS_SECRET}",
                                         transform=informer.strip_managed_fields)
        self.balancer = endpoints.Balancer(self.services.get,
                                           lambda key: self.slices.by_index("service", key))
        self.tables: dict[int, routes.Table] = {}
        self.certs: dict[int, tls.Certificates] = {}
        self.tls = tls.Store()
        self.proxy = proxy.Proxy(self.balancer, self.tables.get)
        self.listeners = listeners.Listeners(options.bind, self.proxy.handler, self._tls_context)
        self.recorder = events.Recorder(client, COMPONENT)
        self._reported: dict[str, set[tuple[str, str]]] = {}
        self._dirty = asyncio.Event()
        self._wire_handlers()

    def _wire_handlers(self) -> None:
        def changed(*_: Obj) -> None:
            self._dirty.set()

        def service_changed(*objs: Obj) -> None:
            for obj in objs:
                self.balancer.invalidate(informer.key_of(obj))
            self._dirty.set()

        def slice_changed(*objs: Obj) -> None:
            for obj in objs:
                for key in endpoints.slice_service_key(obj):
                    self.balancer.invalidate(key)

        for inf in (self.ingresses, self.classes, self.secrets):
            inf.add_handlers(informer.Handlers(changed, changed, changed))
        self.services.add_handlers(informer.Handlers(service_changed, service_changed,
                                                     service_changed))
        self.slices.add_handlers(informer.Handlers(slice_changed, slice_changed, slice_changed))

    def _tls_context(self, port: int) -> ssl.SSLContext:
        return self.tls.server_context(
            lambda: self.certs.get(port) or tls.Certificates(fallback=self.tls.fallback))

    async def run(self) -> None:
        """Serve until cancelled; ports are closed on the way out."""
        if self.options.create_default_class:
            await self._ensure_default_class()
        self._informers.start()
        secrets_task = asyncio.create_task(self.secrets.run(), name="informer-tls-secrets")
        try:
            await self._informers.wait_synced()
            await self.secrets.wait_synced()
            while True:
                self._dirty.clear()
                await self.reconcile()
                try:
                    await asyncio.wait_for(self._dirty.wait(), RETRY_SECONDS)
                except TimeoutError:
                    pass
        finally:
            secrets_task.cancel()
            await asyncio.gather(secrets_task, return_exceptions=True)
            await self._informers.stop()
            await self.listeners.close()
            await self.proxy.close()

    async def _ensure_default_class(self) -> None:
        rt = self.client.resource("networking.k8s.io/v1", "IngressClass")
        try:
            await self.client.create(rt, classes.default_ingress_class())
        except errors.APIError as e:
            if not errors.is_already_exists(e):
                raise

    async def reconcile(self) -> None:
        """One level-triggered pass over everything the caches hold."""
        default = classes.EntryPoint(self.options.http_port, self.options.https_port)
        plan = classes.plan(self.ingresses.list(), self.classes.list(), default)
        self.tables.clear()
        self.tables.update({port: routes.build(lst.ingresses) for port, lst in plan.items()})
        problems: list[tuple[Obj, str, str]] = []
        certs: dict[int, tls.Certificates] = {}
        for port, lst in plan.items():
            if lst.scheme == classes.HTTPS:
                certs[port], bad = self.tls.certificates(lst.ingresses, self.secrets.get)
                problems.extend((ing, "TLSSecretInvalid", msg) for ing, msg in bad)
        self.certs = certs
        await self.listeners.apply({port: lst.scheme for port, lst in plan.items()})
        served = {informer.key_of(ing): ing for lst in plan.values() for ing in lst.ingresses}
        self._report(served, problems)
        await self._write_status(served)

    def _report(self, served: dict[str, Obj], problems: list[tuple[Obj, str, str]]) -> None:
        """A Warning event on an Ingress for each problem that was not there last pass."""
        found: dict[str, set[tuple[str, str]]] = {key: set() for key in served}
        for ing, reason, message in problems:
            found[informer.key_of(ing)].add((reason, message))
        for key, ing in served.items():
            table = routes.Table()
            routes.add_ingress(table, ing)
            for backend in table.backends():
                resolved = self.balancer.lookup(backend)
                if resolved.reason:
                    found[key].add((resolved.reason, resolved.problem))
        for key, now in found.items():
            for reason, message in sorted(now - self._reported.get(key, set())):
                log.info("ingress problem ingress=%s reason=%s message=%s", key, reason, message)
                self.recorder.event(served[key], "Warning", reason, message)
        self._reported = found

    async def _write_status(self, served: dict[str, Obj]) -> None:
        want = load_balancer_status(status_address(self.options))
        rt = self.ingresses.rt
        for ing in served.values():
            if (ing.get("status") or {}).get("loadBalancer") == want["loadBalancer"]:
                continue
            meta = ing["metadata"]
            try:
                await self.client.patch(rt, meta["name"], {"status": want},
                                        namespace=meta.get("namespace", ""), subresource="status")
            except errors.APIError as e:
                if errors.is_not_found(e):
                    continue
                log.warning("ingress status not written ingress=%s error=%s",
                            informer.key_of(ing), e)
                self._dirty.set()
