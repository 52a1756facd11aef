"""`kubelite server`: one process running the API server and the bundled components."""

from __future__ import annotations

import asyncio
import logging
import os
from dataclasses import dataclass, field

from kubelite.agent import hollow
from kubelite.agent.kubelet import agent as kubelet_agent
from kubelite.apiserver import admission_tolerations
from kubelite.apiserver import server as apiserver
from kubelite.client import rest
from kubelite.controllers import manager
from kubelite.scheduler import scheduler

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

    def apiserver_config(self) -> apiserver.Config:
        return apiserver.Config(data_dir=self.data_dir, bind=self.bind, port=self.port,
                                store=self.store, kubeconfig=self.kubeconfig)


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
    client = rest.Client.from_kubeconfig(kubeconfig, user_agent="kubelite-server")
    try:
        async with asyncio.TaskGroup() as tg:
            if "controllers" not in config.disable:
                assert api.pki is not None
                tg.create_task(manager.run(client, manager.Options(
                    ca_pem=api.pki.ca.cert_pem.decode(),
                    node_monitor_grace=config.node_monitor_grace,
                    pod_eviction_timeout=config.pod_eviction_timeout)), name="controllers")
            if "scheduler" not in config.disable:
                tg.create_task(_run_scheduler(kubeconfig), name="scheduler")
            if "agent" not in config.disable:
                assert api.pki is not None
                tg.create_task(_run_agent(kubeconfig, kubelet_agent.Options(
                    data_dir=os.path.join(config.data_dir, "agent"),
                    registries_file=os.path.join(config.data_dir, "registries.yaml"),
                    api_port=config.kubelet_port,
                    api_client_ca_pem=api.pki.ca.cert_pem.decode())), name="agent")
            if config.sim_nodes:
                tg.create_task(hollow.HollowNodes(client, hollow.Options(
                    count=config.sim_nodes, lease_seconds=config.sim_lease_seconds)).run(),
                    name="hollow-nodes")
            tg.create_task(asyncio.Event().wait(), name="serve")
    finally:
        await client.close()
        await api.stop()


async def _run_scheduler(kubeconfig: str) -> None:
    """The scheduler with its own connections, so binds don't queue behind other parts."""
    client = rest.Client.from_kubeconfig(kubeconfig, user_agent="kubelite-scheduler")
    try:
        await scheduler.run(client)
    finally:
        await client.close()


async def _run_agent(kubeconfig: str, options: kubelet_agent.Options) -> None:
    """The bundled node agent for this machine, with its own connections."""
    client = rest.Client.from_kubeconfig(kubeconfig, user_agent="kubelite-agent")
    try:
        await kubelet_agent.Agent(client, options).run()
    finally:
        await client.close()
