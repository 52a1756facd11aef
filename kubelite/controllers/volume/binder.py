"""The PersistentVolume binder (kube-controller-manager's persistentvolume-controller).

Keys are claims (`namespace/name`) and volumes (`name`; a volume name has no slash).
A claim sync binds an unbound claim to the best matching volume (or to the volume it or
a volume's claimRef names) and keeps claim phases: Pending, Bound, Lost. A volume sync
keeps volume phases (Available, Bound, Released, Failed) and reclaims a volume whose claim
is gone: Retain keeps it Released; Delete deletes it unless a provisioner created it (then
its provisioner's side deletes it); Recycle fails. Claims of a WaitForFirstConsumer class
are never given a free volume here: only a volume that already names them is bound.

One worker, as upstream runs one per queue: with writes read back through the overlay
(assumed.py) no sync acts on a copy older than its own last write.
"""

from __future__ import annotations

import logging
from typing import Any

from kubelite.api import claims as api_claims
from kubelite.api import errors
from kubelite.client import events, factory, informer, rest
from kubelite.controllers import controller
from kubelite.controllers.volume import assumed, binding

log = logging.getLogger(__name__)

Obj = dict[str, Any]

WAIT_FOR_FIRST_CONSUMER = "WaitForFirstConsumer"
NO_CLASS = "no persistent volumes available for this claim and no storage class is set"
WAITING = "waiting for first consumer to be created before binding"


def _claim_key(ref: Obj | None) -> str:
    return f"{ref.get('namespace', '')}/{ref.get('name', '')}" if ref else ""


def by_claim(pv: Obj) -> list[str]:
    """Index volumes by the claim their claimRef names."""
    key = _claim_key((pv.get("spec") or {}).get("claimRef"))
    return [key] if key else []


def _rv_changed(old: Obj, new: Obj) -> bool:
    return bool(old["metadata"].get("resourceVersion") != new["metadata"].get("resourceVersion"))


def _bind_completed(claim: Obj) -> bool:
    return binding.BIND_COMPLETED in (claim["metadata"].get("annotations") or {})


