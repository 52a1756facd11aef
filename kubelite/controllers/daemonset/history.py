"""ControllerRevisions: one per template a DaemonSet has run, the history kubectl reads.

A revision's `data` is a strategic merge patch that restores the template
(`{"spec": {"template": {..., "$patch": "replace"}}}`): `kubectl rollout undo daemonset`
applies it to the DaemonSet as it is. Its name is `<ds>-<hash>`, its labels the template's
plus controller-revision-hash (so the DaemonSet's selector finds it), its annotations the
DaemonSet's (so change-cause shows in `kubectl rollout history`).
"""

from __future__ import annotations

import copy
from typing import Any

from kubelite.controllers.daemonset import placement
from kubelite.controllers.deployment import hashing

Obj = dict[str, Any]
DEFAULT_HISTORY_LIMIT = 10


def patch_of(ds: Obj) -> Obj:
    """The revision data that restores this DaemonSet's template, keys sorted and a null
    creationTimestamp as Go writes it: kubectl compares these bytes with the DaemonSet's
    own to skip an undo to the current revision."""
    template = copy.deepcopy((ds.get("spec") or {}).get("template") or {})
    template.setdefault("metadata", {}).setdefault("creationTimestamp", None)
    template["$patch"] = "replace"
    return _sorted({"spec": {"template": template}})  # type: ignore[no-any-return]


def _sorted(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _sorted(value[k]) for k in sorted(value)}
    if isinstance(value, list):
        return [_sorted(v) for v in value]
    return value


def hash_of(ds: Obj) -> str:
    """The revision hash of the template (with status.collisionCount to escape clashes)."""
    count = (ds.get("status") or {}).get("collisionCount")
    return hashing.compute((ds.get("spec") or {}).get("template"), count)


def matches(ds: Obj, revision: Obj) -> bool:
    """The revision holds this DaemonSet's current template."""
    return hashing.canonical(revision.get("data")) == hashing.canonical(patch_of(ds))


def revision_number(revision: Obj) -> int:
    return int(revision.get("revision") or 0)


def new_revision(ds: Obj, hash_: str, number: int, owner_ref: Obj) -> Obj:
    template_labels = (((ds.get("spec") or {}).get("template") or {}).get("metadata") or {}
                       ).get("labels") or {}
    meta: Obj = {"name": f"{ds['metadata']['name']}-{hash_}",
                 "namespace": ds["metadata"]["namespace"],
                 "labels": {**template_labels, placement.HASH_LABEL: hash_},
                 "ownerReferences": [owner_ref]}
    if ds["metadata"].get("annotations"):
        meta["annotations"] = dict(ds["metadata"]["annotations"])
    return {"apiVersion": "apps/v1", "kind": "ControllerRevision", "metadata": meta,
            "data": patch_of(ds), "revision": number}


def split(ds: Obj, hash_: str, revisions: list[Obj]) -> tuple[list[Obj], list[Obj]]:
    """(current, old): revisions holding the current template (by hash or data) and the rest."""
    current: list[Obj] = []
    old: list[Obj] = []
    for r in revisions:
        r_hash = (r["metadata"].get("labels") or {}).get(placement.HASH_LABEL)
        (current if r_hash == hash_ or matches(ds, r) else old).append(r)
    return current, old


def next_number(old: list[Obj]) -> int:
    return max((revision_number(r) for r in old), default=0) + 1


def to_delete(ds: Obj, old: list[Obj], live_hashes: set[str]) -> list[Obj]:
    """Old revisions beyond revisionHistoryLimit that no live pod runs, oldest first."""
    limit = (ds.get("spec") or {}).get("revisionHistoryLimit")
    limit = DEFAULT_HISTORY_LIMIT if limit is None else int(limit)
    unused = [r for r in old if (r["metadata"].get("labels") or {}).get(
        placement.HASH_LABEL) not in live_hashes]
    excess = len(old) - limit
    if excess <= 0:
        return []
    return sorted(unused, key=revision_number)[:excess]
