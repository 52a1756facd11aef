"""`kubelite server`: the API server and the bundled components (the scheduler and the Ingress
controller in child processes, see children.py)."""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from kubelite import children
from kubelite.agent import hollow
from kubelite.agent.kubelet import agent as kubelet_agent
from kubelite.agent.kubelet import dnsconfig
from kubelite.agent.network.dns import clusterdns, nodedns
from kubelite.agent.network.proxy import node as proxynode
from kubelite.api import kubedns
from kubelite.apiserver import admission_tolerations
from kubelite.apiserver import server as apiserver
from kubelite.client import rest
from kubelite.controllers import manager
from kubelite.ingress import cli as ingress_cli
from kubelite.ingress import controller as ingress

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ServerConfig:
    data_dir: str
    bind: str = "127.0.0.1"
    port: int = 6443
    store: str = "sqlite"
    kubeconfig: str = ""
    disable: frozenset[str] = field(default_factory=frozenset)
    sim_nodes: int = 0
    sim_lease_seconds: float = 10.0
    node_monitor_grace: float = 40.0
    pod_eviction_timeout: float = 300.0
    kubelet_port: int = 10250  # the bundled agent's node API port (0: any free port)
    max_pods: int = 0  # the bundled agent's pods capacity (0: min(110, 10 x cores))
    oci_runtime: str = "runc"  # the bundled agent's OCI runtime: runc, crun or auto
    # The cluster DNS's resolvers for other names; None: the host's (/etc/resolv.conf).
    dns_upstreams: tuple[str, ...] | None = None
    ingress: ingress.Options = field(default_factory=ingress.Options)
    node_ip: str = "127.0.0.1"  # the bundled agent's InternalIP
    node_networks: tuple[str, ...] = ()  # CIDRs where the API server may reach node agents
    cluster_cidr: str = "10.42.0.0/16"   # the pods' range (node IPAM, routes, service proxy)
    # Pods' traffic beyond the cluster's networks leaves masqueraded as the node (k3s's
    # default); off: the node drops it.
    egress_masquerade: bool = True

    def apiserver_config(self) -> apiserver.Config:
        return apiserver.Config(data_dir=self.data_dir, bind=self.bind, port=self.port,
                                store=self.store, kubeconfig=self.kubeconfig,
                                node_networks=self.node_networks)


async def run(config: ServerConfig) -> None:
    """Start everything, print how to connect, and serve until cancelled."""
    admission_tolerations.configure(config.pod_eviction_timeout)
    api = apiserver.APIServer(config.apiserver_config())
    await api.start()
    kubeconfig = api.config.kubeconfig_path
    print(f"kubelite is up at {api.config.url}\n"
          f"  export KUBECONFIG={kubeconfig}\n"
          f"  kubectl get nodes        (or: kubelite kubectl get nodes)\n"
          f"  node token: {api.node_token}", flush=True)
    def loopback(user_agent: str) -> rest.Client:
        return rest.Client.loopback(api.loopback_socket, api.loopback_token,
                                    user_agent=user_agent)

    client = loopback("kubelite-server")
    child_env = children.loopback_env(api.loopback_socket, api.loopback_token)
    try:
        async with asyncio.TaskGroup() as tg:
            if "controllers" not in config.disable:
                assert api.pki is not None
                ca_pem = api.pki.ca.cert_pem.decode()
                tg.create_task(supervise("controllers", lambda: manager.run(
                    client, manager.Options(
                        ca_pem=ca_pem, node_monitor_grace=config.node_monitor_grace,
                        pod_eviction_timeout=config.pod_eviction_timeout,
                        cluster_cidr=config.cluster_cidr))))
            if "scheduler" not in config.disable:
                tg.create_task(supervise("scheduler", lambda: children.serve(
                    "scheduler", ["scheduler", "--kubeconfig", kubeconfig], child_env)))
            if "agent" not in config.disable:
                assert api.pki is not None
                agent_options = kubelet_agent.Options(
                    data_dir=os.path.join(config.data_dir, "agent"),
                    registries_file=os.path.join(config.data_dir, "registries.yaml"),
                    api_port=config.kubelet_port, max_pods=config.max_pods,
                    oci_runtime=config.oci_runtime,
                    node_ip=config.node_ip,
                    api_client_ca_pem=api.pki.ca.cert_pem.decode(),
                    cluster_cidr=config.cluster_cidr,
                    service_proxy=_proxy_options(config, api.config.service_cidr),
                    **_dns_options(config, api.config.service_cidr))
                tg.create_task(supervise("agent", lambda: _run_agent(
                    loopback("kubelite-agent"), agent_options)))
            if "ingress" not in config.disable:
                tg.create_task(supervise("ingress", lambda: children.serve(
                    "ingress", ingress_cli.child_args(kubeconfig, config.ingress), child_env)))
            if config.sim_nodes:
                tg.create_task(supervise("hollow-nodes", lambda: hollow.HollowNodes(
                    client, hollow.Options(count=config.sim_nodes,
                                           lease_seconds=config.sim_lease_seconds)).run()))
            tg.create_task(asyncio.Event().wait(), name="serve")
    finally:
        await client.close()
        await api.stop()


def _proxy_options(config: ServerConfig, service_cidr: str) -> proxynode.Options | None:
    """The bundled agent proxies Services unless "service-proxy" is disabled; ServiceLB
    rides on it unless "servicelb" is."""
    if "service-proxy" in config.disable:
        return None
    return proxynode.Options(cluster_cidr=config.cluster_cidr, service_cidr=service_cidr,
                             egress_masquerade=config.egress_masquerade,
                             servicelb="servicelb" not in config.disable)


def _dns_options(config: ServerConfig, service_cidr: str) -> dict[str, Any]:
    """Pods resolve through kube-dns; the bundled agent serves it unless "dns" is disabled."""
    settings = dnsconfig.Settings(cluster_dns=(kubedns.cluster_ip(service_cidr),))
    if "dns" in config.disable:
        return {"dns": settings}
    ups = clusterdns.host_upstreams() if config.dns_upstreams is None else config.dns_upstreams
    return {"dns": settings, "serve_dns": nodedns.Options(
        upstreams=tuple(u for u in ups if u != "none"))}


async def supervise(name: str, start: Callable[[], Awaitable[None]]) -> None:
    """Run one bundled part; if it fails, log why and start it again after a back-off, so a
    bug in one part never takes the API server (and every other part) down with it."""
    delay = 1.0
    while True:
        began = asyncio.get_running_loop().time()
        try:
            await start()
            log.warning("component stopped; restarting name=%s", name)
        except Exception:
            log.exception("component failed; restarting name=%s delay=%.0fs", name, delay)
        if asyncio.get_running_loop().time() - began > 60:
            delay = 1.0
        await asyncio.sleep(delay)
        delay = min(delay * 2, 30.0)


async def _run_agent(client: rest.Client, options: kubelet_agent.Options) -> None:
    """The bundled node agent for this machine, with its own connections."""
    try:
        await kubelet_agent.Agent(client, options).run()
    finally:
        await client.close()
