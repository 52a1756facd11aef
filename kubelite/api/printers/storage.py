"""Printers for volumes: PersistentVolume(Claim) and the storage.k8s.io kinds."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from kubelite.api.printers import cells, columns
from kubelite.api.printers.columns import column, wide

Obj = dict[str, Any]
_BETA_CLASS = "volume.beta.kubernetes.io/storage-class"
_DEFAULT_CLASS = ("storageclass.kubernetes.io/is-default-class",
                  "storageclass.beta.kubernetes.io/is-default-class")


def access_modes(modes: list[str] | None) -> str:
    """RWO,ROX,RWX,RWOP in that order, each once (GetAccessModesAsString)."""
    have = set(modes or [])
    short = [("ReadWriteOnce", "RWO"), ("ReadOnlyMany", "ROX"), ("ReadWriteMany", "RWX"),
             ("ReadWriteOncePod", "RWOP")]
    return ",".join(s for mode, s in short if mode in have)


def _class(obj: Obj) -> str:
    annotated = cells.get(obj, "metadata", "annotations", _BETA_CLASS)
    return str(annotated if annotated is not None else cells.get(obj, "spec", "storageClassName",
                                                                 default=""))


def _phase(obj: Obj) -> str:
    return "Terminating" if cells.deleting(obj) else str(cells.get(obj, "status", "phase",
                                                                   default=""))


def _pv(pv: Obj, now: datetime) -> list[Any]:
    ref = cells.get(pv, "spec", "claimRef")
    claim = f"{ref.get('namespace', '')}/{ref.get('name', '')}" if ref else ""
    return [cells.name(pv), cells.qty(cells.get(pv, "spec", "capacity", "storage")),
            access_modes(cells.get(pv, "spec", "accessModes")),
            cells.get(pv, "spec", "persistentVolumeReclaimPolicy", default=""), _phase(pv), claim,
            _class(pv), cells.get(pv, "spec", "volumeAttributesClassName") or "<unset>",
            cells.get(pv, "status", "reason", default=""), cells.age(pv, now),
            cells.get(pv, "spec", "volumeMode") or "<unset>"]


def _pvc(pvc: Obj, now: datetime) -> list[Any]:
    bound = bool(cells.get(pvc, "spec", "volumeName"))
    capacity = cells.qty(cells.get(pvc, "status", "capacity", "storage")) if bound else ""
    modes = access_modes(cells.get(pvc, "status", "accessModes")) if bound else ""
    return [cells.name(pvc), _phase(pvc), cells.get(pvc, "spec", "volumeName", default=""),
            capacity, modes, _class(pvc),
            cells.get(pvc, "spec", "volumeAttributesClassName") or "<unset>", cells.age(pvc, now),
            cells.get(pvc, "spec", "volumeMode") or "<unset>"]


def _storage_class(sc: Obj, now: datetime) -> list[Any]:
    notes = cells.get(sc, "metadata", "annotations", default={})
    default = any(notes.get(k) == "true" for k in _DEFAULT_CLASS)
    return [cells.name(sc) + (" (default)" if default else ""), sc.get("provisioner", ""),
            sc.get("reclaimPolicy") or "Delete", sc.get("volumeBindingMode") or "Immediate",
            bool(sc.get("allowVolumeExpansion")), cells.age(sc, now)]


def _csi_driver(d: Obj, now: datetime) -> list[Any]:
    spec = d.get("spec") or {}
    tokens = spec.get("tokenRequests")
    return [cells.name(d), spec.get("attachRequired", True) is not False,
            bool(spec.get("podInfoOnMount")), bool(spec.get("storageCapacity")),
            "<unset>" if tokens is None else ",".join(t.get("audience", "") for t in tokens),
            bool(spec.get("requiresRepublish")),
            ",".join(spec.get("volumeLifecycleModes") or []) or "<none>", cells.age(d, now)]


def _volume_attachment(va: Obj, now: datetime) -> list[Any]:
    return [cells.name(va), cells.get(va, "spec", "attacher", default=""),
            cells.get(va, "spec", "source", "persistentVolumeName", default=""),
            cells.get(va, "spec", "nodeName", default=""),
            bool(cells.get(va, "status", "attached")), cells.age(va, now)]


def printers() -> dict[tuple[str, str], columns.Printer]:
    p, name, age = columns.printer, columns.name, columns.age
    modes = column("Access Modes", description="The ways the volume can be mounted.")
    vac = column("VolumeAttributesClass", description="The VolumeAttributesClass in use.")
    mode = wide("VolumeMode", "Whether the volume is a filesystem or a raw block device.")
    storage_class = column("StorageClass", description="StorageClass of the volume")
    return {
        ("", "PersistentVolume"): p([
            name(), column("Capacity", description="The volume's capacity."), modes,
            column("Reclaim Policy", description="What happens to the volume once released."),
            column("Status", description="Phase of the volume."),
            column("Claim", description="The claim bound to the volume."), storage_class, vac,
            column("Reason", description="Why the volume is in this phase."), age(), mode], _pv),
        ("", "PersistentVolumeClaim"): p([
            name(), column("Status", description="Phase of the claim."),
            column("Volume", description="The volume bound to the claim."),
            column("Capacity", description="The bound volume's capacity."), modes,
            storage_class, vac, age(), mode], _pvc),
        ("storage.k8s.io", "StorageClass"): p([
            name(), column("Provisioner", description="The volume plugin provisioning volumes."),
            column("ReclaimPolicy", description="Reclaim policy of provisioned volumes."),
            column("VolumeBindingMode", description="When volumes are bound and provisioned."),
            column("AllowVolumeExpansion", description="Whether volumes may be expanded."),
            age()], _storage_class),
        ("storage.k8s.io", "CSIDriver"): p([
            name(), column("AttachRequired", "boolean", "Whether attach is required."),
            column("PodInfoOnMount", "boolean", "Whether pod info is passed on mount."),
            column("StorageCapacity", "boolean", "Whether capacity is reported."),
            column("TokenRequests", description="Audiences of requested tokens."),
            column("RequiresRepublish", "boolean", "Whether NodePublishVolume is repeated."),
            column("Modes", description="Volume lifecycle modes supported."), age()], _csi_driver),
        ("storage.k8s.io", "CSINode"): p([
            name(), column("Drivers", "integer", "Number of CSI drivers on the node."), age()],
            lambda o, now: [cells.name(o), len(cells.get(o, "spec", "drivers", default=[])),
                            cells.age(o, now)]),
        ("storage.k8s.io", "VolumeAttachment"): p([
            name(), column("Attacher", description="The attacher handling the volume.",
                           fmt="name"),
            column("PV", description="The persistent volume attached."),
            column("Node", description="The node the volume is attached to."),
            column("Attached", "boolean", "Whether the volume is attached."), age()],
            _volume_attachment),
    }
