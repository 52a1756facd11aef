"""The controller manager: every bundled controller over one set of shared informers."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass

from kubelite.client import factory, rest
from kubelite.controllers import (
    controller,
    daemonset,
    deployment,
    endpoints,
    endpointslice,
    namespace,
    nodeipam,
    nodelifecycle,
    replicaset,
    serviceaccount,
    tainteviction,
    ttlafterfinished,
)
from kubelite.controllers.cronjob import controller as cronjob_controller
from kubelite.controllers.gc import collector as gc_collector
from kubelite.controllers.job import controller as job_controller
from kubelite.controllers.podautoscaler import controller as podautoscaler
from kubelite.controllers.statefulset import controller as statefulset
from kubelite.controllers.volume import binder as volume_binder
from kubelite.controllers.volume import ephemeral as volume_ephemeral
from kubelite.controllers.volume import protection as volume_protection
from kubelite.controllers.volume import provisioner as volume_provisioner

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Options:
    workers: int = 4
    ca_pem: str = ""
    node_monitor_grace: float = 40.0
    pod_eviction_timeout: float = 300.0
    cluster_cidr: str = nodeipam.DEFAULT_CLUSTER_CIDR     # pod addresses; each Node gets a piece
    node_cidr_mask_size: int = nodeipam.DEFAULT_MASK_SIZE


def _builders(opts: Options) -> list[Callable[[rest.Client, factory.InformerFactory],
                                              controller.Controller]]:
    builders: list[Callable[[rest.Client, factory.InformerFactory], controller.Controller]] = [
        replicaset.ReplicaSetController,
        lambda c, f: replicaset.ReplicaSetController(c, f, kind="ReplicationController"),
        namespace.NamespaceController,
        lambda c, f: serviceaccount.NamespaceDefaultsController(c, f, ca_pem=opts.ca_pem),
        gc_collector.GarbageCollector,
        lambda c, f: nodelifecycle.NodeLifecycleController(c, f, config=nodelifecycle.Config(
            node_monitor_grace=opts.node_monitor_grace)),
        tainteviction.TaintEvictionController,
        endpoints.EndpointsController,
        endpointslice.EndpointSliceController,
        lambda c, f: nodeipam.NodeIPAMController(c, f, cluster_cidr=opts.cluster_cidr,
                                                 mask_size=opts.node_cidr_mask_size),
        deployment.DeploymentController,
        daemonset.DaemonSetController,
        job_controller.JobController, ttlafterfinished.TTLAfterFinishedController,
        statefulset.StatefulSetController,
        cronjob_controller.CronJobController,
        volume_binder.PersistentVolumeBinder,
        volume_provisioner.LocalPathProvisioner,
        volume_ephemeral.EphemeralVolumeController,
        volume_protection.ClaimProtectionController,
        volume_protection.VolumeProtectionController,
        podautoscaler.HorizontalController,
    ]
    return builders


async def run(client: rest.Client, opts: Options = Options()) -> None:
    """Run every controller until cancelled."""
    informers = factory.InformerFactory(client)
    controllers = [build(client, informers) for build in _builders(opts)]
    informers.start()
    try:
        async with asyncio.TaskGroup() as tg:
            for c in controllers:
                tg.create_task(c.run(opts.workers), name=c.name)
    finally:
        for c in controllers:
            c.queue.shut_down()
        await informers.stop()
