"""Revisions: the `deployment.kubernetes.io/revision` counter and its history.

Every ReplicaSet a deployment has rolled out to carries a revision; the deployment carries
its current one. A rollback (kubectl 1.32 rewrites spec.template client-side) makes an old
set's template current again: that set is found as the new one and gets the next revision,
its previous number going to the revision-history annotation. Old sets beyond
revisionHistoryLimit are deleted once they run nothing, lowest revision first.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from kubelite.controllers.deployment import replicasets

Obj = dict[str, Any]
REVISION = "deployment.kubernetes.io/revision"
HISTORY = "deployment.kubernetes.io/revision-history"
HISTORY_MAX_CHARS = 2000
# Deployment annotations that describe the deployment itself, never copied to its sets.
SKIP = frozenset({"kubectl.kubernetes.io/last-applied-configuration", REVISION, HISTORY,
                  replicasets.DESIRED, replicasets.MAX, "deprecated.deployment.rollback.to"})


def revision(obj: Obj | None) -> int:
    """The revision of a set or deployment; 0 when missing or unparsable."""
    value = ((obj or {}).get("metadata", {}).get("annotations") or {}).get(REVISION, "")
    try:
        return int(value)
    except ValueError:
        return 0


def max_revision(rss: Iterable[Obj]) -> int:
    return max((revision(rs) for rs in rss), default=0)


def copy_annotations(d: Obj, rs: Obj) -> bool:
    """Copy the deployment's own annotations (e.g. change-cause) onto a set; True if changed."""
    ann = rs["metadata"].setdefault("annotations", {})
    changed = False
    for k, v in (d["metadata"].get("annotations") or {}).items():
        if k in SKIP or ann.get(k) == v:
            continue
        ann[k] = v
        changed = True
    return changed


def _append_history(ann: dict[str, str], old: str) -> None:
    history = ann.get(HISTORY, "")
    history = f"{history},{old}" if history else old
    while len(history) > HISTORY_MAX_CHARS and "," in history:
        history = history.split(",", 1)[1]
    ann[HISTORY] = history


def set_new_rs_annotations(d: Obj, rs: Obj, new_revision: int, *, exists: bool,
                           desired: int, maximum: int) -> bool:
    """Bring the new set's annotations up to date; True if anything changed."""
    changed = copy_annotations(d, rs)
    ann = rs["metadata"].setdefault("annotations", {})
    old = ann.get(REVISION, "")
    try:
        old_int = int(old) if old else 0
    except ValueError:
        return changed
    if old_int < new_revision:
        ann[REVISION] = str(new_revision)
        changed = True
        if old:
            _append_history(ann, old)
    if not exists and replicasets.set_replicas_annotations(rs, desired, maximum):
        changed = True
    return changed


def set_deployment_revision(d: Obj, value: str) -> bool:
    """Record the current revision on the deployment; True if it changed."""
    ann = d["metadata"].setdefault("annotations", {})
    if ann.get(REVISION) == value:
        return False
    ann[REVISION] = value
    return True


def history_to_delete(d: Obj, old_rss: list[Obj]) -> list[Obj]:
    """Old sets past revisionHistoryLimit that run nothing, lowest revision first."""
    limit = (d.get("spec") or {}).get("revisionHistoryLimit")
    if limit is None:
        return []
    alive = [rs for rs in old_rss if not rs["metadata"].get("deletionTimestamp")]
    excess = len(alive) - int(limit)
    if excess <= 0:
        return []
    ordered = sorted(alive, key=lambda rs: (revision(rs), rs["metadata"].get(
        "creationTimestamp") or ""))
    out = []
    for rs in ordered[:excess]:
        status = rs.get("status") or {}
        if (int(status.get("replicas") or 0) != 0 or replicasets.spec_replicas(rs) != 0
                or int(rs["metadata"].get("generation") or 0) > int(
                    status.get("observedGeneration") or 0)):
            continue
        out.append(rs)
    return out
