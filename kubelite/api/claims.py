"""Which PersistentVolume a claim may bind to: upstream's FindMatchingVolume over volumes
grouped by access modes (the PV controller's index). The binder and the scheduler's
VolumeBinding plugin share it.

Volumes whose access modes are a superset of the claim's are tried group by group, the
groups with the fewest modes first; within a group the smallest volume that is large
enough wins. A volume pre-bound to the claim (claimRef naming it) always wins its group.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from kubelite.api import labels, quantity

Obj = dict[str, Any]

BETA_CLASS = "volume.beta.kubernetes.io/storage-class"
# the in-use protection finalizers (admission adds them, the protection controllers remove them)
PVC_PROTECTION = "kubernetes.io/pvc-protection"
PV_PROTECTION = "kubernetes.io/pv-protection"
# the bundled local-path provisioner, and the node annotation naming where its volumes live
LOCAL_PATH_PROVISIONER = "kubelite.io/local-path"
LOCAL_PATH_ROOT = "kubelite.io/local-path-root"
PROVISIONED_BY = "pv.kubernetes.io/provisioned-by"          # on a PV: who made it
SELECTED_NODE = "volume.kubernetes.io/selected-node"        # on a claim: where it goes


def claim_class(claim: Obj) -> str:
    """The claim's class ("" means none), the beta annotation winning as upstream."""
    notes = claim["metadata"].get("annotations") or {}
    if BETA_CLASS in notes:
        return str(notes[BETA_CLASS])
    return str((claim.get("spec") or {}).get("storageClassName") or "")


def volume_class(pv: Obj) -> str:
    notes = pv["metadata"].get("annotations") or {}
    if BETA_CLASS in notes:
        return str(notes[BETA_CLASS])
    return str((pv.get("spec") or {}).get("storageClassName") or "")


def storage(resources: Obj | None) -> Fraction:
    """The amount of `storage` in a capacity/requests map (0 when absent or malformed)."""
    raw = (resources or {}).get("storage")
    if raw is None:
        return Fraction(0)
    try:
        return quantity.parse(raw).amount
    except (ValueError, TypeError):
        return Fraction(0)


def requested(claim: Obj) -> Fraction:
    return storage(((claim.get("spec") or {}).get("resources") or {}).get("requests"))


def capacity(pv: Obj) -> Fraction:
    return storage((pv.get("spec") or {}).get("capacity"))


def is_bound_to(pv: Obj, claim: Obj) -> bool:
    """The volume's claimRef names this claim (and its uid, when the ref has one)."""
    ref = (pv.get("spec") or {}).get("claimRef")
    if not ref:
        return False
    meta = claim["metadata"]
    if ref.get("name") != meta["name"] or ref.get("namespace") != meta.get("namespace"):
        return False
    return not ref.get("uid") or ref["uid"] == meta.get("uid")


def _mode(spec: Obj) -> str:
    return str(spec.get("volumeMode") or "Filesystem")


def _selector(claim: Obj) -> labels.Selector | None:
    sel = (claim.get("spec") or {}).get("selector")
    if sel is None:
        return None
    try:
        return labels.from_label_selector(sel)
    except labels.SelectorError:
        return labels.NOTHING


def _eligible(pv: Obj, claim: Obj, want: Fraction) -> bool:
    """The checks every candidate passes, pre-bound or not."""
    ref = (pv.get("spec") or {}).get("claimRef")
    if ref and not is_bound_to(pv, claim):
        return False
    if capacity(pv) < want or pv["metadata"].get("deletionTimestamp"):
        return False
    return _mode(pv.get("spec") or {}) == _mode(claim.get("spec") or {})


def _free_fit(pv: Obj, claim: Obj, selector: labels.Selector | None) -> bool:
    """An unclaimed volume the claim may take: Available, selected, same class."""
    if (pv.get("status") or {}).get("phase") != "Available":
        return False
    if selector is not None and not selector.matches(pv["metadata"].get("labels") or {}):
        return False
    return volume_class(pv) == claim_class(claim)


def find_in_group(claim: Obj, volumes: list[Obj], *, delay_binding: bool) -> Obj | None:
    """The volume pre-bound to the claim, else the smallest fitting free one (none when
    binding is delayed: then only a volume that already names the claim is taken)."""
    want = requested(claim)
    selector = _selector(claim)
    best: Obj | None = None
    for pv in volumes:
        if not _eligible(pv, claim, want):
            continue
        if is_bound_to(pv, claim):
            return pv
        if delay_binding or not _free_fit(pv, claim, selector):
            continue
        if best is None or capacity(pv) < capacity(best):
            best = pv
    return best


def _modes(obj: Obj) -> frozenset[str]:
    return frozenset((obj.get("spec") or {}).get("accessModes") or [])


def find_best_match(claim: Obj, volumes: list[Obj], *, delay_binding: bool = False
                    ) -> Obj | None:
    """The volume the binder should bind the claim to, or None."""
    want = _modes(claim)
    groups: dict[frozenset[str], list[Obj]] = {}
    for pv in volumes:
        modes = _modes(pv)
        if modes and want <= modes:
            groups.setdefault(modes, []).append(pv)
    for modes in sorted(groups, key=lambda m: (len(m), sorted(m))):
        found = find_in_group(claim, sorted(groups[modes], key=lambda v: v["metadata"]["name"]),
                              delay_binding=delay_binding)
        if found is not None:
            return found
    return None


def mismatch(pv: Obj, claim: Obj) -> str:
    """Why a free volume the user named in spec.volumeName cannot serve the claim ("" when
    it can), as upstream's checkVolumeSatisfyClaim words it."""
    if capacity(pv) < requested(claim):
        return "requested PV is too small"
    if volume_class(pv) != claim_class(claim):
        return "storageClassName does not match"
    if _mode(pv.get("spec") or {}) != _mode(claim.get("spec") or {}):
        return "incompatible volumeMode"
    if not _modes(claim) <= _modes(pv):
        return "incompatible accessMode"
    return ""


def claim_ref(claim: Obj) -> Obj:
    """An ObjectReference to the claim, as reference.GetReference writes it."""
    meta = claim["metadata"]
    ref = {"kind": "PersistentVolumeClaim", "apiVersion": "v1",
           "namespace": meta.get("namespace", ""), "name": meta["name"],
           "uid": meta.get("uid", "")}
    if meta.get("resourceVersion"):
        ref["resourceVersion"] = meta["resourceVersion"]
    return ref


def ephemeral_claim_name(pod: Obj, volume: Obj) -> str:
    """The claim an ephemeral volume of the pod uses: `<pod>-<volume>`."""
    return f"{pod['metadata'].get('name', '')}-{volume.get('name', '')}"


def made_for(claim: Obj, pod: Obj) -> bool:
    """Whether the pod controls the claim (an ephemeral volume's claim must be its pod's)."""
    uid = pod["metadata"].get("uid")
    return any(ref.get("controller") and ref.get("uid") == uid
               for ref in claim["metadata"].get("ownerReferences") or ())


def pod_claims(pod: Obj) -> list[str]:
    """`namespace/name` of every claim the pod's volumes use (ephemeral ones included)."""
    ns = pod["metadata"].get("namespace", "")
    out = []
    for v in (pod.get("spec") or {}).get("volumes") or []:
        if (v.get("persistentVolumeClaim") or {}).get("claimName"):
            out.append(f"{ns}/{v['persistentVolumeClaim']['claimName']}")
        elif v.get("ephemeral"):
            out.append(f"{ns}/{ephemeral_claim_name(pod, v)}")
    return out
