"""The scheduler process: informers feed the cache and the queue, one loop schedules.

Informer handlers run on the event loop and only update the cache and the queue (no
I/O). The loop pops one pod at a time, runs the synchronous scheduling cycle, and
starts the binding cycle as a task, so the next pod is scheduled while earlier
bindings are in flight (at most `Options.parallel_binds` at once). What it writes,
as upstream does: a Binding per scheduled pod, a Scheduled event; for a pod no node
fits, the PodScheduled=False condition and a FailedScheduling event; for preemption,
status.nominatedNodeName and the deletion of the victims.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from kubelite.api import claims as api_claims
from kubelite.api import errors
from kubelite.api import labels as api_labels
from kubelite.client import events, factory, informer, rest
from kubelite.scheduler import fiterror, framework, handle, nodeinfo, outcome, profile, protocol, queue
from kubelite.scheduler.plugins import volume_binding

log = logging.getLogger(__name__)

Obj = dict[str, Any]
SCHEDULER_NAME = profile.DEFAULT_SCHEDULER_NAME
FLUSH_INTERVAL = 1.0


@dataclass(frozen=True)
class Options:
    parallel_binds: int = 64
    percentage_of_nodes_to_score: int = 0


def responsible(pod: Obj) -> bool:
    """An unbound, live pod that names this scheduler."""
    spec = pod.get("spec") or {}
    return (spec.get("schedulerName") or SCHEDULER_NAME) == SCHEDULER_NAME and not spec.get(
        "nodeName") and not pod["metadata"].get("deletionTimestamp")


def assigned(pod: Obj) -> bool:
    return bool((pod.get("spec") or {}).get("nodeName"))


def _node_shape(node: Obj) -> tuple[Any, ...]:
    """What scheduling reads of a node; heartbeat-only updates leave it unchanged."""
    status = node.get("status") or {}
    conditions = {c.get("type"): c.get("status") for c in status.get("conditions") or ()}
    annotations = node["metadata"].get("annotations") or {}
    return (node["metadata"].get("labels"), node.get("spec"), status.get("allocatable"),
            conditions, annotations.get(volume_binding.LOCAL_PATH_ROOT))


def _pod_shape(pod: Obj) -> tuple[Any, ...]:
    return pod["metadata"].get("labels"), pod.get("spec")


class Scheduler:
    """The default scheduler over shared informers; `run()` schedules until cancelled."""

    def __init__(self, client: rest.Client, informers: factory.InformerFactory,
                 options: Options = Options()) -> None:
        self.client = client
        self.options = options
        self._pod_rt = client.resource("v1", "Pod")
        self.pods = informers.informer("v1", "Pod")
        self.nodes = informers.informer("v1", "Node")
        self.namespaces = informers.informer("v1", "Namespace")
        self._selecting = [
            (informers.informer("v1", "Service"), False),
            (informers.informer("v1", "ReplicationController"), False),
            (informers.informer("apps/v1", "ReplicaSet"), True),
            (informers.informer("apps/v1", "StatefulSet"), True),
        ]
        self.claims = informers.informer("v1", "PersistentVolumeClaim")
        self.volumes = informers.informer("v1", "PersistentVolume")
        self.storage_classes = informers.informer("storage.k8s.io/v1", "StorageClass")
        self.cache = nodeinfo.Cache()
        self.handle = handle.Handle(cache=self.cache, namespace_labels=self._namespace_labels,
                                    spread_selectors=self._spread_selectors, bind=self._bind_call,
                                    claim=self._claim, volume=self.volumes.get,
                                    storage_class=self.storage_classes.get,
                                    volumes=self.volumes.list, bind_volume=self._bind_volume)
        self.framework = profile.new_framework(
            self.handle, percentage_of_nodes_to_score=options.percentage_of_nodes_to_score)
        self.queue = queue.SchedulingQueue(plugins_for_events=self.framework.plugins_for_events())
        self.recorder = events.Recorder(client, SCHEDULER_NAME)
        self._bind_slots = asyncio.Semaphore(options.parallel_binds)
        self.nodes.add_handlers(informer.Handlers(self._node_added, self._node_updated,
                                                  self._node_deleted))
        self.pods.add_handlers(informer.Handlers(self._pod_added, self._pod_updated,
                                                 self._pod_deleted))
        self._add_storage_handlers()

    # -- lookups the plugins use -------------------------------------------------------

    def _namespace_labels(self, namespace: str) -> dict[str, str] | None:
        ns = self.namespaces.get(namespace)
        return None if ns is None else (ns["metadata"].get("labels") or {})

    def _spread_selectors(self, pod: Obj) -> list[api_labels.Selector]:
        """Selectors of the Services, RCs, ReplicaSets and StatefulSets that select the pod."""
        meta = pod["metadata"]
        pod_labels = meta.get("labels") or {}
        out = []
        for inf, structured in self._selecting:
            namespace = meta.get("namespace") or "default"
            # the informer's `list` method shadows the builtin in its annotations
            for obj in inf.by_index("namespace", namespace):
                raw = (obj.get("spec") or {}).get("selector")
                if not raw:
                    continue
                try:
                    selector = (api_labels.from_label_selector(raw) if structured
                                else api_labels.from_set(raw))
                except errors.BadRequest:
                    continue
                if not selector.empty() and selector.matches(pod_labels):
                    out.append(selector)
        return out

    def _claim(self, namespace: str, name: str) -> Obj | None:
        return self.claims.get(f"{namespace}/{name}")

    async def _bind_volume(self, pv: Obj, claim: Obj) -> None:
        """Pre-bind a volume to a claim (claimRef with uid); the binder completes the pair."""
        meta = pv["metadata"]
        patch = {"metadata": {"resourceVersion": meta.get("resourceVersion")},
                 "spec": {"claimRef": api_claims.claim_ref(claim)}}
        await self.client.patch(self.client.resource("v1", "PersistentVolume"), meta["name"], patch)

    async def _bind_call(self, pod: Obj, node_name: str) -> None:
        meta = pod["metadata"]
        await self.client.bind(meta["namespace"], meta["name"], node_name, meta.get("uid", ""))

    # -- informer handlers: cache and queue only ---------------------------------------

    def _node_added(self, node: Obj) -> None:
        self.cache.add_node(node)
        self.queue.on_event(protocol.NODE_ADD)

    def _node_updated(self, old: Obj, new: Obj) -> None:
        if _node_shape(old) == _node_shape(new):
            return
        self.cache.update_node(new)
        self.queue.on_event(protocol.NODE_UPDATE)

    def _node_deleted(self, node: Obj) -> None:
        self.cache.remove_node(node["metadata"]["name"])
        self.queue.on_event(protocol.NODE_DELETE)

    def _add_storage_handlers(self) -> None:
        """Claims, volumes and classes coming or changing may let waiting pods fit."""
        def claim_event(event: protocol.ClusterEvent) -> Callable[..., None]:
            return lambda *objs: self._on_event(event, _uses_claim(objs[-1]))

        def any_event(event: protocol.ClusterEvent) -> Callable[..., None]:
            return lambda *objs: self._on_event(event)

        for inf, add, update, wrap in (
            (self.claims, protocol.PVC_ADD, protocol.PVC_UPDATE, claim_event),
            (self.volumes, protocol.PV_ADD, protocol.PV_UPDATE, any_event),
            (self.storage_classes, protocol.STORAGE_CLASS_ADD, protocol.STORAGE_CLASS_UPDATE, any_event),
        ):
            inf.add_handlers(informer.Handlers(wrap(add), wrap(update)))

    def _on_event(self, event: protocol.ClusterEvent,
                  accept: Callable[[queue.QueuedPodInfo], bool] | None = None) -> None:
        self.queue.on_event(event, accept)

    def _pod_added(self, pod: Obj) -> None:
        if assigned(pod):
            self.cache.add_pod(pod)
            self.queue.on_event(protocol.ASSIGNED_POD_ADD)
        elif responsible(pod):
            self.queue.add(pod)

    def _pod_updated(self, old: Obj, new: Obj) -> None:
        if assigned(new):
            self.cache.update_pod(new)
            if not assigned(old):
                self.queue.delete(new)
                self.queue.on_event(protocol.ASSIGNED_POD_ADD)
            elif (new.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
                self.queue.on_event(protocol.ASSIGNED_POD_DELETE)
            elif _pod_shape(old) != _pod_shape(new):
                self.queue.on_event(protocol.ASSIGNED_POD_UPDATE)
        elif responsible(new):
            self.queue.update(new)
        else:
            self.queue.delete(new)

    def _pod_deleted(self, pod: Obj) -> None:
        if assigned(pod):
            self.cache.remove_pod(pod)
            self.queue.on_event(protocol.ASSIGNED_POD_DELETE)
        else:
            self.queue.delete(pod)

    # -- the loop ----------------------------------------------------------------------

    async def run(self) -> None:
        """Schedule until cancelled (the informers must have been started)."""
        await asyncio.gather(*(inf.wait_synced() for inf in (
            self.pods, self.nodes, self.namespaces, *(i for i, _ in self._selecting),
            self.claims, self.volumes, self.storage_classes)))
        log.info("scheduler started nodes=%d pending=%s", len(self.cache), self.queue.pending())
        async with asyncio.TaskGroup() as tasks:
            tasks.create_task(self._flush_loop())
            while True:
                await self.schedule_next(tasks)
                await asyncio.sleep(0)  # a cycle never waits: let informers and binds run

    async def _flush_loop(self) -> None:
        while True:
            await asyncio.sleep(FLUSH_INTERVAL)
            self.queue.flush()

    def _current(self, info: queue.QueuedPodInfo) -> Obj | None:
        """The informer's copy of the queued pod, if it is still the same pod."""
        meta = info.pod["metadata"]
        pod = self.pods.get(f"{meta.get('namespace')}/{meta.get('name')}")
        if pod is None or pod["metadata"].get("uid") != meta.get("uid"):
            return None
        return pod

    async def schedule_next(self, tasks: asyncio.TaskGroup) -> None:
        """One scheduling cycle; the binding cycle (or failure report) runs in `tasks`."""
        info = await self.queue.pop()
        pod = self._current(info)
        if pod is None or not responsible(pod):
            self.queue.done(info.key)
            return
        info.pod = pod
        result = self.framework.schedule_one(pod)
        if isinstance(result, fiterror.FitError):
            self.queue.add_unschedulable(info, result.unschedulable_plugins)
            tasks.create_task(self._report_failure(info, result))
            return
        await self._bind_slots.acquire()
        tasks.create_task(self._bind(info, result))

    async def _bind(self, info: queue.QueuedPodInfo, result: framework.ScheduleResult) -> None:
        try:
            status = await self.framework.bind(result)
        finally:
            self._bind_slots.release()
        if status is None:
            self.queue.done(info.key)
            event = outcome.scheduled_event(info.pod, result.node_name)
            self.recorder.event(info.pod, event["type"], event["reason"], event["note"])
            return
        if self._current(info) is None:
            self.queue.done(info.key)  # deleted while binding: nothing to retry
            return
        self.queue.add_backoff(info)
        message = f"Binding rejected: {status.message()}"
        log.info("binding failed pod=%s/%s node=%s error=%s", info.pod["metadata"].get(
            "namespace"), info.pod["metadata"].get("name"), result.node_name, status.message())
        self.recorder.event(info.pod, "Warning", "FailedScheduling", message)

    # -- reporting failures ------------------------------------------------------------

    async def _report_failure(self, info: queue.QueuedPodInfo, error: fiterror.FitError) -> None:
        """Event, PodScheduled=False condition and (after preemption) the nomination."""
        pod = self._current(info)
        if pod is None:
            self.queue.delete(info.key)
            return
        message = error.message()
        self.recorder.event(pod, "Warning", "FailedScheduling", message)
        nominated = error.nominated
        if nominated is not None and nominated.victims:
            await self._preempt(pod, nominated)
        status = _failure_status(pod, message, nominated, events.now())
        if not status:
            return
        meta = pod["metadata"]
        try:
            await self.client.patch(self._pod_rt, meta["name"], {"status": status},
                                    namespace=meta["namespace"], subresource="status")
        except errors.APIError as e:
            if not errors.is_not_found(e):
                log.warning("pod status not written pod=%s/%s error=%s", meta["namespace"],
                            meta["name"], e)

    async def _preempt(self, pod: Obj, nominated: protocol.PostFilterResult) -> None:
        node = nominated.nominated_node_name
        for victim in nominated.victims:
            meta = victim["metadata"]
            self.recorder.event(victim, "Normal", "Preempted",
                                f"Preempted by pod {pod['metadata'].get('uid')} on node {node}")
            try:
                await self.client.delete(self._pod_rt, meta["name"], meta["namespace"],
                                         uid=meta.get("uid", ""))
            except errors.APIError as e:
                if not errors.is_not_found(e):
                    log.warning("preemption victim not deleted pod=%s/%s error=%s",
                                meta["namespace"], meta["name"], e)


