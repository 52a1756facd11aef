"""The ephemeral volume controller: a claim for each generic ephemeral volume of a pod.

A pod volume `ephemeral: {volumeClaimTemplate: ...}` gets a PersistentVolumeClaim named
`<pod>-<volume>` in the pod's namespace, made from the template and owned by the pod, so
the garbage collector deletes it with the pod (upstream's ephemeral controller). The
scheduler waits for that claim, and the rest is an ordinary claim's life: provisioning,
binding, mounting. A claim of that name that the pod does not own is left alone: the pod
cannot start, and says so in an event.
"""

from __future__ import annotations

import logging
from typing import Any

from kubelite.api import claims, errors
from kubelite.client import events, factory, informer, rest
from kubelite.controllers import controller, ownership

log = logging.getLogger(__name__)

Obj = dict[str, Any]


def claim_for(pod: Obj, volume: Obj) -> Obj:
    """The claim a pod's ephemeral volume asks for."""
    template = (volume.get("ephemeral") or {}).get("volumeClaimTemplate") or {}
    meta = template.get("metadata") or {}
    pod_meta = pod["metadata"]
    out: Obj = {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {
        "name": claims.ephemeral_claim_name(pod, volume), "namespace": pod_meta["namespace"],
        "ownerReferences": [ownership.owner_reference(
            {"apiVersion": "v1", "kind": "Pod", "metadata": pod_meta})]},
        "spec": template.get("spec") or {}}
    for field in ("labels", "annotations"):
        if meta.get(field):
            out["metadata"][field] = meta[field]
    return out


def ephemeral_volumes(pod: Obj) -> list[Obj]:
    return [v for v in (pod.get("spec") or {}).get("volumes") or [] if v.get("ephemeral")]


class EphemeralVolumeController(controller.Controller):
    name = "ephemeral-volume-controller"

    def __init__(self, client: rest.Client, informers: factory.InformerFactory) -> None:
        super().__init__(client, informers)
        self.recorder = events.Recorder(client, self.name)
        self.claim_rt = client.resource("v1", "PersistentVolumeClaim")
        self.pods = informers.informer("v1", "Pod")
        self.claims = informers.informer("v1", "PersistentVolumeClaim")
        self.pods.add_handlers(informer.Handlers(
            on_add=self._pod_changed, on_update=lambda old, new: self._pod_changed(new)))
        # a claim deleted while its pod lives is made again
        self.claims.add_handlers(informer.Handlers(on_delete=self._claim_deleted))

    def _pod_changed(self, pod: Obj) -> None:
        if ephemeral_volumes(pod):
            self.enqueue(pod)

    def _claim_deleted(self, claim: Obj) -> None:
        ref = ownership.controller_ref(claim)
        if ref and ref.get("kind") == "Pod":
            self.queue.add(f"{claim['metadata']['namespace']}/{ref['name']}")

    async def sync(self, key: str) -> None:
        pod = self.pods.get(key)
        if pod is None or pod["metadata"].get("deletionTimestamp"):
            return
        for volume in ephemeral_volumes(pod):
            await self._ensure_claim(pod, volume)

    async def _ensure_claim(self, pod: Obj, volume: Obj) -> None:
        ns, name = pod["metadata"]["namespace"], claims.ephemeral_claim_name(pod, volume)
        existing = self.claims.get(f"{ns}/{name}")
        if existing is not None:
            if not claims.made_for(existing, pod):
                self.recorder.event(pod, "Warning", "FailedBinding",
                                    f"PVC {ns}/{name} was not created for pod {ns}/"
                                    f"{pod['metadata']['name']} (pod is not owner)")
            return
        try:
            await self.client.create(self.claim_rt, claim_for(pod, volume), ns)
        except errors.APIError as e:
            if e.code != 409:  # else it exists already: the informer will show it
                self.recorder.event(pod, "Warning", "FailedBinding",
                                    f"cannot create PVC {ns}/{name}: {e}")
                raise
