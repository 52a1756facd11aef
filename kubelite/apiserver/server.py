"""The API server process part: store + watch cache + HTTPS app, started and stopped as one."""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import os
import secrets
import ssl
from dataclasses import dataclass

from aiohttp import web

from kubelite.api import errors, registry
from kubelite.apiserver import (
    admission_services,
    app,
    auth,
    certs,
    context,
    conversion,
    crds,
    kube_dns_service,
    kubeconfig,
    kubernetes_service,
    memory,
    metrics_scraper,
    nodeproxy,
    objects,
    params,
    selection,
    watchcache,
)
from kubelite.apiserver.handlers import write
from kubelite.storage import open_store, protocol

log = logging.getLogger(__name__)

SYSTEM_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")


@dataclass(frozen=True)
class Config:
    data_dir: str
    bind: str = "127.0.0.1"
    port: int = 6443
    store: str = "sqlite"
    kubeconfig: str = ""          # "" = <data_dir>/kubeconfig.yaml
    service_cidr: str = "10.43.0.0/16"
    node_networks: tuple[str, ...] = ()   # where node agents may be reached besides loopback

    @property
    def kubeconfig_path(self) -> str:
        return self.kubeconfig or os.path.join(self.data_dir, "kubeconfig.yaml")

    @property
    def tls_dir(self) -> str:
        return os.path.join(self.data_dir, "tls")

    @property
    def binds(self) -> tuple[str, ...]:
        """The addresses to listen on: `bind` may list several, comma-separated."""
        return tuple(b.strip() for b in self.bind.split(",") if b.strip()) or ("127.0.0.1",)

    @property
    def host(self) -> str:
        """Where this process reaches its own API: the first bind address."""
        first = self.binds[0]
        return "127.0.0.1" if first in ("0.0.0.0", "", "::") else first

    @property
    def advertise(self) -> str:
        """The address the `kubernetes` Service leads to (upstream's advertise address): the
        first bound address pods on any node can reach, i.e. not loopback, else `host`."""
        for b in self.binds:
            try:
                ip = ipaddress.ip_address(b)
            except ValueError:          # a host name: endpoints hold addresses only
                continue
            if not (ip.is_loopback or ip.is_unspecified):
                return b
        return self.host

    @property
    def url(self) -> str:
        host = self.host
        host = f"[{host}]" if ":" in host else host
        return f"https://{host}:{self.port}"


class APIServer:
    """Owns the store, the cache and the listening socket."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.store: protocol.Store | None = None
        self.ctx: context.Context | None = None
        self.pki: certs.PKI | None = None
        self.authenticator = auth.Authenticator()
        self.node_token = ""
        # The loopback listener for the components bundled in this process (upstream's
        # loopback client): an abstract Unix socket, plain HTTP, and a token that lives only
        # in memory. Bundled parts skip TLS and TCP entirely; no other process can use it.
        self.loopback_socket = "\0kubelite-apiserver-" + secrets.token_hex(8)
        self.loopback_token = secrets.token_urlsafe(32)
        self._runner: web.AppRunner | None = None
        self._crds: crds.Registrar | None = None
        self._trim: asyncio.Task[None] | None = None

    async def start(self) -> None:
        cfg = self.config
        os.makedirs(cfg.data_dir, mode=0o700, exist_ok=True)
        self.pki = certs.ensure(cfg.tls_dir, cfg.binds)
        self.node_token = auth.load_or_create_token(os.path.join(cfg.data_dir, "token"))
        self.authenticator.add_token(self.node_token, auth.User("system:node-bootstrap",
                                                                ("system:nodes",)))
        self.authenticator.add_token(self.loopback_token, auth.User("system:apiserver",
                                                                    ("system:masters",)))
        admission_services.configure(cfg.service_cidr)
        self.store = open_store(cfg.store, cfg.data_dir)
        await self.store.start()
        cache = watchcache.Cache(self.store)
        types = registry.Registry()
        for rt in types:
            if rt.persisted and not conversion.needs_conversion(rt):
                cache.set_fields_fn(rt.key_prefix(), selection.fields_fn(rt))
        await cache.start()
        self.ctx = context.Context(types, objects.Objects(self.store, cache), cache)
        nodeproxy.allow_node_networks(cfg.node_networks)
        self.ctx.node_proxy = nodeproxy.NodeProxy(*nodeproxy.ensure_client_cert(self.pki))
        self.ctx.metrics = metrics_scraper.Scraper(self.ctx.node_proxy.session)
        self._crds = crds.Registrar(self.ctx)
        self._crds.start()
        await self._bootstrap()
        self._runner = web.AppRunner(app.build(self.ctx, self.authenticator),
                                     handler_cancellation=True, access_log=None)
        await self._runner.setup()
        tls = self._tls()
        for host in cfg.binds:
            site = web.TCPSite(self._runner, host, cfg.port, ssl_context=tls,
                               backlog=1024, reuse_address=True)
            await site.start()
        await web.UnixSite(self._runner, self.loopback_socket, backlog=1024).start()
        self._write_kubeconfig()
        memory.pin_mmap_threshold()
        memory.tune_gc()
        self._trim = asyncio.create_task(memory.trim_forever(), name="malloc-trim")
        log.info("api server listening url=%s data_dir=%s", cfg.url, cfg.data_dir)

    def _tls(self) -> ssl.SSLContext:
        assert self.pki is not None
        tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        tls.minimum_version = ssl.TLSVersion.TLSv1_2
        tls.load_cert_chain(self.pki.path("serving.crt"), self.pki.path("serving.key"))
        tls.load_verify_locations(self.pki.path("ca.crt"))
        tls.verify_mode = ssl.CERT_OPTIONAL
        tls.set_alpn_protocols(["http/1.1"])
        return tls

    def _write_kubeconfig(self) -> None:
        assert self.pki is not None
        content = kubeconfig.render(self.config.url, self.pki.ca.cert_pem,
                                    cert_pem=self.pki.admin.cert_pem,
                                    key_pem=self.pki.admin.key_pem)
        kubeconfig.write(self.config.kubeconfig_path, content)

    async def _bootstrap(self) -> None:
        """Objects every cluster has: the system namespaces, the `kubernetes` and `kube-dns`
        Services."""
        assert self.ctx is not None
        ns_rt = self.ctx.namespace_type()
        opts = params.WriteOptions(False, "kubelite", "Strict", False)
        for name in SYSTEM_NAMESPACES:
            if await self.ctx.objects.get_entry(ns_rt, "", name) is None:
                obj = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}
                try:
                    await write.create_object(self.ctx, ns_rt, obj, "", opts)
                except errors.AlreadyExists:
                    pass
        await kubernetes_service.ensure(self.ctx, self.config.advertise, self.config.port)
        await kube_dns_service.ensure(self.ctx, self.config.service_cidr)

    async def stop(self) -> None:
        if self._trim is not None:
            self._trim.cancel()
        if self._runner is not None:
            await self._runner.cleanup()
        if self.ctx is not None and self.ctx.node_proxy is not None:
            await self.ctx.node_proxy.close()
        if self._crds is not None:
            await self._crds.stop()
        if self.ctx is not None:
            await self.ctx.cache.stop()
        if self.store is not None:
            await self.store.close()
