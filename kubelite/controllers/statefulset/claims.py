"""Claims of a StatefulSet's pods and who owns them (persistentVolumeClaimRetentionPolicy).

Claims are kept by default. whenDeleted=Delete makes the set an owner of its claims (the
garbage collector removes them with the set); whenScaled=Delete makes a pod beyond the
desired range the owner of its claims (both as controller, as upstream), so they go when the scaled-down pod goes.
"""

from __future__ import annotations

from typing import Any

from kubelite.controllers.statefulset import identity

Obj = dict[str, Any]


def policy(sts: Obj) -> tuple[str, str]:
    p = identity.spec(sts).get("persistentVolumeClaimRetentionPolicy") or {}
    return p.get("whenDeleted") or "Retain", p.get("whenScaled") or "Retain"


def _controller_ref(owner: Obj) -> Obj:
    return {"apiVersion": owner.get("apiVersion", "v1"), "kind": owner.get("kind", "Pod"),
            "name": owner["metadata"]["name"], "uid": owner["metadata"]["uid"],
            "controller": True, "blockOwnerDeletion": True}


def owner_refs(sts: Obj, pod: Obj | None, claim: Obj, *, condemned: bool) -> list[Obj]:
    """The claim's ownerReferences as the policy wants them: the set or the scaled-down pod
    as controller. Other owners are kept; a claim someone else controls gets neither."""
    when_deleted, when_scaled = policy(sts)
    ours = {sts["metadata"]["uid"]} | ({pod["metadata"]["uid"]} if pod else set())
    refs = [r for r in claim["metadata"].get("ownerReferences") or []
            if r.get("uid") not in ours]
    if any(r.get("controller") for r in refs):
        return refs
    by_pod = when_scaled == "Delete" and condemned and pod is not None
    if when_deleted == "Delete" and not by_pod:
        refs.append(_controller_ref(sts))
    if by_pod and pod is not None:
        refs.append(_controller_ref(pod))
    return refs


def needs_update(claim: Obj, refs: list[Obj]) -> bool:
    have = claim["metadata"].get("ownerReferences") or []
    def key(r: Obj) -> tuple[str, bool]:
        return r.get("uid", ""), bool(r.get("controller"))
    return sorted(map(key, have)) != sorted(map(key, refs))


def pod_claim_names(sts: Obj, pod: Obj) -> list[str]:
    return [c["metadata"]["name"] for c in identity.claims(sts, identity.ordinal_of(pod))]
