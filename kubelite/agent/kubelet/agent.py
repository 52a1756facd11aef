"""The node agent: registers this machine as a Node and runs the pods bound to it.

Data layout under `data_dir` (<server data dir>/agent): images/ (the image store),
runtime/ (bundles, sandboxes), runc/ or crun/ (the OCI runtime's state), pods/<uid>/
(volumes), logs/ (CRI container logs), storage/ (the local-path provisioner's volumes,
advertised on the Node). Where containers cannot run (not root, runc missing)
the node still registers, reports Ready=False naming what is missing, and runs no pods.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import os
import socket
from dataclasses import dataclass

from kubelite.agent.images import registries, source, store
from kubelite.agent.kubelet import (
    adopt,
    backoff,
    dnsconfig,
    localpath,
    node,
    objects,
    podworkers,
    pulling,
    statsprovider,
    sync,
)
from kubelite.agent.network import nodecidr, podnet, routes
from kubelite.agent.network.dns import nodedns
from kubelite.agent.network.proxy import node as proxynode
from kubelite.agent.nodeapi import pods as nodeapi_pods
from kubelite.agent.nodeapi import server as nodeapi
from kubelite.agent.runtime import oci, ocibinary
from kubelite.api import errors
from kubelite.client import events, informer, rest

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Options:
    data_dir: str
    node_name: str = ""
    node_ip: str = "127.0.0.1"
    max_pods: int = 0
    registries_file: str = ""
    oci_runtime: str = "runc"       # runc, crun, or auto (crun where usable): ocibinary
    cgroup_parent: str = "kubelite"
    pod_pids_limit: int = 0
    lease_seconds: float = 10.0
    # Seconds to wait at start for the Node's pod CIDR (node IPAM); 0: no pod network.
    pod_cidr_wait: float = 30.0
    # The cluster's pod network (node IPAM's cluster CIDR): routes to other nodes' pod
    # CIDRs inside it are kept, and forwarding leaves it never.
    cluster_cidr: str = "10.42.0.0/16"
    # The node API (logs, exec): its port (0 = any free one), and who may call it: holders
    # of a client certificate signed by this CA, or of one of these bearer tokens.
    api_port: int = nodeapi.DEFAULT_PORT
    api_client_ca_pem: str = ""
    api_tokens: tuple[str, ...] = ()
    # Pods' DNS (the kubelet's --cluster-dns, --cluster-domain, --resolv-conf), and whether
    # this agent serves the cluster DNS on its pod gateway (with these upstreams).
    dns: dnsconfig.Settings = dataclasses.field(default_factory=dnsconfig.Settings)
    serve_dns: nodedns.Options | None = None
    # The service proxy (ClusterIP, NodePort, ServiceLB) for this node; None: off.
    service_proxy: proxynode.Options | None = None


def default_node_name() -> str:
    return socket.gethostname().lower().split(".")[0] or "localhost"


class Agent:
    def __init__(self, client: rest.Client, options: Options) -> None:
        self.client = client
        self.opts = options
        self.name = options.node_name or default_node_name()
        self.binary = ocibinary.resolve(options.oci_runtime)
        self.recorder = events.Recorder(client, "kubelet", self.name)
        self.storage_root = localpath.root_dir(options.data_dir)
        self.node = node.NodeManager(client, node.NodeConfig(
            name=self.name, ip=options.node_ip, max_pods=options.max_pods,
            runc_binary=self.binary.path, lease_seconds=options.lease_seconds,
            api_port=options.api_port, local_path_root=self.storage_root), self.recorder)
        self.runtime: oci.OCIRuntime | None = None
        self.net: podnet.PodNetwork | None = None
        self.api: nodeapi.NodeAPI | None = None

    def _path(self, *parts: str) -> str:
        return os.path.join(self.opts.data_dir, *parts)

    def _context(self) -> sync.Context:
        images = store.Store(self._path("images"))
        self.runtime = oci.OCIRuntime(source.StoreSource(images), oci.Options(
            root=self._path("runtime"), binary=self.binary,
            runc_root=self._path(self.binary.name), cgroup_parent=self.opts.cgroup_parent,
            network_setup=self.net.setup if self.net else None,
            network_teardown=self.net.teardown if self.net else None))
        config = registries.load(self.opts.registries_file) if self.opts.registries_file else \
            registries.Config()
        back = backoff.BackOff()
        return sync.Context(
            client=self.client, runtime=self.runtime,
            puller=pulling.Puller(images, config, back, self.recorder), recorder=self.recorder,
            objects=objects.Objects(self.client), node_ip=self.opts.node_ip,
            pods_dir=self._path("pods"), logs_dir=self._path("logs"), backoff=back,
            pids_limit=self.opts.pod_pids_limit, dns=self.opts.dns,
            runtime_name=self.binary.name)

    async def _register(self) -> None:
        delay = 0.2
        while True:
            try:
                await self.node.register()
                return
            except errors.APIError as e:
                log.warning("node registration failed node=%s error=%s", self.name, e)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)

    async def run(self) -> None:
        """Run until cancelled; pods keep running if the agent is cancelled (like a kubelet)."""
        os.makedirs(self.opts.data_dir, exist_ok=True)
        os.makedirs(self.storage_root, exist_ok=True)
        sock = nodeapi.bind(self.opts.node_ip, self.opts.api_port)
        self.node.cfg = dataclasses.replace(self.node.cfg, api_port=sock.getsockname()[1])
        await self._register()
        try:
            async with asyncio.TaskGroup() as tg:
                tg.create_task(self.node.run(), name="node-status")
                tg.create_task(localpath.Reclaimer(
                    self.client, self.name, self.storage_root,
                    events.Recorder(self.client, "local-path-provisioner", self.name)).run(),
                    name="local-path-reclaim")
                if self.node.problem:
                    return
                self.net = await nodecidr.start(self.client, self.name, self.opts.data_dir,
                                                self.opts.pod_cidr_wait)
                if self.net is not None:
                    proxy = self.opts.service_proxy
                    tg.create_task(routes.NodeRoutes(
                        self.client, node_name=self.name, cluster_cidr=self.opts.cluster_cidr,
                        state_dir=self._path("network"),
                        pod_egress=proxy is not None and proxy.egress_masquerade).run(),
                        name="node-routes")
                if self.net is not None and self.opts.service_proxy is not None:
                    tg.create_task(proxynode.run(
                        self.client, self.name, self.opts.node_ip, str(self.net.gateway.ip),
                        self.opts.service_proxy, state_dir=self._path("network")),
                        name="service-proxy")
                if self.net is not None and self.opts.serve_dns is not None:
                    tg.create_task(nodedns.run(self.client, str(self.net.gateway.ip),
                                               self.opts.serve_dns), name="cluster-dns")
                workers = podworkers.PodWorkers(self._context(), tg)
                assert self.runtime is not None
                await self.runtime.restore()
                stats = statsprovider.StatsProvider(self.runtime, self.name)
                tg.create_task(stats.run(), name="stats-sampler")
                await self._serve_api(sock, workers, stats)
                pods = informer.Informer(self.client, self.client.resource("v1", "Pod"),
                                         field_selector=f"spec.nodeName={self.name}")
                pods.add_handlers(workers.handlers())
                tg.create_task(pods.run(), name="pod-informer")
                await pods.wait_synced()
                await adopt.remove_orphans(
                    self.runtime, lambda: {p["metadata"]["uid"] for p in pods.list()},
                    self._path("pods"))
                log.info("node agent running node=%s", self.name)
        finally:
            if self.api is not None:
                await self.api.stop()
            sock.close()
            if self.runtime is not None:
                await self.runtime.close()
            if self.net is not None and not (self.runtime and self.runtime.sandboxes):
                await self.net.stop()   # pods outlive the agent: keep their bridge

    async def _serve_api(self, sock: socket.socket, workers: podworkers.PodWorkers,
                         stats: statsprovider.StatsProvider) -> None:
        assert self.runtime is not None
        self.api = nodeapi.NodeAPI(nodeapi.Config(
            tls_dir=self._path("nodeapi"), host=self.opts.node_ip,
            client_ca_pem=self.opts.api_client_ca_pem, tokens=self.opts.api_tokens),
            self.runtime, nodeapi_pods.WorkerContainers(workers), stats)
        await self.api.start(sock)