def _uses_claim(claim: Obj) -> Callable[[queue.QueuedPodInfo], bool]:
    """Whether a queued pod uses the claim (upstream's queueing hint for claim events)."""
    meta = claim["metadata"]

    def accept(info: queue.QueuedPodInfo) -> bool:
        pod = info.pod
        return (pod["metadata"].get("namespace") or "default") == meta.get("namespace") and any(
            name == meta.get("name") for name, _ in volume_binding.claim_names(pod))
    return accept


def _failure_status(pod: Obj, message: str, nominated: protocol.PostFilterResult | None,
                    now: str) -> Obj:
    """The status merge patch for an unschedulable pod; {} when nothing would change."""
    status = pod.get("status") or {}
    conditions = status.get("conditions") or []
    new = outcome.unschedulable_condition(message, now)
    old = next((c for c in conditions if c.get("type") == "PodScheduled"), None)
    patch: Obj = {}
    if old is None or any(old.get(k) != new[k] for k in ("status", "reason", "message")):
        if old is not None and old.get("status") == new["status"]:
            new["lastTransitionTime"] = old.get("lastTransitionTime")
        patch["conditions"] = [c for c in conditions if c.get("type") != "PodScheduled"] + [new]
    if nominated is not None and nominated.nominated_node_name != (status.get("nominatedNodeName")
                                                                   or ""):
        patch["nominatedNodeName"] = nominated.nominated_node_name or None
    return patch


async def run(client: rest.Client, options: Options = Options()) -> None:
    """Run the default scheduler against the API server until cancelled."""
    informers = factory.InformerFactory(client)
    scheduler = Scheduler(client, informers, options)
    informers.start()
    try:
        await scheduler.run()
    finally:
        await informers.stop()
