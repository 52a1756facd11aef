"""In-use protection (upstream's pvc-protection and pv-protection controllers): the
finalizers admission puts on claims and volumes come off once the object is being
deleted and nothing uses it any more.

A claim is in use while a scheduled pod names it (a persistentVolumeClaim volume, or the
ephemeral volume it was made for, unless that pod was force-deleted or finished
shutting down). The informer's view is confirmed by a live list of the namespace's pods
before the finalizer goes, as upstream does: a pod the cache has not seen yet must not
lose its data. A volume is in use while it is Bound. Objects created without the
finalizer (before admission added it) get it.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from kubelite.api import claims, registry
from kubelite.client import factory, informer, rest
from kubelite.controllers import controller

log = logging.getLogger(__name__)

Obj = dict[str, Any]


def deleting_with(obj: Obj, finalizer: str) -> bool:
    meta = obj["metadata"]
    return bool(meta.get("deletionTimestamp")) and finalizer in (meta.get("finalizers") or [])


def lacks(obj: Obj, finalizer: str) -> bool:
    meta = obj["metadata"]
    return not meta.get("deletionTimestamp") and finalizer not in (meta.get("finalizers") or [])


def shut_down(pod: Obj) -> bool:
    """Force-deleted, or deleted by its kubelet once done: only waiting to be collected."""
    meta = pod["metadata"]
    return bool(meta.get("deletionTimestamp")) and meta.get("deletionGracePeriodSeconds") == 0


def uses(pod: Obj, claim: Obj) -> bool:
    """Whether the pod keeps the claim in use (see the module docstring)."""
    if not (pod.get("spec") or {}).get("nodeName"):
        return False
    name = claim["metadata"]["name"]
    for v in pod["spec"].get("volumes") or []:
        if (v.get("persistentVolumeClaim") or {}).get("claimName") == name:
            return True
        if v.get("ephemeral") and claims.ephemeral_claim_name(pod, v) == name \
                and not shut_down(pod) and claims.made_for(claim, pod):
            return True
    return False


async def protect(client: rest.Client, rt: registry.ResourceType, obj: Obj, finalizer: str,
                  in_use: Callable[[], Awaitable[bool]]) -> bool:
    """Lift `finalizer` from an object being deleted once nothing uses it, or put it on one
    that lacks it; whether it was lifted. Writes are guarded by the resourceVersion read."""
    finalizers = obj["metadata"].get("finalizers") or []
    if deleting_with(obj, finalizer):
        if await in_use():
            return False
        await _set_finalizers(client, rt, obj, [f for f in finalizers if f != finalizer])
        return True
    if lacks(obj, finalizer):
        await _set_finalizers(client, rt, obj, [*finalizers, finalizer])
    return False


async def _set_finalizers(client: rest.Client, rt: registry.ResourceType, obj: Obj,
                         finalizers: list[str]) -> None:
    """Write the finalizer list, guarded by the resourceVersion it was read at."""
    meta = obj["metadata"]
    await client.patch(rt, meta["name"], {"metadata": {
        "finalizers": finalizers or None, "resourceVersion": meta["resourceVersion"]}},
        namespace=meta.get("namespace", ""))


class ClaimProtectionController(controller.Controller):
    name = "pvc-protection-controller"

    def __init__(self, client: rest.Client, informers: factory.InformerFactory) -> None:
        super().__init__(client, informers)
        self.claim_rt = client.resource("v1", "PersistentVolumeClaim")
        self.pod_rt = client.resource("v1", "Pod")
        self.claims = informers.informer("v1", "PersistentVolumeClaim")
        self.pods = informers.informer("v1", "Pod", claims=claims.pod_claims)
        self.claims.add_handlers(informer.Handlers(
            on_add=self._claim_changed, on_update=lambda old, new: self._claim_changed(new)))
        self.pods.add_handlers(informer.Handlers(
            on_add=self._pod_changed, on_update=lambda old, new: self._pod_changed(new),
            on_delete=self._pod_deleted))

    def _claim_changed(self, claim: Obj) -> None:
        if deleting_with(claim, claims.PVC_PROTECTION) or \
                lacks(claim, claims.PVC_PROTECTION):
            self.enqueue(claim)

    def _pod_changed(self, pod: Obj) -> None:
        phase = (pod.get("status") or {}).get("phase")
        if phase in ("Succeeded", "Failed") or not (pod.get("spec") or {}).get("nodeName") \
                or shut_down(pod):
            self._pod_deleted(pod)

    def _pod_deleted(self, pod: Obj) -> None:
        for key in claims.pod_claims(pod):
            self.queue.add(key)

    async def sync(self, key: str) -> None:
        claim = self.claims.get(key)
        if claim is None:
            return
        if await protect(self.client, self.claim_rt, claim, claims.PVC_PROTECTION,
                         lambda: self._in_use(claim)):
            log.info("claim unused, protection removed claim=%s", key)

    async def _in_use(self, claim: Obj) -> bool:
        key = informer.key_of(claim)
        if any(uses(p, claim) for p in self.pods.by_index("claims", key)):
            return True
        live = await self.client.list(self.pod_rt, claim["metadata"]["namespace"])
        return any(uses(p, claim) for p in live.get("items") or [])


class VolumeProtectionController(controller.Controller):
    name = "pv-protection-controller"

    def __init__(self, client: rest.Client, informers: factory.InformerFactory) -> None:
        super().__init__(client, informers)
        self.pv_rt = client.resource("v1", "PersistentVolume")
        self.volumes = informers.informer("v1", "PersistentVolume")
        self.volumes.add_handlers(informer.Handlers(
            on_add=self._changed, on_update=lambda old, new: self._changed(new)))

    def _changed(self, pv: Obj) -> None:
        if deleting_with(pv, claims.PV_PROTECTION) or lacks(pv, claims.PV_PROTECTION):
            self.enqueue(pv)

    async def sync(self, key: str) -> None:
        pv = self.volumes.get(key)
        if pv is None:
            return
        await protect(self.client, self.pv_rt, pv, claims.PV_PROTECTION, lambda: _bound(pv))


async def _bound(pv: Obj) -> bool:
    """A volume is in use while it is Bound."""
    return (pv.get("status") or {}).get("phase") == "Bound"
