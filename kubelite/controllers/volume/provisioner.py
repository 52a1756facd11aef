"""The local-path provisioner (as k3s bundles rancher's): a PersistentVolume on a node's
disk for each claim of a StorageClass whose provisioner is `kubelite.io/local-path`.

It keeps the default StorageClass `local-path` in place (created when missing, never
changed after). Its binding mode is WaitForFirstConsumer, as k3s's: a claim gets its
volume once a pod that uses it is scheduled, on that pod's node, so the pod and its data
meet (the PV's node affinity then pins later pods to that node). An Immediate-mode class
gets a volume at once, on the first Ready node that keeps local volumes.

A provisioned PV is a hostPath directory under the node's `kubelite.io/local-path-root`
(which the node's agent advertises), created by the agent when it first mounts it, and
pre-bound to its claim through claimRef; the binder completes the binding. Its data is
removed by that node's agent once the claim is gone (reclaim policy Delete).
"""

from __future__ import annotations

import logging
from typing import Any

from kubelite.api import claims, errors
from kubelite.client import events, factory, informer, rest
from kubelite.controllers import controller, nodehealth

log = logging.getLogger(__name__)

Obj = dict[str, Any]

PROVISIONER = claims.LOCAL_PATH_PROVISIONER
CLASS_NAME = "local-path"
ROOT_ANNOTATION = claims.LOCAL_PATH_ROOT
SELECTED_NODE = claims.SELECTED_NODE
STORAGE_PROVISIONER = "volume.kubernetes.io/storage-provisioner"
PROVISIONED_BY = claims.PROVISIONED_BY
DEFAULT_CLASS = "storageclass.kubernetes.io/is-default-class"
HOSTNAME = "kubernetes.io/hostname"
WAIT = "WaitForFirstConsumer"


def default_class() -> Obj:
    return {"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
            "metadata": {"name": CLASS_NAME, "annotations": {DEFAULT_CLASS: "true"}},
            "provisioner": PROVISIONER, "reclaimPolicy": "Delete",
            "volumeBindingMode": WAIT}


def volume_for(claim: Obj, sc: Obj, node: str, root: str) -> Obj:
    """The PV that holds `claim` on `node` (see the module docstring)."""
    meta, spec = claim["metadata"], claim.get("spec") or {}
    name = f"pvc-{meta['uid']}"
    return {
        "apiVersion": "v1", "kind": "PersistentVolume",
        "metadata": {"name": name, "annotations": {PROVISIONED_BY: PROVISIONER}},
        "spec": {
            "capacity": {"storage": spec["resources"]["requests"]["storage"]},
            "accessModes": spec.get("accessModes") or ["ReadWriteOnce"],
            "volumeMode": "Filesystem",
            "storageClassName": sc["metadata"]["name"],
            "persistentVolumeReclaimPolicy": sc.get("reclaimPolicy") or "Delete",
            "hostPath": {"path": f"{root.rstrip('/')}/{name}_{meta['namespace']}_{meta['name']}",
                         "type": "DirectoryOrCreate"},
            "nodeAffinity": {"required": {"nodeSelectorTerms": [{"matchExpressions": [
                {"key": HOSTNAME, "operator": "In", "values": [node]}]}]}},
            "claimRef": claims.claim_ref(claim),
        },
    }


