"""Claims of a StatefulSet's pods and who owns them (persistentVolumeClaimRetentionPolicy).

Claims are kept by default. whenDeleted=Delete makes the set an owner of its claims (the
garbage collector removes them with the set); whenScaled=Delete makes a pod beyond the
desired range the owner of its claims, so they go when the scaled-down pod goes.
"""

from __future__ import annotations

from typing import Any

from kubelite.controllers.statefulset import identity

Obj = dict[str, Any]


def policy(sts: Obj) -> tuple[str, str]:
    p = identity.spec(sts).get("persistentVolumeClaimRetentionPolicy") or {}
    return p.get("whenDeleted") or "Retain", p.get("whenScaled") or "Retain"


def _ref(owner: Obj, *, controller: bool) -> Obj:
    ref = {"apiVersion": owner.get("apiVersion", "v1"), "kind": owner.get("kind", "Pod"),
           "name": owner["metadata"]["name"], "uid": owner["metadata"]["uid"]}
    if controller:
        ref.update(controller=True, blockOwnerDeletion=True)
    return ref


def owner_refs(sts: Obj, pod: Obj | None, claim: Obj, *, condemned: bool) -> list[Obj]:
    """The claim's ownerReferences as the policy wants them (others' refs are kept)."""
    when_deleted, when_scaled = policy(sts)
    ours = {sts["metadata"]["uid"]} | ({pod["metadata"]["uid"]} if pod else set())
    refs = [r for r in claim["metadata"].get("ownerReferences") or []
            if r.get("uid") not in ours]
    by_pod = when_scaled == "Delete" and condemned and pod is not None
    if when_deleted == "Delete" and not by_pod:
        refs.append(_ref(sts, controller=True))
    if by_pod and pod is not None:
        refs.append(_ref(pod, controller=False))
    return refs


def needs_update(claim: Obj, refs: list[Obj]) -> bool:
    have = claim["metadata"].get("ownerReferences") or []
    return sorted(r.get("uid", "") for r in have) != sorted(r.get("uid", "") for r in refs)


def pod_claim_names(sts: Obj, pod: Obj) -> list[str]:
    return [c["metadata"]["name"] for c in identity.claims(sts, identity.ordinal_of(pod))]
