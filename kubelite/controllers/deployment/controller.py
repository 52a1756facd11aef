"""The Deployment controller: rolls a deployment's pods from one template to the next
through ReplicaSets, one per template (named by its pod-template-hash).

Each sync claims the deployment's sets (adopting matching orphans, releasing sets that
stopped matching), then: a deployment being deleted only has its status refreshed; a
paused one, or one whose size changed, is scaled (proportionally across sets mid-rollout);
otherwise the strategy (RollingUpdate or Recreate) takes the next step. Status is written
last. Reads come from the informer caches; writes go through the client.
"""

from __future__ import annotations

import copy
import logging
from typing import Any

from kubelite.api import errors, labels
from kubelite.client import events, factory, informer, rest
from kubelite.controllers import controller, ownership
from kubelite.controllers.deployment import (
    fenceposts,
    newrs,
    progress,
    recreate,
    replicasets,
    revisions,
    rolling,
    scaling,
)
from kubelite.controllers.deployment import status as st
from kubelite.controllers.deployment import writer as writer_mod

log = logging.getLogger(__name__)

Obj = dict[str, Any]


class DeploymentController(controller.Controller):
    name = "deployment-controller"

    def __init__(self, client: rest.Client, informers: factory.InformerFactory) -> None:
        super().__init__(client, informers)
        self.rs_rt = client.resource("apps/v1", "ReplicaSet")
        self.d_informer = informers.informer("apps/v1", "Deployment")
        self.rs_informer = informers.informer("apps/v1", "ReplicaSet",
                                              controller=informer.by_controller)
        self.pod_informer = informers.informer("v1", "Pod", controller=informer.by_controller)
        self.recorder = events.Recorder(client, self.name)
        self.writer = writer_mod.Writer(client, self.recorder)
        self.d_informer.add_handlers(self.enqueue_handlers())
        self.rs_informer.add_handlers(informer.Handlers(
            on_add=self._rs_added, on_update=self._rs_updated, on_delete=self._rs_deleted))
        self.pod_informer.add_handlers(informer.Handlers(on_delete=self._pod_deleted))

    # -- mapping ReplicaSet and Pod events to deployments -----------------------------------

    def _owner_key(self, rs: Obj) -> str | None:
        """The key of the deployment controlling `rs`, if it is (still) that deployment."""
        ref = ownership.controller_ref(rs)
        if ref is None or ref.get("kind") != "Deployment":
            return None
        key = f"{rs['metadata']['namespace']}/{ref['name']}"
        d = self.d_informer.get(key)
        return key if d is not None and d["metadata"].get("uid") == ref.get("uid") else None

    def _enqueue_matching(self, rs: Obj) -> None:
        """An orphan set: every deployment whose selector matches may adopt it."""
        rs_labels = rs["metadata"].get("labels") or {}
        for d in self.d_informer.by_index("namespace", rs["metadata"]["namespace"]):
            if _selector(d).matches(rs_labels):
                self.enqueue(d)

    def _rs_added(self, rs: Obj) -> None:
        key = self._owner_key(rs)
        if key is not None:
            self.queue.add(key)
        elif ownership.controller_ref(rs) is None and not rs["metadata"].get("deletionTimestamp"):
            self._enqueue_matching(rs)

    def _rs_updated(self, old: Obj, new: Obj) -> None:
        if old["metadata"].get("resourceVersion") == new["metadata"].get("resourceVersion"):
            return
        old_key, new_key = self._owner_key(old), self._owner_key(new)
        if old_key and old_key != new_key:
            self.queue.add(old_key)
        if new_key:
            self.queue.add(new_key)
        elif ownership.controller_ref(new) is None and (
                old["metadata"].get("labels") != new["metadata"].get("labels")
                or ownership.controller_ref(old) is not None):
            self._enqueue_matching(new)

    def _rs_deleted(self, rs: Obj) -> None:
        key = self._owner_key(rs)
        if key is not None:
            self.queue.add(key)

    def _pod_deleted(self, pod: Obj) -> None:
        """Recreate waits for old pods to be gone: a deletion may unblock it."""
        ref = ownership.controller_ref(pod)
        if ref is None or ref.get("kind") != "ReplicaSet":
            return
        rs = self.rs_informer.get(f"{pod['metadata']['namespace']}/{ref['name']}")
        key = self._owner_key(rs) if rs is not None else None
        d = self.d_informer.get(key) if key else None
        if d is not None and not fenceposts.is_rolling(d):
            self.queue.add(key)  # type: ignore[arg-type]

    # -- reconcile --------------------------------------------------------------------------

    async def sync(self, key: str) -> None:
        cached = self.d_informer.get(key)
        if cached is None:
            return
        d = copy.deepcopy(cached)
        d.setdefault("apiVersion", "apps/v1")
        d.setdefault("kind", "Deployment")
        if _selector(d).empty():
            await self._selecting_all(d)
            return
        rs_list = await self._claim(d)
        if d["metadata"].get("deletionTimestamp"):
            new_rs, old = await newrs.get_all(self.writer, d, rs_list, create=False)
            await self.writer.write_status(d, st.calculate([*old, new_rs], new_rs, d))
            return
        await self._check_paused(d)
        if (d.get("spec") or {}).get("paused") or await self._is_scaling_event(d, rs_list):
            await self._scale_only(d, rs_list)
        elif fenceposts.is_rolling(d):
            await self._rollout_rolling(d, rs_list)
        else:
            await self._rollout_recreate(d, rs_list)

    async def _selecting_all(self, d: Obj) -> None:
        self.recorder.event(d, "Warning", "SelectingAll", "This deployment is selecting all "
                            "pods. A non-empty selector is required.")
        status = dict(d.get("status") or {})
        if int(status.get("observedGeneration") or 0) < int(d["metadata"].get("generation") or 0):
            status["observedGeneration"] = d["metadata"]["generation"]
            await self.writer.write_status(d, status)

    async def _claim(self, d: Obj) -> list[Obj]:
        """The deployment's sets, after adopting matching orphans and releasing mismatches."""
        selector, uid = _selector(d), d["metadata"]["uid"]
        deleting = bool(d["metadata"].get("deletionTimestamp"))
        out = []
        for rs in self.rs_informer.by_index("controller", uid):
            if rs["metadata"].get("namespace") != d["metadata"]["namespace"]:
                continue
            if selector.matches(rs["metadata"].get("labels") or {}):
                out.append(rs)
            elif not deleting:
                await ownership.release(self.client, self.rs_rt, d, rs)
        if deleting:
            return out
        for rs in self.rs_informer.by_index("namespace", d["metadata"]["namespace"]):
            if ownership.controller_ref(rs) is None and not rs["metadata"].get(
                    "deletionTimestamp") and selector.matches(rs["metadata"].get("labels") or {}):
                adopted = await ownership.adopt(self.client, self.rs_rt, d, rs)
                if adopted is not None:
                    out.append(adopted)
        return out

    async def _check_paused(self, d: Obj) -> None:
        """Record pausing and resuming, so paused time never counts toward the deadline."""
        if not st.has_deadline(d):
            return
        cond = st.get_condition(d.get("status"), st.PROGRESSING)
        if cond is not None and cond.get("reason") == st.TIMED_OUT:
            return
        paused = bool(d["spec"].get("paused"))
        paused_recorded = cond is not None and cond.get("reason") == st.PAUSED
        if paused == paused_recorded:
            return
        status = copy.deepcopy(d.get("status") or {})
        if paused:
            st.set_condition(status, st.new_condition(st.PROGRESSING, "Unknown", st.PAUSED,
                                                      "Deployment is paused"))
        else:
            st.set_condition(status, st.new_condition(st.PROGRESSING, "Unknown", st.RESUMED,
                                                      "Deployment is resumed"))
        await self.writer.write_status(d, status)

    async def _is_scaling_event(self, d: Obj, rs_list: list[Obj]) -> bool:
        """An active set was sized for a different spec.replicas than the deployment's now."""
        new_rs, old = await newrs.get_all(self.writer, d, rs_list, create=False)
        for rs in replicasets.active([*old, new_rs]):
            desired = replicasets.annotation_int(rs, replicasets.DESIRED)
            if desired is not None and desired != fenceposts.replicas(d):
                return True
        return False

    async def _scale_only(self, d: Obj, rs_list: list[Obj]) -> None:
        """Paused or resized: change sizes, never templates."""
        new_rs, old = await newrs.get_all(self.writer, d, rs_list, create=False)
        new_rs, old = await self._scale(d, new_rs, old)
        if d["spec"].get("paused"):
            await self._cleanup(d, old)
        await self.writer.write_status(d, st.calculate([*old, new_rs], new_rs, d))

    async def _scale(self, d: Obj, new_rs: Obj | None,
                     old: list[Obj]) -> tuple[Obj | None, list[Obj]]:
        """Scale to spec.replicas: the only active set takes all, else share proportionally."""
        desired = fenceposts.replicas(d)
        only = replicasets.find_active_or_latest(new_rs, old)
        if only is not None:
            if replicasets.spec_replicas(only) == desired:
                return new_rs, old
            _, updated = await self.writer.scale_if_needed(only, desired, d)
            return _swap(new_rs, old, updated)
        if replicasets.is_saturated(d, new_rs, desired):
            for rs in replicasets.active(old):
                _, updated = await self.writer.scale_if_needed(rs, 0, d)
                new_rs, old = _swap(new_rs, old, updated)
            return new_rs, old
        if fenceposts.is_rolling(d):
            plan, direction = scaling.proportional(d, new_rs, old)
            for rs, size in plan:
                _, updated = await self.writer.scale(rs, size, d, direction)
                new_rs, old = _swap(new_rs, old, updated)
        return new_rs, old

    async def _rollout_rolling(self, d: Obj, rs_list: list[Obj]) -> None:
        new_rs, old = await newrs.get_all(self.writer, d, rs_list, create=True)
        assert new_rs is not None
        target = rolling.new_rs_target(d, [*old, new_rs], new_rs)
        if target is not None:
            scaled, new_rs = await self.writer.scale_if_needed(new_rs, target, d)
            if scaled:
                await self._sync_rollout_status(d, new_rs, old)
                return
        any_scaled = False
        for rs, size in rolling.old_rs_targets(d, [*old, new_rs], replicasets.active(old), new_rs):
            scaled, updated = await self.writer.scale_if_needed(rs, size, d)
            any_scaled = any_scaled or scaled
            new_rs, old = _swap(new_rs, old, updated)
        if not any_scaled and st.is_complete(d, d.get("status") or {}):
            await self._cleanup(d, old)
        await self._sync_rollout_status(d, new_rs, old)

    async def _rollout_recreate(self, d: Obj, rs_list: list[Obj]) -> None:
        new_rs, old = await newrs.get_all(self.writer, d, rs_list, create=False)
        any_scaled = False
        for rs in replicasets.active(old):
            scaled, updated = await self.writer.scale_if_needed(rs, 0, d)
            any_scaled = any_scaled or scaled
            new_rs, old = _swap(new_rs, old, updated)
        pods_by_rs = {rs["metadata"]["uid"]: self.pod_informer.by_index(
            "controller", rs["metadata"]["uid"]) for rs in rs_list}
        if any_scaled or recreate.old_pods_running(new_rs, old, pods_by_rs):
            await self._sync_rollout_status(d, new_rs, old)
            return
        if new_rs is None:
            new_rs, old = await newrs.get_all(self.writer, d, rs_list, create=True)
            assert new_rs is not None
        _, new_rs = await self.writer.scale_if_needed(new_rs, fenceposts.replicas(d), d)
        if st.is_complete(d, d.get("status") or {}):
            await self._cleanup(d, old)
        await self._sync_rollout_status(d, new_rs, old)

    async def _cleanup(self, d: Obj, old: list[Obj]) -> None:
        """Delete old sets beyond revisionHistoryLimit (only ones that run nothing)."""
        for rs in revisions.history_to_delete(d, old):
            log.info("deleting old replicaset deployment=%s replicaset=%s",
                     d["metadata"]["name"], rs["metadata"]["name"])
            await self.writer.delete_rs(rs)

    async def _sync_rollout_status(self, d: Obj, new_rs: Obj | None, old: list[Obj]) -> None:
        now = events.now_datetime()
        status = progress.rollout_status([*old, new_rs], new_rs, d, now)
        if await self.writer.write_status(d, status):
            return
        after = progress.recheck_after(d, status, now)
        if after is not None:
            self.queue.add_after(informer.key_of(d), after)


def _selector(d: Obj) -> labels.Selector:
    try:
        return labels.from_label_selector((d.get("spec") or {}).get("selector") or {})
    except errors.BadRequest:
        return labels.NOTHING


def _swap(new_rs: Obj | None, old: list[Obj], updated: Obj) -> tuple[Obj | None, list[Obj]]:
    """Put the server's copy of a just-written set in place of the cached one."""
    uid = updated["metadata"].get("uid")
    if new_rs is not None and new_rs["metadata"].get("uid") == uid:
        return updated, old
    return new_rs, [updated if rs["metadata"].get("uid") == uid else rs for rs in old]