class LocalPathProvisioner(controller.Controller):
    name = "local-path-provisioner"

    def __init__(self, client: rest.Client, informers: factory.InformerFactory) -> None:
        super().__init__(client, informers)
        self.recorder = events.Recorder(client, PROVISIONER)
        self.claim_rt = client.resource("v1", "PersistentVolumeClaim")
        self.pv_rt = client.resource("v1", "PersistentVolume")
        self.sc_rt = client.resource("storage.k8s.io/v1", "StorageClass")
        self.claims = informers.informer("v1", "PersistentVolumeClaim")
        self.volumes = informers.informer("v1", "PersistentVolume")
        self.classes = informers.informer("storage.k8s.io/v1", "StorageClass")
        self.nodes = informers.informer("v1", "Node")
        self.pods = informers.informer("v1", "Pod", claims=claims.pod_claims)
        self.claims.add_handlers(self.enqueue_handlers())
        self.pods.add_handlers(informer.Handlers(
            on_add=self._pod_changed, on_update=lambda old, new: self._pod_changed(new)))
        # a claim that waited for its class or its node's root annotation is tried again
        self.classes.add_handlers(informer.Handlers(on_add=self._requeue_all))
        self.nodes.add_handlers(informer.Handlers(
            on_add=self._requeue_all, on_update=self._node_updated))

    async def run(self, workers: int = 2) -> None:
        await self.informers.wait_synced()
        await self._ensure_class()
        await super().run(workers)

    async def _ensure_class(self) -> None:
        if self.classes.get(CLASS_NAME) is not None:
            return
        try:
            await self.client.create(self.sc_rt, default_class())
            log.info("created the default StorageClass name=%s", CLASS_NAME)
        except errors.APIError as e:
            if e.code != 409:  # else someone made it meanwhile
                log.warning("default StorageClass not created error=%s", e)

    def _pod_changed(self, pod: Obj) -> None:
        if (pod.get("spec") or {}).get("nodeName"):
            for key in claims.pod_claims(pod):
                self.queue.add(key)

    def _node_updated(self, old: Obj, new: Obj) -> None:
        if (old["metadata"].get("annotations") or {}).get(ROOT_ANNOTATION) != \
                (new["metadata"].get("annotations") or {}).get(ROOT_ANNOTATION):
            self._requeue_all(new)

    def _requeue_all(self, _: Obj) -> None:
        for claim in self.claims.list():
            if not (claim.get("spec") or {}).get("volumeName"):
                self.enqueue(claim)

    async def sync(self, key: str) -> None:
        claim = self.claims.get(key)
        if claim is None or claim["metadata"].get("deletionTimestamp"):
            return
        spec = claim.get("spec") or {}
        if spec.get("volumeName") or self.volumes.get(f"pvc-{claim['metadata']['uid']}"):
            return  # bound, pre-bound by its user, or provisioned already
        sc = self.classes.get(spec.get("storageClassName") or "")
        if sc is None or sc.get("provisioner") != PROVISIONER:
            return
        if (spec.get("volumeMode") or "Filesystem") != "Filesystem":
            self.recorder.event(claim, "Warning", "ProvisioningFailed",
                                f"{PROVISIONER} provides only volumeMode Filesystem volumes")
            return
        node = self._node_for(claim, sc)
        if node is None:
            return  # no consumer scheduled yet (the binder says so on the claim)
        root = (node["metadata"].get("annotations") or {}).get(ROOT_ANNOTATION)
        if not root:
            self.recorder.event(claim, "Warning", "ProvisioningFailed",
                                f"node {node['metadata']['name']!r} keeps no local volumes "
                                f"(its agent sets the {ROOT_ANNOTATION} annotation)")
            return
        await self._provision(claim, sc, node["metadata"]["name"], root)

    def _node_for(self, claim: Obj, sc: Obj) -> Obj | None:
        """The node the claim's volume goes on, if it is known yet."""
        selected = (claim["metadata"].get("annotations") or {}).get(SELECTED_NODE)
        if selected:
            return self.nodes.get(selected)
        if (sc.get("volumeBindingMode") or "Immediate") == WAIT:
            key = informer.key_of(claim)
            for pod in self.pods.by_index("claims", key):
                name = (pod.get("spec") or {}).get("nodeName")
                if name and not pod["metadata"].get("deletionTimestamp") and \
                        (pod.get("status") or {}).get("phase") not in ("Succeeded", "Failed"):
                    return self.nodes.get(name)
            return None
        ready = [n for n in self.nodes.list() if nodehealth.ready_status(n) == "True"
                 and (n["metadata"].get("annotations") or {}).get(ROOT_ANNOTATION)]
        return min(ready, key=lambda n: n["metadata"]["name"]) if ready else None

    async def _provision(self, claim: Obj, sc: Obj, node: str, root: str) -> None:
        meta = claim["metadata"]
        annotations = meta.get("annotations") or {}
        if annotations.get(SELECTED_NODE) != node or \
                annotations.get(STORAGE_PROVISIONER) != PROVISIONER:
            await self.client.patch(self.claim_rt, meta["name"], {"metadata": {"annotations": {
                SELECTED_NODE: node, STORAGE_PROVISIONER: PROVISIONER}}},
                namespace=meta["namespace"])
        pv = volume_for(claim, sc, node, root)
        try:
            await self.client.create(self.pv_rt, pv)
        except errors.APIError as e:
            if e.code != 409:
                self.recorder.event(claim, "Warning", "ProvisioningFailed", str(e))
                raise
            return
        log.info("provisioned volume=%s claim=%s/%s node=%s", pv["metadata"]["name"],
                 meta["namespace"], meta["name"], node)
        self.recorder.event(claim, "Normal", "ProvisioningSucceeded",
                            f"Successfully provisioned volume {pv['metadata']['name']}")

