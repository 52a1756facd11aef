"""The taint eviction controller: pods leave nodes tainted NoExecute.

A pod on a node with NoExecute taints is deleted at once unless it tolerates every one;
when it does, it is deleted after the shortest tolerationSeconds among the tolerations
used (counted from when this controller first saw it tainted), or never when none sets
tolerationSeconds. A pod whose taints go away before then stays. Before deleting, the pod
gets the DisruptionTarget condition, as upstream.
"""

from __future__ import annotations

import copy
import logging
import time
from collections.abc import Callable
from typing import Any

from kubelite.api import errors, taints
from kubelite.client import events, factory, informer, rest
from kubelite.controllers import controller

log = logging.getLogger(__name__)

Obj = dict[str, Any]


def used_tolerations(node_taints: list[Obj], tolerations: list[Obj]) -> list[Obj] | None:
    """The first toleration matching each taint; None when some taint is not tolerated."""
    used = []
    for taint in node_taints:
        match = next((t for t in tolerations if taints.tolerates(t, taint)), None)
        if match is None:
            return None
        used.append(match)
    return used


def toleration_seconds(used: list[Obj]) -> float | None:
    """How long the pod may stay: the shortest tolerationSeconds; None means forever."""
    limits = [max(float(t["tolerationSeconds"]), 0.0) for t in used
              if t.get("tolerationSeconds") is not None]
    return min(limits) if limits else None


def no_execute_taints(node: Obj | None) -> list[Obj]:
    return [t for t in ((node or {}).get("spec") or {}).get("taints") or []
            if t.get("effect") == "NoExecute"]


class TaintEvictionController(controller.Controller):
    name = "taint-eviction-controller"

    def __init__(self, client: rest.Client, informers: factory.InformerFactory, *,
                 clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(client, informers)
        self.clock = clock
        self.pod_rt = client.resource("v1", "Pod")
        self.nodes = informers.informer("v1", "Node")
        self.pods = informers.informer("v1", "Pod", node=informer.by_node)
        self.recorder = events.Recorder(client, "taint-eviction-controller")
        self._since: dict[str, tuple[str, float]] = {}   # pod key -> (uid, first tainted)
        self.nodes.add_handlers(informer.Handlers(
            on_add=self._node_changed,
            on_update=lambda old, new: self._node_changed(new, old)))
        self.pods.add_handlers(informer.Handlers(
            on_add=self._pod_changed, on_update=lambda old, new: self._pod_changed(new),
            on_delete=self._pod_deleted))

    def _pod_deleted(self, pod: Obj) -> None:
        self._since.pop(informer.key_of(pod), None)

    def _node_changed(self, node: Obj, old: Obj | None = None) -> None:
        taints = no_execute_taints(node)
        if old is not None and taints == no_execute_taints(old):
            return
        for pod in self.pods.by_index("node", node["metadata"]["name"]):
            self.enqueue(pod)

    def _pod_changed(self, pod: Obj) -> None:
        node = (pod.get("spec") or {}).get("nodeName")
        if node and (no_execute_taints(self.nodes.get(node)) or
                     informer.key_of(pod) in self._since):
            self.enqueue(pod)

    async def sync(self, key: str) -> None:
        pod = self.pods.get(key)
        node_name = ((pod or {}).get("spec") or {}).get("nodeName")
        if pod is None or not node_name or pod["metadata"].get("deletionTimestamp"):
            self._since.pop(key, None)
            return
        taints = no_execute_taints(self.nodes.get(node_name))
        if not taints:
            self._cancel(key, pod)
            return
        used = used_tolerations(taints, (pod.get("spec") or {}).get("tolerations") or [])
        if used is None:
            await self._evict(key, pod)
            return
        seconds = toleration_seconds(used)
        if seconds is None:
            self._cancel(key, pod)
            return
        now = self.clock()
        uid, since = self._since.get(key, ("", now))
        if uid != pod["metadata"]["uid"]:
            since = now
            self._since[key] = (pod["metadata"]["uid"], now)
        left = since + seconds - now
        if left <= 0:
            await self._evict(key, pod)
        else:
            self.queue.add_after(key, left)

    def _cancel(self, key: str, pod: Obj) -> None:
        if self._since.pop(key, None) is not None:
            self.recorder.event(pod, "Normal", "TaintManagerEviction",
                                f"Cancelling deletion of Pod {key}")

    async def _evict(self, key: str, pod: Obj) -> None:
        log.info("evicting pod pod=%s node=%s", key, pod["spec"]["nodeName"])
        self.recorder.event(pod, "Normal", "TaintManagerEviction",
                            f"Marking for deletion Pod {key}")
        meta = pod["metadata"]
        try:
            await self._mark_disruption(pod)   # a conflict (stale cache) is retried
            await self.client.delete(self.pod_rt, meta["name"], meta["namespace"],
                                     uid=meta["uid"])
        except errors.APIError as e:
            if not errors.is_not_found(e):
                raise
        self._since.pop(key, None)

    async def _mark_disruption(self, pod: Obj) -> None:
        """The DisruptionTarget condition tells the pod's owner why it is going."""
        updated = copy.deepcopy(pod)
        status = updated.setdefault("status", {})
        conditions = [c for c in status.get("conditions") or []
                      if c.get("type") != "DisruptionTarget"]
        conditions.append({"type": "DisruptionTarget", "status": "True",
                           "reason": "DeletionByTaintManager",
                           "message": "Taint manager: deleting due to NoExecute taint",
                           "lastTransitionTime": events.now()})
        status["conditions"] = conditions
        await self.client.update_status(self.pod_rt, updated)
