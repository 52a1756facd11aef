"""The DaemonSet controller: one daemon pod on every node the pod template fits.

Each sync claims the set's pods (adopting matching orphans, releasing mismatches) and its
ControllerRevisions, makes sure a revision holds the current template, then creates pods on
fitting nodes that have none and deletes pods on nodes that stopped fitting (plus failed
pods and extras). When that needs nothing, a RollingUpdate set replaces old pods at most
maxUnavailable nodes at a time; OnDelete waits for the user. Status is written last.
"""

from __future__ import annotations

import copy
import logging
from typing import Any

from kubelite.api import errors, labels
from kubelite.client import events, factory, informer, rest
from kubelite.controllers import controller, dependents, expectations, ownership
from kubelite.controllers.daemonset import (
    backoff,
    history,
    placement,
    plan,
    podwriter,
    revisions,
    rolling,
)

log = logging.getLogger(__name__)

Obj = dict[str, Any]


class DaemonSetController(controller.Controller):
    name = "daemonset-controller"

    def __init__(self, client: rest.Client, informers: factory.InformerFactory) -> None:
        super().__init__(client, informers)
        self.ds_rt = client.resource("apps/v1", "DaemonSet")
        self.pod_rt = client.resource("v1", "Pod")
        self.ds_informer = informers.informer("apps/v1", "DaemonSet")
        self.pod_informer = informers.informer("v1", "Pod", controller=informer.by_controller)
        self.node_informer = informers.informer("v1", "Node")
        self.cr_informer = informers.informer("apps/v1", "ControllerRevision",
                                              controller=informer.by_controller)
        self.expectations = expectations.Expectations()
        self.failed_backoff = backoff.Backoff()
        self.recorder = events.Recorder(client, self.name)
        self.pods = podwriter.PodWriter(client, self.recorder, self.expectations)
        self.revisions = revisions.RevisionWriter(client)
        self.ds_informer.add_handlers(self.enqueue_handlers())
        self.dependents = dependents.Dependents(
            "DaemonSet", self.queue, self.expectations,
            lambda ns: self.ds_informer.by_index("namespace", ns),
            lambda ds, found: _selector(ds).matches(found))
        self.pod_informer.add_handlers(self.dependents.handlers())
        self.node_informer.add_handlers(informer.Handlers(
            on_add=self._enqueue_all, on_update=self._node_updated, on_delete=self._enqueue_all))
        self.cr_informer.add_handlers(informer.Handlers(
            on_add=self._owned_changed, on_delete=self._owned_changed))

    # -- mapping events to daemon sets --------------------------------------------------------

    def _owned_changed(self, obj: Obj) -> None:
        key = self.dependents.owner_key(obj)
        if key is not None:
            self.queue.add(key)

    def _enqueue_all(self, _node: Obj) -> None:
        for ds in self.ds_informer.list():
            self.enqueue(ds)

    def _node_updated(self, old: Obj, new: Obj) -> None:
        """Only what decides fit matters: labels, taints, name (not heartbeats)."""
        if (old["metadata"].get("labels") != new["metadata"].get("labels")
                or old.get("spec") != new.get("spec")):
            self._enqueue_all(new)

    # -- reconcile ----------------------------------------------------------------------------

    async def sync(self, key: str) -> None:
        cached = self.ds_informer.get(key)
        if cached is None:
            self.expectations.forget(key)
            self.failed_backoff.forget(key)
            return
        ds = copy.deepcopy(cached)
        ds.setdefault("apiVersion", "apps/v1")
        ds.setdefault("kind", "DaemonSet")
        if _selector(ds).empty():
            self.recorder.event(ds, "Warning", "SelectingAll", "This daemon set is selecting "
                                "all pods. A non-empty selector is required.")
            return
        if ds["metadata"].get("deletionTimestamp"):
            return
        ds_pods = await self._claim(ds)
        current, old = await self.revisions.construct(ds, await self._claim_revisions(ds))
        hash_ = history.hash_of(ds) if current is None else \
            current["metadata"]["labels"][placement.HASH_LABEL]
        nodes = self.node_informer.list()
        if self.expectations.satisfied(key):
            await self._act(key, ds, nodes, plan.group_by_node(ds_pods), hash_)
            live = {(p["metadata"].get("labels") or {}).get(placement.HASH_LABEL, "")
                    for p in ds_pods}
            await self.revisions.delete(history.to_delete(ds, old, live))
        await self._write_status(ds, nodes, plan.group_by_node(ds_pods), hash_)

    async def _act(self, key: str, ds: Obj, nodes: list[Obj], node_pods: dict[str, list[Obj]],
                   hash_: str) -> None:
        now = events.now_datetime()
        acts = plan.manage(ds, nodes, node_pods, hash_=hash_, now=now)
        if not acts.create_on and not acts.delete and _is_rolling(ds):
            if plan.allows_surge(ds):
                acts.create_on, acts.delete = rolling.surge(ds, nodes, node_pods, hash_, now)
            else:
                acts.delete = rolling.deletions(ds, nodes, node_pods, hash_, now)
        for pod, node in acts.failed:
            wait = self.failed_backoff.wait(key, node)
            if wait:
                acts.delete = [p for p in acts.delete if p is not pod]
                self.queue.add_after(key, wait)
                continue
            self.recorder.event(ds, "Warning", "FailedDaemonPod",
                                f"Found failed daemon pod {pod['metadata']['namespace']}/"
                                f"{pod['metadata']['name']} on node {node}, will try to kill it")
        await self.pods.sync_nodes(key, ds, acts, hash_)

    async def _claim_revisions(self, ds: Obj) -> list[Obj]:
        """Owned revisions, plus orphans the selector matches (left by an orphaning delete)."""
        ns, uid, selector = ds["metadata"]["namespace"], ds["metadata"]["uid"], _selector(ds)
        out = [r for r in self.cr_informer.by_index("controller", uid)
               if r["metadata"].get("namespace") == ns]
        for rev in self.cr_informer.by_index("namespace", ns):
            if ownership.controller_ref(rev) is None and not rev["metadata"].get(
                    "deletionTimestamp") and selector.matches(rev["metadata"].get("labels") or {}):
                adopted = await ownership.adopt(self.client, self.revisions.rt, ds, rev)
                if adopted is not None:
                    out.append(adopted)
        return out

    async def _claim(self, ds: Obj) -> list[Obj]:
        """Owned pods that match, after adopting orphans and releasing mismatches."""
        selector = _selector(ds)
        return await ownership.claim(
            self.client, self.pod_rt, ds,
            self.pod_informer.by_index("namespace", ds["metadata"]["namespace"]),
            lambda pod: selector.matches(pod["metadata"].get("labels") or {}))

    async def _write_status(self, ds: Obj, nodes: list[Obj], node_pods: dict[str, list[Obj]],
                            hash_: str) -> None:
        status = plan.status(ds, nodes, node_pods, hash_, events.now_datetime())
        if status != (ds.get("status") or {}):
            updated = dict(ds)
            updated["status"] = status
            try:
                await self.client.update_status(self.ds_rt, updated)
            except errors.APIError as e:
                if not errors.is_not_found(e):
                    raise
        min_ready = int(ds["spec"].get("minReadySeconds") or 0)
        if min_ready and status.get("numberReady", 0) > status.get("numberAvailable", 0):
            self.queue.add_after(informer.key_of(ds), float(min_ready))


def _is_rolling(ds: Obj) -> bool:
    strategy = (ds.get("spec") or {}).get("updateStrategy") or {}
    return strategy.get("type", "RollingUpdate") == "RollingUpdate"


def _selector(ds: Obj) -> labels.Selector:
    try:
        return labels.from_label_selector((ds.get("spec") or {}).get("selector") or {})
    except errors.BadRequest:
        return labels.NOTHING
