"""What the garbage collector does with one object, given where its owners stand.

Pure functions: the collector classifies each ownerReference against the live owner,
then `plan` chooses, as upstream's attemptToDeleteItem does:
- some owner still stands: keep the object, dropping references to owners that are gone
  or waiting for their dependents' deletion;
- every owner is gone or waiting, and some wait in the foreground while this object has
  dependents of its own: delete it in the foreground too (unblocking its references first
  when one of its dependents also deletes in the foreground, which could form a cycle);
- otherwise: delete it with the policy its own finalizers ask for (Background by default).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from kubelite.controllers.gc import graph

Obj = dict[str, Any]


@dataclass
class Owners:
    """A dependent's ownerReferences sorted by the state of the owner they name."""

    solid: list[Obj] = field(default_factory=list)      # exists, same uid, not waiting
    dangling: list[Obj] = field(default_factory=list)   # absent, or a different uid
    waiting: list[Obj] = field(default_factory=list)    # deleting in the foreground


@dataclass(frozen=True)
class Plan:
    remove_refs: frozenset[str] = frozenset()   # owner uids whose references to drop
    unblock_refs: frozenset[str] = frozenset()  # owner uids to set blockOwnerDeletion=false
    delete_policy: str = ""                     # propagation to delete with; "" keeps it

    @property
    def patches(self) -> bool:
        return bool(self.remove_refs or self.unblock_refs)


def policy_for(obj: Obj) -> str:
    """The propagation an object's own finalizers ask for."""
    finalizers = obj["metadata"].get("finalizers") or ()
    if graph.ORPHAN in finalizers:
        return "Orphan"
    if graph.FOREGROUND in finalizers:
        return "Foreground"
    return "Background"


def plan(obj: Obj, owners: Owners, *, has_dependents: bool,
         dependent_deletes_dependents: bool = False) -> Plan:
    if owners.solid:
        return Plan(remove_refs=frozenset(r["uid"] for r in owners.dangling + owners.waiting))
    if owners.waiting and has_dependents:
        unblock = frozenset(r["uid"] for r in owners.waiting if r.get("blockOwnerDeletion")) \
            if dependent_deletes_dependents else frozenset()
        return Plan(unblock_refs=unblock, delete_policy="Foreground")
    return Plan(delete_policy=policy_for(obj))


def patched_refs(refs: list[Obj], p: Plan) -> list[Obj]:
    """The ownerReferences after the plan's removals and unblockings."""
    out = []
    for ref in refs:
        if ref.get("uid") in p.remove_refs:
            continue
        if ref.get("uid") in p.unblock_refs:
            ref = {**ref, "blockOwnerDeletion": False}
        out.append(ref)
    return out


def classify_owner(ref: Obj, owner: Obj | None) -> str:
    """"solid", "dangling" or "waiting" for one reference and the live owner it names."""
    if owner is None or owner["metadata"].get("uid") != ref.get("uid"):
        return "dangling"
    meta = owner["metadata"]
    if meta.get("deletionTimestamp") and graph.FOREGROUND in (meta.get("finalizers") or ()):
        return "waiting"
    return "solid"
