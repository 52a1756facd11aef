"""The node lifecycle controller: notices nodes whose kubelet went quiet.

A kubelet proves it is alive by renewing its Lease (kube-node-lease/<node>) and posting
the Ready condition's heartbeat. Every monitor period this controller notes when it last
saw either move; past the grace period it sets the node's conditions to Unknown and
events NodeNotReady. It then keeps the node's taints in step with its conditions:
- NoSchedule taints for every condition (TaintNodesByCondition), at once;
- the NoExecute not-ready/unreachable taint, which makes the taint eviction controller
  evict pods, rate-limited per zone and withheld entirely when no node in the cluster is
  Ready (full disruption: the fault is more likely the control plane's view than every
  node's).
Pods on a node that is not Ready get their Ready condition set to False.
"""

from __future__ import annotations

import asyncio
import copy
import datetime
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from kubelite.api import errors
from kubelite.client import events, factory, informer, rest
from kubelite.controllers import conditions, controller, nodehealth

log = logging.getLogger(__name__)

Obj = dict[str, Any]
LEASE_NAMESPACE = "kube-node-lease"
UPDATE_RETRIES = 3


@dataclass(frozen=True)
class Config:
    node_monitor_grace: float = 40.0
    node_startup_grace: float = 60.0
    monitor_period: float = 5.0
    eviction_qps: float = 0.1
    secondary_eviction_qps: float = 0.01
    large_cluster_threshold: int = 50
    unhealthy_zone_threshold: float = 0.55

    @property
    def period(self) -> float:
        """Look often enough that a short grace period is noticed on time."""
        return min(self.monitor_period, max(0.1, self.node_monitor_grace / 4))


@dataclass
class _Health:
    probe: float                        # clock() when a heartbeat was last seen to move
    heartbeat: str | None
    renew: datetime.datetime | None
    ready: str


