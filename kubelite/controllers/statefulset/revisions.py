"""ControllerRevisions of a StatefulSet: one per pod template it has run, named
`<set>-<hash>`, numbered in the order they became the update target.

A revision's data is a strategic-merge patch replacing spec.template, as upstream stores it;
its hash (label controller.kubernetes.io/hash) is FNV-1a over that data plus the set's
collisionCount, spelled with the vowel-free alphabet. A template the set ran before (a
rollback) reuses the old revision, renumbered as the newest.
"""

from __future__ import annotations

import copy
from typing import Any

import orjson

from kubelite.controllers import ownership
from kubelite.controllers.deployment import hashing
from kubelite.controllers.statefulset import identity

Obj = dict[str, Any]
HASH_LABEL = "controller.kubernetes.io/hash"
_NAME_PREFIX_MAX = 223


def data_of(sts: Obj) -> Obj:
    """The patch a revision stores: the set's template, replacing the whole template."""
    template = hashing.canonical(identity.spec(sts).get("template"))
    template["$patch"] = "replace"
    return {"spec": {"template": template}}


def template_of(revision: Obj) -> Obj:
    """The pod template a revision records."""
    template = copy.deepcopy(((revision.get("data") or {}).get("spec") or {}).get("template")
                             or {})
    template.pop("$patch", None)
    return template  # type: ignore[no-any-return]


def hash_of(data: Obj, collision_count: int) -> str:
    raw = orjson.dumps(data, option=orjson.OPT_SORT_KEYS)
    raw += int(collision_count & 0xFFFFFFFF).to_bytes(4, "little")
    return hashing.safe_encode(str(hashing.fnv32a(raw)))


def number(revision: Obj) -> int:
    return int(revision.get("revision") or 0)


def ordered(revisions: list[Obj]) -> list[Obj]:
    """Oldest first: by revision number, then creation time, then name."""
    return sorted(revisions, key=lambda r: (number(r), r["metadata"].get("creationTimestamp")
                                            or "", r["metadata"]["name"]))


def new(sts: Obj, revision_number: int, collision_count: int) -> Obj:
    """A revision of the set's current template (not yet stored)."""
    data = data_of(sts)
    digest = hash_of(data, collision_count)
    tlabels = ((identity.spec(sts).get("template") or {}).get("metadata") or {}).get(
        "labels") or {}
    meta: Obj = {"name": f"{sts['metadata']['name'][:_NAME_PREFIX_MAX]}-{digest}",
                 "namespace": sts["metadata"]["namespace"],
                 "labels": {**tlabels, HASH_LABEL: digest},
                 "ownerReferences": [ownership.owner_reference(sts)]}
    if sts["metadata"].get("annotations"):
        meta["annotations"] = dict(sts["metadata"]["annotations"])
    return {"apiVersion": "apps/v1", "kind": "ControllerRevision", "metadata": meta,
            "data": data, "revision": revision_number}


def same(a: Obj, b: Obj) -> bool:
    """Two revisions record the same template."""
    return hashing.canonical(template_of(a)) == hashing.canonical(template_of(b))


def current_name(sts: Obj, by_name: dict[str, Obj], update: Obj) -> str:
    """The revision the set runs now: status.currentRevision if still stored, else update."""
    name = str((sts.get("status") or {}).get("currentRevision") or "")
    return name if name in by_name else update["metadata"]["name"]


def to_truncate(sts: Obj, revisions: list[Obj], live: set[str]) -> list[Obj]:
    """Revisions beyond revisionHistoryLimit that no pod and no status uses, oldest first."""
    limit = int(identity.spec(sts).get("revisionHistoryLimit", 10) or 0)
    history = [r for r in ordered(revisions) if r["metadata"]["name"] not in live]
    excess = len(history) - limit
    return history[:excess] if excess > 0 else []
