"""The garbage collector controller.

Monitors feed the ownership graph; the graph names objects to look at; workers decide
against the live objects (never the possibly stale cache) and act through the API:
- "delete:<uid>": delete the object when every owner is gone (Background unless its own
  finalizers say otherwise), or in the foreground when its owners wait for it and it has
  dependents; for an owner deleting in the foreground, remove the foregroundDeletion
  finalizer once no dependent with blockOwnerDeletion=true is left.
- "orphan:<uid>": drop references to the owner from every dependent, then remove the
  owner's orphan finalizer.
Queue keys are "<action>:<uid>"; the work queue never runs one key twice at once.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from kubelite.api import errors, registry
from kubelite.client import events, factory, informer, rest
from kubelite.controllers import controller
from kubelite.controllers.gc import decide, graph, monitors

log = logging.getLogger(__name__)

Obj = dict[str, Any]
DISCOVERY_PERIOD = 30.0
SYNC_TIMEOUT = 30.0
ABSENT_CACHE = 4096


class GarbageCollector(controller.Controller):
    name = "garbage-collector"

    def __init__(self, client: rest.Client, informers: factory.InformerFactory, *,
                 discovery_period: float = DISCOVERY_PERIOD) -> None:
        super().__init__(client, informers)
        self.discovery_period = discovery_period
        self.graph = graph.Graph()
        self.monitors = monitors.Monitors(client, informer.Handlers(
            on_add=self._added, on_update=self._updated, on_delete=self._deleted))
        self.recorder = events.Recorder(client, self.name)
        self._absent: dict[tuple[str, str], None] = {}

    # -- graph events ---------------------------------------------------------------------

    def _enqueue_items(self, items: list[graph.Item]) -> None:
        for action, uid in items:
            self.queue.add(f"{action}:{uid}")

    def _added(self, obj: Obj) -> None:
        self._watch_definitions(obj)
        self._enqueue_items(self.graph.observe(obj))

    def _watch_definitions(self, obj: Obj) -> None:
        """A new or changed CRD may serve a new type to monitor: re-read discovery."""
        if obj.get("kind") == "CustomResourceDefinition" and \
                monitors.group_of(obj.get("apiVersion", "")) == "apiextensions.k8s.io":
            self.monitors.request_refresh()

    def _updated(self, old: Obj, new: Obj) -> None:
        self._watch_definitions(new)
        if old["metadata"].get("uid") != new["metadata"].get("uid"):
            self._enqueue_items(self.graph.forget(old))
        elif old["metadata"].get("resourceVersion") == new["metadata"].get("resourceVersion"):
            return
        self._enqueue_items(self.graph.observe(new))

    def _deleted(self, obj: Obj) -> None:
        self._watch_definitions(obj)
        self._enqueue_items(self.graph.forget(obj))

    # -- running ----------------------------------------------------------------------------

    async def run(self, workers: int = 2) -> None:
        await self._first_discovery()
        if not await self.monitors.wait_synced(SYNC_TIMEOUT):
            log.warning("garbage collector starting before every monitor synced")
        async with asyncio.TaskGroup() as tg:
            monitor_task = tg.create_task(self.monitors.run(self.discovery_period))
            await super().run(workers)
            monitor_task.cancel()

    async def _first_discovery(self) -> None:
        backoff = 0.2
        while True:
            try:
                await self.monitors.refresh()
                return
            except errors.APIError as e:
                log.warning("garbage collector discovery failed error=%s", e)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)

    async def sync(self, key: str) -> None:
        action, _, uid = key.partition(":")
        node = self.graph.nodes.get(uid)
        if node is None:
            return
        rt = self.monitors.resource_for(node.api_version, node.kind)
        if rt is None:
            return
        obj = await self._get(rt, node.namespace, node.name)
        if obj is None or obj["metadata"].get("uid") != uid:
            return
        if action == graph.ORPHAN_ACTION:
            await self._orphan(rt, obj)
        else:
            await self._attempt_delete(rt, obj)

    async def _get(self, rt: registry.ResourceType, namespace: str, name: str) -> Obj | None:
        try:
            return await self.client.get(rt, name, namespace if rt.namespaced else "")
        except errors.APIError as e:
            if errors.is_not_found(e):
                return None
            raise

    # -- deleting ---------------------------------------------------------------------------

    async def _attempt_delete(self, rt: registry.ResourceType, obj: Obj) -> None:
        meta = obj["metadata"]
        if meta.get("deletionTimestamp"):
            if graph.FOREGROUND in (meta.get("finalizers") or ()):
                await self._finish_foreground(rt, obj)
            return
        refs = list(meta.get("ownerReferences") or ())
        if not refs:
            return
        owners = await self._classify(obj, refs)
        uid = meta["uid"]
        p = decide.plan(obj, owners, has_dependents=self.graph.has_dependents(uid),
                        dependent_deletes_dependents=any(
                            d.deleting_dependents for d in self.graph.dependents(uid)))
        if p.patches:
            await self._patch_refs(rt, obj, decide.patched_refs(refs, p))
        if p.delete_policy:
            log.debug("deleting object kind=%s namespace=%s name=%s propagation=%s", obj["kind"],
                     meta.get("namespace", ""), meta["name"], p.delete_policy)
            await self._delete(rt, obj, p.delete_policy)

    async def _classify(self, obj: Obj, refs: list[Obj]) -> decide.Owners:
        owners = decide.Owners()
        for ref in refs:
            state = await self._owner_state(obj, ref)
            getattr(owners, state).append(ref)
        return owners

    async def _owner_state(self, obj: Obj, ref: Obj) -> str:
        namespace = obj["metadata"].get("namespace") or ""
        known = self.graph.nodes.get(ref.get("uid", ""))
        if known is not None and not known.deleting_dependents and known.namespace in (
                "", namespace):
            return "solid"
        rt = await self.monitors.resolve(ref.get("apiVersion", ""), ref.get("kind", ""))
        if rt.namespaced and not namespace:
            # A cluster-scoped object cannot be owned by a namespaced one: the reference
            # is unresolvable, and the object is never collected because of it.
            self.recorder.event(obj, "Warning", "OwnerRefInvalidNamespace",
                                f"ownerRef [{ref.get('apiVersion')}/{ref.get('kind')}, namespace: "
                                f", name: {ref.get('name')}, uid: {ref.get('uid')}] does not "
                                f"exist in namespace \"\"")
            return "solid"
        cache_key = (namespace if rt.namespaced else "", ref.get("uid", ""))
        if cache_key in self._absent:
            return "dangling"
        owner = await self._get(rt, namespace, ref.get("name", ""))
        state = decide.classify_owner(ref, owner)
        if state == "dangling":
            self._absent[cache_key] = None
            if len(self._absent) > ABSENT_CACHE:
                self._absent.pop(next(iter(self._absent)))
        return state

    async def _delete(self, rt: registry.ResourceType, obj: Obj, policy: str) -> None:
        meta = obj["metadata"]
        try:
            await self.client.delete(rt, meta["name"], meta.get("namespace", ""),
                                     propagation=policy, uid=meta["uid"])
        except errors.APIError as e:
            # Gone already, or replaced by a new object of the same name: nothing to do.
            if not (errors.is_not_found(e) or errors.is_conflict(e)):
                raise

    async def _patch_refs(self, rt: registry.ResourceType, obj: Obj, refs: list[Obj]) -> None:
        meta = obj["metadata"]
        patch = {"metadata": {"ownerReferences": refs or None, "uid": meta["uid"],
                              "resourceVersion": meta["resourceVersion"]}}
        await self._patch(rt, obj, patch)

    async def _patch(self, rt: registry.ResourceType, obj: Obj, patch: Obj) -> None:
        meta = obj["metadata"]
        try:
            await self.client.patch(rt, meta["name"], patch, namespace=meta.get("namespace", ""))
        except errors.APIError as e:
            if not errors.is_not_found(e):
                raise

    async def _remove_finalizer(self, rt: registry.ResourceType, obj: Obj, name: str) -> None:
        meta = obj["metadata"]
        left = [f for f in meta.get("finalizers") or () if f != name]
        await self._patch(rt, obj, {"metadata": {"finalizers": left or None, "uid": meta["uid"],
                                                 "resourceVersion": meta["resourceVersion"]}})

    async def _finish_foreground(self, rt: registry.ResourceType, obj: Obj) -> None:
        """An owner deleting in the foreground goes once no blocking dependent is left."""
        uid = obj["metadata"]["uid"]
        blocking = self.graph.blocking_dependents(uid)
        if not blocking:
            log.debug("foreground deletion done kind=%s namespace=%s name=%s", obj["kind"],
                     obj["metadata"].get("namespace", ""), obj["metadata"]["name"])
            await self._remove_finalizer(rt, obj, graph.FOREGROUND)
            return
        for dep in blocking:
            if not dep.deleting:
                self.queue.add(f"{graph.DELETE}:{dep.uid}")

    # -- orphaning --------------------------------------------------------------------------

    async def _orphan(self, rt: registry.ResourceType, obj: Obj) -> None:
        meta = obj["metadata"]
        if not meta.get("deletionTimestamp") or graph.ORPHAN not in (meta.get("finalizers") or ()):
            return
        uid = meta["uid"]
        await asyncio.gather(*(self._release(dep, uid) for dep in self.graph.dependents(uid)))
        await self._remove_finalizer(rt, obj, graph.ORPHAN)

    async def _release(self, dep: graph.Node, owner_uid: str) -> None:
        rt = self.monitors.resource_for(dep.api_version, dep.kind)
        if rt is None:
            return
        live = await self._get(rt, dep.namespace, dep.name)
        if live is None or live["metadata"].get("uid") != dep.uid:
            return
        refs = list(live["metadata"].get("ownerReferences") or ())
        kept = [r for r in refs if r.get("uid") != owner_uid]
        if len(kept) != len(refs):
            await self._patch_refs(rt, live, kept)