class NodeLifecycleController(controller.Controller):
    name = "node-lifecycle-controller"

    def __init__(self, client: rest.Client, informers: factory.InformerFactory, *,
                 config: Config = Config(), clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(client, informers)
        self.config = config
        self.clock = clock
        self.node_rt = client.resource("v1", "Node")
        self.pod_rt = client.resource("v1", "Pod")
        self.nodes = informers.informer("v1", "Node")
        self.pods = informers.informer("v1", "Pod", node=informer.by_node)
        self.leases = informers.informer("coordination.k8s.io/v1", "Lease")
        self.recorder = events.Recorder(client, "node-controller")
        self._health: dict[str, _Health] = {}
        self._buckets: dict[str, nodehealth.TokenBucket] = {}
        self.all_disrupted = False
        self.nodes.add_handlers(informer.Handlers(
            on_add=self.enqueue, on_update=self._node_updated))
        self.pods.add_handlers(informer.Handlers(
            on_add=self._pod_changed, on_update=lambda old, new: self._pod_changed(new)))

    def _node_updated(self, old: Obj, new: Obj) -> None:
        if old["metadata"].get("resourceVersion") != new["metadata"].get("resourceVersion"):
            self.enqueue(new)

    def _pod_changed(self, pod: Obj) -> None:
        node = self.nodes.get((pod.get("spec") or {}).get("nodeName") or "")
        if node is not None and nodehealth.ready_status(node) != "True":
            self.enqueue(node)

    async def run(self, workers: int = 2) -> None:
        async with asyncio.TaskGroup() as tg:
            monitor = tg.create_task(self._monitor_loop(), name="node-monitor")
            await super().run(workers)
            monitor.cancel()

    async def _monitor_loop(self) -> None:
        await self.informers.wait_synced()
        while True:
            await self.monitor_once()
            await asyncio.sleep(self.config.period)

    # -- per-node work from the queue: NoSchedule taints and pod readiness -------------------

    async def sync(self, key: str) -> None:
        node = self.nodes.get(key)
        if node is None:
            return
        wanted = nodehealth.no_schedule_taints(node)
        current = (node.get("spec") or {}).get("taints") or []
        if nodehealth.with_taints(current, "NoSchedule", nodehealth.NO_SCHEDULE_KEYS,
                                  wanted) != current:
            await self.set_taints(key, "NoSchedule", nodehealth.NO_SCHEDULE_KEYS, wanted)
        if nodehealth.ready_status(node) != "True":
            await self._mark_pods_not_ready(key)

    async def _mark_pods_not_ready(self, node_name: str) -> None:
        for pod in self.pods.by_index("node", node_name):
            conditions = (pod.get("status") or {}).get("conditions") or []
            ready = next((c for c in conditions if c.get("type") == "Ready"), None)
            if ready is None or ready.get("status") == "False":
                continue
            updated = copy.deepcopy(pod)
            for c in updated["status"]["conditions"]:
                if c.get("type") == "Ready":
                    c.update(status="False", lastTransitionTime=events.now())
            try:
                await self.client.update_status(self.pod_rt, updated)
            except errors.APIError as e:
                if errors.is_not_found(e):
                    continue
                raise
            self.recorder.event(pod, "Warning", "NodeNotReady", "Node is not ready")

    async def set_taints(self, name: str, effect: str, managed: frozenset[str],
                         wanted: list[Obj]) -> None:
        """Make the node's `effect` taints among `managed` keys be `wanted` (read-modify-
        write on the live node, retried on conflict)."""
        for attempt in range(UPDATE_RETRIES):
            try:
                node = await self.client.get(self.node_rt, name)
            except errors.APIError as e:
                if errors.is_not_found(e):
                    return
                raise
            spec = node.setdefault("spec", {})
            current = spec.get("taints") or []
            taints = nodehealth.with_taints(current, effect, managed, wanted)
            if taints == current:
                return
            spec["taints"] = taints
            if not taints:
                spec.pop("taints")
            try:
                await self.client.update(self.node_rt, node)
                return
            except errors.APIError as e:
                if not errors.is_conflict(e) or attempt == UPDATE_RETRIES - 1:
                    raise

    # -- the periodic health pass -----------------------------------------------------------

    async def monitor_once(self) -> None:
        """One pass over every node: health, disruption mode, NoExecute taints."""
        now = self.clock()
        nodes = self.nodes.list()
        names = {n["metadata"]["name"] for n in nodes}
        for gone in [n for n in self._health if n not in names]:
            del self._health[gone]
        checked = []
        for node in nodes:
            try:
                checked.append(await self._check_health(node, now))
            except errors.APIError as e:
                log.warning("node health update failed node=%s error=%s",
                            node["metadata"]["name"], e)
                checked.append(node)
        self._handle_disruption(checked, now)
        for node in checked:
            try:
                await self._taint_no_execute(node, now)
            except errors.APIError as e:
                log.warning("node tainting failed node=%s error=%s", node["metadata"]["name"], e)

    def _observe(self, node: Obj, now: float) -> _Health:
        """Note when the node's heartbeat or lease last moved."""
        name = node["metadata"]["name"]
        cond = conditions.of(node, "Ready")
        heartbeat = cond.get("lastHeartbeatTime") if cond else None
        lease = self.leases.get(f"{LEASE_NAMESPACE}/{name}")
        renew = nodehealth.parse_time(((lease or {}).get("spec") or {}).get("renewTime"))
        h = self._health.get(name)
        if h is None:
            h = self._health[name] = _Health(now, heartbeat, renew,
                                             nodehealth.ready_status(node))
        if heartbeat != h.heartbeat:
            h.heartbeat, h.probe = heartbeat, now
        if renew is not None and (h.renew is None or renew > h.renew):
            h.renew, h.probe = renew, now
        return h

    async def _check_health(self, node: Obj, now: float) -> Obj:
        h = self._observe(node, now)
        has_ready = conditions.of(node, "Ready") is not None
        grace = self.config.node_monitor_grace if has_ready else self.config.node_startup_grace
        if now - h.probe > grace:
            stale = nodehealth.stale_conditions(node, events.now())
            if stale != (node.get("status") or {}).get("conditions"):
                node = await self._post_stale_conditions(node["metadata"]["name"])
        status = nodehealth.ready_status(node)
        if h.ready == "True" and status != "True":
            self._node_event(node, "NodeNotReady")
        elif h.ready != "True" and status == "True":
            self._node_event(node, "NodeReady")
        h.ready = status
        return node

    async def _post_stale_conditions(self, name: str) -> Obj:
        for attempt in range(UPDATE_RETRIES):
            node = await self.client.get(self.node_rt, name)
            node.setdefault("status", {})["conditions"] = nodehealth.stale_conditions(
                node, events.now())
            try:
                log.info("node stopped reporting node=%s", name)
                return await self.client.update_status(self.node_rt, node)
            except errors.APIError as e:
                if not errors.is_conflict(e) or attempt == UPDATE_RETRIES - 1:
                    raise
        raise AssertionError("unreachable")

    def _node_event(self, node: Obj, status: str) -> None:
        name = node["metadata"]["name"]
        ref = {"apiVersion": "v1", "kind": "Node",
               "metadata": {"name": name, "uid": node["metadata"].get("uid", "")}}
        self.recorder.event(ref, "Normal", status, f"Node {name} status is now: {status}")

    def _handle_disruption(self, nodes: list[Obj], now: float) -> None:
        """Zone states set each zone's tainting rate; no Ready node anywhere stops it."""
        zones: dict[str, list[str]] = {}
        for node in nodes:
            zones.setdefault(nodehealth.zone_of(node), []).append(nodehealth.ready_status(node))
        states = {z: nodehealth.zone_state(r, self.config.unhealthy_zone_threshold)
                  for z, r in zones.items()}
        all_now = bool(states) and all(s == nodehealth.FULL_DISRUPTION for s in states.values())
        if all_now and not self.all_disrupted:
            log.warning("no node is Ready: entering full disruption mode, evictions stop")
        elif self.all_disrupted and not all_now:
            log.info("a node is Ready again: leaving full disruption mode")
            for h in self._health.values():
                h.probe = now     # every node gets a full grace period again
        self.all_disrupted = all_now
        for zone, state in states.items():
            rate = 0.0 if all_now else nodehealth.eviction_rate(
                state, len(zones[zone]), qps=self.config.eviction_qps,
                secondary_qps=self.config.secondary_eviction_qps,
                large_cluster=self.config.large_cluster_threshold)
            bucket = self._buckets.setdefault(zone, nodehealth.TokenBucket(rate, now=now))
            bucket.set_rate(rate, now)

    async def _taint_no_execute(self, node: Obj, now: float) -> None:
        want = None if self.all_disrupted else nodehealth.no_execute_taint(node)
        current = [t for t in (node.get("spec") or {}).get("taints") or []
                   if t.get("effect") == "NoExecute" and t.get("key") in nodehealth.NO_EXECUTE_KEYS]
        name = node["metadata"]["name"]
        if want is None:
            if current:
                await self.set_taints(name, "NoExecute", nodehealth.NO_EXECUTE_KEYS, [])
            return
        if [t.get("key") for t in current] == [want]:
            return
        # A swap between not-ready and unreachable is immediate; a new taint waits its turn.
        if not current and not self._buckets[nodehealth.zone_of(node)].take(now):
            return
        log.info("tainting node node=%s taint=%s:NoExecute", name, want)
        await self.set_taints(name, "NoExecute", nodehealth.NO_EXECUTE_KEYS, [
            {"key": want, "effect": "NoExecute", "timeAdded": events.now()}])
