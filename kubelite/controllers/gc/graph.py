"""The garbage collector's in-memory picture of ownership, built from watch events.

Objects are keyed by uid: `nodes` maps an object's uid to its identity and owner
references; a reverse index maps an owner uid to the uids of objects that name it, even
while no object with that uid is known (its dependents may then be garbage). Feeding an
event returns the work it implies as (action, uid) items: "delete" asks for a check of
whether the object should go (or, for an owner deleting in the foreground, whether its
finalizer can go); "orphan" asks to orphan an owner's dependents. The graph only says
what to look at; every decision is made against the live objects.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

Obj = dict[str, Any]
Item = tuple[str, str]

FOREGROUND = "foregroundDeletion"
ORPHAN = "orphan"
DELETE = "delete"
ORPHAN_ACTION = "orphan"


@dataclass(frozen=True)
class Node:
    uid: str
    api_version: str
    kind: str
    namespace: str
    name: str
    owners: tuple[Obj, ...] = ()
    deleting: bool = False
    finalizers: frozenset[str] = frozenset()

    @property
    def deleting_dependents(self) -> bool:
        """Being deleted in the foreground: waits for its blocking dependents."""
        return self.deleting and FOREGROUND in self.finalizers

    @property
    def orphaning(self) -> bool:
        return self.deleting and ORPHAN in self.finalizers

    def ref_to(self, owner_uid: str) -> Obj | None:
        return next((r for r in self.owners if r.get("uid") == owner_uid), None)


def node_of(obj: Obj) -> Node:
    meta = obj["metadata"]
    return Node(uid=meta["uid"], api_version=obj.get("apiVersion", ""), kind=obj.get("kind", ""),
                namespace=meta.get("namespace") or "", name=meta["name"],
                owners=tuple(meta.get("ownerReferences") or ()),
                deleting=bool(meta.get("deletionTimestamp")),
                finalizers=frozenset(meta.get("finalizers") or ()))


def _blocks(ref: Obj | None) -> bool:
    return bool(ref and ref.get("blockOwnerDeletion"))


class Graph:
    def __init__(self) -> None:
        self.nodes: dict[str, Node] = {}
        self._dependents: dict[str, set[str]] = {}

    def dependents(self, owner_uid: str) -> list[Node]:
        """Known objects whose ownerReferences name `owner_uid`."""
        return [self.nodes[d] for d in self._dependents.get(owner_uid, ()) if d in self.nodes]

    def blocking_dependents(self, owner_uid: str) -> list[Node]:
        """Dependents that keep a foreground-deleting owner from going."""
        return [d for d in self.dependents(owner_uid) if _blocks(d.ref_to(owner_uid))]

    def has_dependents(self, uid: str) -> bool:
        return any(d in self.nodes for d in self._dependents.get(uid, ()))

    def observe(self, obj: Obj) -> list[Item]:
        """An object was added or changed."""
        node = node_of(obj)
        old = self.nodes.get(node.uid)
        self.nodes[node.uid] = node
        old_refs = {r.get("uid", ""): r for r in old.owners} if old else {}
        new_refs = {r.get("uid", ""): r for r in node.owners}
        out = self._relink(node.uid, old_refs, new_refs)
        if any(o not in self.nodes or self.nodes[o].deleting_dependents
               for o in new_refs if o not in old_refs):
            out.append((DELETE, node.uid))
        if node.deleting_dependents and not (old and old.deleting_dependents):
            out.append((DELETE, node.uid))
            out.extend((DELETE, d.uid) for d in self.dependents(node.uid))
        if node.orphaning and not (old and old.orphaning):
            out.append((ORPHAN_ACTION, node.uid))
        return out

    def _relink(self, uid: str, old_refs: dict[str, Obj], new_refs: dict[str, Obj]) -> list[Item]:
        """Update the reverse index; owners that one fewer dependent may unblock."""
        out: list[Item] = []
        for owner, ref in old_refs.items():
            new = new_refs.get(owner)
            if new is None:
                self._unlink(owner, uid)
            if (new is None or (_blocks(ref) and not _blocks(new))) and self._waiting(owner):
                out.append((DELETE, owner))
        for owner in new_refs:
            self._dependents.setdefault(owner, set()).add(uid)
        return out

    def _unlink(self, owner: str, uid: str) -> None:
        deps = self._dependents.get(owner)
        if deps is not None:
            deps.discard(uid)
            if not deps:
                del self._dependents[owner]

    def _waiting(self, owner: str) -> bool:
        node = self.nodes.get(owner)
        return node is not None and node.deleting_dependents

    def forget(self, obj: Obj) -> list[Item]:
        """An object left the store: its dependents may be garbage now, and owners
        deleting in the foreground may be able to finish."""
        uid = obj["metadata"]["uid"]
        node = self.nodes.pop(uid, None)
        if node is None:
            return []
        out: list[Item] = []
        for ref in node.owners:
            owner = ref.get("uid", "")
            self._unlink(owner, uid)
            if self._waiting(owner):
                out.append((DELETE, owner))
        out.extend((DELETE, d.uid) for d in self.dependents(uid))
        return out