class PersistentVolumeBinder(controller.Controller):
    name = "persistentvolume-binder-controller"

    def __init__(self, client: rest.Client, informers: factory.InformerFactory) -> None:
        super().__init__(client, informers)
        self.pv_rt = client.resource("v1", "PersistentVolume")
        self.pvc_rt = client.resource("v1", "PersistentVolumeClaim")
        self.pv_informer = informers.informer("v1", "PersistentVolume", claim=by_claim)
        self.pvc_informer = informers.informer("v1", "PersistentVolumeClaim")
        self.sc_informer = informers.informer("storage.k8s.io/v1", "StorageClass")
        self.volumes = assumed.Assumed(self.pv_informer)
        self.claims = assumed.Assumed(self.pvc_informer)
        self.recorder = events.Recorder(client, "persistentvolume-controller")
        self._noted: dict[str, tuple[str, str, str]] = {}
        self.pv_informer.add_handlers(informer.Handlers(
            on_add=self._volume_changed, on_update=self._volume_updated,
            on_delete=self._volume_deleted))
        self.pvc_informer.add_handlers(informer.Handlers(
            on_add=self.enqueue, on_update=self._claim_updated, on_delete=self._claim_deleted))
        self.sc_informer.add_handlers(informer.Handlers(
            on_add=lambda sc: self._enqueue_unbound(),
            on_update=lambda old, new: self._enqueue_unbound()))

    async def run(self, workers: int = 1) -> None:
        await super().run(1)

    # -- handlers: keys only -------------------------------------------------------------

    def _enqueue_unbound(self) -> None:
        for claim in self.pvc_informer.list():
            if not _bind_completed(claim):
                self.enqueue(claim)

    def _volume_changed(self, pv: Obj) -> None:
        self.enqueue(pv)
        ref = (pv.get("spec") or {}).get("claimRef")
        if ref:
            self.queue.add(_claim_key(ref))
        if not ref or (pv.get("status") or {}).get("phase") == "Available":
            self._enqueue_unbound()  # a free volume: a waiting claim may take it now

    def _volume_updated(self, old: Obj, new: Obj) -> None:
        if _rv_changed(old, new):
            self._volume_changed(new)

    def _volume_deleted(self, pv: Obj) -> None:
        ref = (pv.get("spec") or {}).get("claimRef")
        if ref:
            self.queue.add(_claim_key(ref))

    def _claim_updated(self, old: Obj, new: Obj) -> None:
        if old["metadata"].get("uid") != new["metadata"].get("uid"):
            self._claim_deleted(old)  # replaced between two looks: the old one is gone
        if _rv_changed(old, new):
            self.enqueue(new)

    def _claim_deleted(self, claim: Obj) -> None:
        key = informer.key_of(claim)
        self._noted.pop(claim["metadata"].get("uid", ""), None)
        for pv in self.pv_informer.by_index("claim", key):
            self.enqueue(pv)
        name = (claim.get("spec") or {}).get("volumeName")
        if name:
            self.queue.add(name)

    # -- sync ----------------------------------------------------------------------------

    async def sync(self, key: str) -> None:
        if "/" not in key:
            pv = self.volumes.get(key)
            if pv is not None:
                # a volume being deleted still moves on (Bound -> Released): its in-use
                # protection lets go only once it is no longer Bound
                await self.sync_volume(pv)
            return
        claim = self.claims.get(key)
        if claim is None:
            return
        if _bind_completed(claim):
            await self.sync_bound_claim(claim)
        else:
            await self.sync_unbound_claim(claim)

    async def sync_unbound_claim(self, claim: Obj) -> None:
        name = (claim.get("spec") or {}).get("volumeName")
        if not name:
            await self._bind_best(claim)
            return
        pv = self.volumes.get(name)
        if pv is None:
            await self._set_claim_phase(claim, "Pending")  # the user's volume may come yet
        elif not (pv.get("spec") or {}).get("claimRef"):
            problem = api_claims.mismatch(pv, claim)
            if problem:
                self._note(claim, "Warning", "VolumeMismatch",
                           f"Cannot bind to requested volume {name!r}: {problem}")
                await self._set_claim_phase(claim, "Pending")
            else:
                await self._bind(pv, claim)
        elif api_claims.is_bound_to(pv, claim):
            await self._bind(pv, claim)
        else:
            self._note(claim, "Warning", "FailedBinding",
                       f"volume {name!r} already bound to a different claim.")
            await self._set_claim_phase(claim, "Pending")

    async def _bind_best(self, claim: Obj) -> None:
        cls_name = api_claims.claim_class(claim)
        cls = self.sc_informer.get(cls_name) if cls_name else None
        delay = (cls or {}).get("volumeBindingMode") == WAIT_FOR_FIRST_CONSUMER
        pv = api_claims.find_best_match(claim, self.volumes.list(), delay_binding=delay)
        if pv is not None:
            await self._bind(pv, claim)
            return
        notes = claim["metadata"].get("annotations") or {}
        if delay and binding.SELECTED_NODE not in notes:
            self._note(claim, "Normal", WAIT_FOR_FIRST_CONSUMER, WAITING)
        elif cls_name and cls is None:
            self._note(claim, "Warning", "ProvisioningFailed",
                       f'storageclass.storage.k8s.io "{cls_name}" not found')
        elif not cls_name:
            self._note(claim, "Normal", "FailedBinding", NO_CLASS)
        await self._set_claim_phase(claim, "Pending")

    async def sync_bound_claim(self, claim: Obj) -> None:
        name = (claim.get("spec") or {}).get("volumeName")
        pv = self.volumes.get(name) if name else None
        ref = ((pv or {}).get("spec") or {}).get("claimRef")
        if not name:
            await self._lose(claim, "ClaimLost", "Bound claim has lost reference to "
                             "PersistentVolume. Data on the volume is lost!")
        elif pv is None:
            await self._lose(claim, "ClaimLost", "Bound claim has lost its PersistentVolume. "
                             "Data on the volume is lost!")
        elif not ref or ref.get("uid") == claim["metadata"].get("uid"):
            await self._bind(pv, claim)
        else:
            await self._lose(claim, "ClaimMisbound", "Two claims are bound to the same volume, "
                             "this one is bound incorrectly")

    async def sync_volume(self, pv: Obj) -> None:
        ref = (pv.get("spec") or {}).get("claimRef")
        if not ref or not ref.get("uid"):
            await self._set_volume_phase(pv, "Available")  # free, or pre-bound by a user
            return
        claim = await self._claim_of(pv, ref)
        volume_name = ((claim or {}).get("spec") or {}).get("volumeName")
        if claim is None:
            await self._release(pv)
        elif not volume_name:
            self.queue.add(_claim_key(ref))  # the claim's sync completes the binding
        elif volume_name == pv["metadata"]["name"]:
            await self._set_volume_phase(pv, "Bound")
        elif _provisioned(pv) and _policy(pv) == "Delete":
            await self._release(pv)  # made for a claim that went elsewhere
        else:
            unbound = binding.unbound_volume(pv)
            if unbound is not None:
                pv = self.volumes.assume(await self.client.update(self.pv_rt, unbound))
            await self._set_volume_phase(pv, "Available")

    async def _claim_of(self, pv: Obj, ref: Obj) -> Obj | None:
        """The claim the volume is bound to: the cache, or the server before a volume is
        first declared Released (a claim can be newer than the cache)."""
        claim = self.claims.get(_claim_key(ref))
        if claim is None and (pv.get("status") or {}).get("phase") not in ("Released", "Failed"):
            try:
                claim = await self.client.get(self.pvc_rt, ref.get("name", ""),
                                              ref.get("namespace", ""))
            except errors.APIError as e:
                if not errors.is_not_found(e):
                    raise
        if claim is not None and claim["metadata"].get("uid") != ref.get("uid"):
            return None
        return claim

    # -- writes --------------------------------------------------------------------------

    async def _bind(self, pv: Obj, claim: Obj) -> None:
        """Volume first (claimRef, then phase), claim second (volumeName, then status):
        a crash in between leaves a state the next sync finishes."""
        new = binding.bound_volume(pv, claim)
        if new is not None:
            pv = self.volumes.assume(await self.client.update(self.pv_rt, new))
        pv = await self._set_volume_phase(pv, "Bound")
        new = binding.bound_claim(claim, pv)
        if new is not None:
            claim = self.claims.assume(await self.client.update(self.pvc_rt, new))
        status = binding.claim_status(claim, "Bound", pv)
        if status is not None:
            self.claims.assume(await self.client.update_status(self.pvc_rt, status))
            log.info("claim bound claim=%s volume=%s", informer.key_of(claim),
                     pv["metadata"]["name"])

    async def _set_claim_phase(self, claim: Obj, phase: str) -> Obj:
        status = binding.claim_status(claim, phase, None)
        if status is None:
            return claim
        return self.claims.assume(await self.client.update_status(self.pvc_rt, status))

    async def _lose(self, claim: Obj, reason: str, message: str) -> None:
        if (claim.get("status") or {}).get("phase") == "Lost":
            return
        claim = await self._set_claim_phase(claim, "Lost")
        self.recorder.event(claim, "Warning", reason, message)

    async def _set_volume_phase(self, pv: Obj, phase: str, message: str = "") -> Obj:
        status = binding.volume_status(pv, phase, message)
        if status is None:
            return pv
        return self.volumes.assume(await self.client.update_status(self.pv_rt, status))

    async def _release(self, pv: Obj) -> None:
        if (pv.get("status") or {}).get("phase") not in ("Released", "Failed"):
            pv = await self._set_volume_phase(pv, "Released")
            log.info("volume released volume=%s policy=%s", pv["metadata"]["name"], _policy(pv))
        await self._reclaim(pv)

    async def _reclaim(self, pv: Obj) -> None:
        policy = _policy(pv)
        if policy == "Recycle":
            if (pv.get("status") or {}).get("phase") != "Failed":
                pv = await self._set_volume_phase(pv, "Failed", "recycling is not supported")
                self.recorder.event(pv, "Warning", "VolumeFailedRecycle",
                                    "recycling is not supported")
        elif policy == "Delete" and not _provisioned(pv):
            await self._delete_volume(pv)
        # Retain: stays Released; a provisioned volume is deleted by its provisioner's side.

    async def _delete_volume(self, pv: Obj) -> None:
        meta = pv["metadata"]
        try:
            await self.client.delete(self.pv_rt, meta["name"], uid=meta.get("uid", ""))
        except errors.APIError as e:
            if not errors.is_not_found(e):
                raise
        log.info("volume deleted volume=%s", meta["name"])

    def _note(self, claim: Obj, type_: str, reason: str, message: str) -> None:
        """One event per claim generation and reason: a claim re-synced because some volume
        changed does not repeat what it was already told."""
        meta = claim["metadata"]
        mark = (reason, message, str(meta.get("generation", "")))
        if self._noted.get(meta.get("uid", "")) == mark:
            return
        self._noted[meta.get("uid", "")] = mark
        self.recorder.event(claim, type_, reason, message)


def _policy(pv: Obj) -> str:
    return str((pv.get("spec") or {}).get("persistentVolumeReclaimPolicy") or "Retain")


def _provisioned(pv: Obj) -> bool:
    return binding.PROVISIONED_BY in (pv["metadata"].get("annotations") or {})
