"""Owner references: who controls an object, and adopting or releasing dependents."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from kubelite.api import errors, registry
from kubelite.client import rest

Obj = dict[str, Any]


def controller_ref(obj: Obj) -> Obj | None:
    for ref in obj["metadata"].get("ownerReferences") or []:
        if ref.get("controller"):
            return ref  # type: ignore[no-any-return]
    return None


def owner_reference(owner: Obj) -> Obj:
    """A controller ownerReference pointing at `owner`."""
    return {"apiVersion": owner["apiVersion"], "kind": owner["kind"],
            "name": owner["metadata"]["name"], "uid": owner["metadata"]["uid"],
            "controller": True, "blockOwnerDeletion": True}


async def adopt(client: rest.Client, rt: registry.ResourceType, owner: Obj, obj: Obj) -> Obj | None:
    """Make `owner` the controller of an orphan; None when someone else won the race."""
    meta = obj["metadata"]
    patch = {"metadata": {"ownerReferences": [owner_reference(owner)], "uid": meta["uid"]}}
    try:
        return await client.patch(rt, meta["name"], patch, namespace=meta.get("namespace", ""),
                                  patch_type="strategic")
    except errors.APIError as e:
        if errors.is_not_found(e) or e.code == 422:
            return None
        raise


async def release(client: rest.Client, rt: registry.ResourceType, owner: Obj, obj: Obj) -> None:
    """Drop `owner`'s controller reference from an object that no longer matches it."""
    meta = obj["metadata"]
    patch = {"metadata": {"ownerReferences": [{"$patch": "delete", "uid": owner["metadata"]["uid"]}],
                          "uid": meta["uid"]}}
    try:
        await client.patch(rt, meta["name"], patch, namespace=meta.get("namespace", ""),
                           patch_type="strategic")
    except errors.APIError as e:
        if not (errors.is_not_found(e) or e.code == 422):
            raise


async def claim(client: rest.Client, rt: registry.ResourceType, owner: Obj,
                candidates: Iterable[Obj], fits: Callable[[Obj], bool], *,
                may_adopt: bool = True) -> list[Obj]:
    """The owner's dependents among `candidates` (upstream's ClaimObjects): those it controls
    that still fit; those that no longer fit are released, orphans that fit are adopted
    (unless may_adopt is false). An owner being deleted neither releases nor adopts."""
    uid = owner["metadata"]["uid"]
    deleting = bool(owner["metadata"].get("deletionTimestamp"))
    out = []
    for obj in candidates:
        ref = controller_ref(obj)
        if ref is not None and ref.get("uid") == uid:
            if fits(obj):
                out.append(obj)
            elif not deleting:
                await release(client, rt, owner, obj)
        elif ref is None and may_adopt and not deleting and fits(obj) \
                and not obj["metadata"].get("deletionTimestamp"):
            adopted = await adopt(client, rt, owner, obj)
            if adopted is not None:
                out.append(adopted)
    return out
