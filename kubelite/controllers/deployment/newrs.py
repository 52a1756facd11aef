"""Finding or creating the deployment's new ReplicaSet and keeping revisions in step.

The new set is the one whose template equals the deployment's; it is named
`<deployment>-<pod-template-hash>` and selects its pods by that hash. It always carries
the highest revision (a rollback to an old template promotes the old set), and the
deployment's own revision annotation follows it. A name taken by a different template
bumps status.collisionCount, which changes the hash on the next try.
"""

from __future__ import annotations

import copy
import logging
from typing import Any

from kubelite.api import errors
from kubelite.controllers import ownership
from kubelite.controllers.deployment import fenceposts, hashing, replicasets, revisions, rolling
from kubelite.controllers.deployment import status as st
from kubelite.controllers.deployment import writer as writer_mod

log = logging.getLogger(__name__)

Obj = dict[str, Any]


def _replace(rs_list: list[Obj], updated: Obj) -> None:
    """Swap the stored copy of a set into the sync's list, so later steps see it."""
    for i, rs in enumerate(rs_list):
        if rs["metadata"].get("uid") == updated["metadata"].get("uid"):
            rs_list[i] = updated
            return
    rs_list.append(updated)


async def get_all(w: writer_mod.Writer, d: Obj, rs_list: list[Obj], *,
                  create: bool) -> tuple[Obj | None, list[Obj]]:
    """(new set or None, every old set), syncing the revision annotations."""
    old = replicasets.find_old(d, rs_list)
    new = await _get_new(w, d, rs_list, old, create=create)
    if new is not None:
        _replace(rs_list, new)
    return new, old


def _sizes(d: Obj) -> tuple[int, int]:
    desired = fenceposts.replicas(d)
    return desired, desired + fenceposts.max_surge(d)


async def _get_new(w: writer_mod.Writer, d: Obj, rs_list: list[Obj], old: list[Obj], *,
                   create: bool) -> Obj | None:
    existing = replicasets.find_new(d, rs_list)
    new_revision = revisions.max_revision(old) + 1
    if existing is not None:
        return await _sync_existing(w, d, existing, new_revision)
    if not create:
        return None
    return await _create(w, d, old, new_revision)


async def _sync_existing(w: writer_mod.Writer, d: Obj, existing: Obj, new_revision: int) -> Obj:
    rs = copy.deepcopy(existing)
    desired, maximum = _sizes(d)
    changed = revisions.set_new_rs_annotations(d, rs, new_revision, exists=True,
                                               desired=desired, maximum=maximum)
    min_ready = int((d.get("spec") or {}).get("minReadySeconds") or 0)
    if changed or int(rs["spec"].get("minReadySeconds") or 0) != min_ready:
        rs["spec"]["minReadySeconds"] = min_ready
        return await w.update_rs(rs)
    ann = rs["metadata"].get("annotations") or {}
    needs = revisions.set_deployment_revision(d, ann.get(revisions.REVISION, ""))
    if st.has_deadline(d) and st.get_condition(d.get("status"), st.PROGRESSING) is None:
        d.setdefault("status", {})
        st.set_condition(d["status"], st.new_condition(
            st.PROGRESSING, "True", st.FOUND_NEW_RS,
            f'Found new replica set "{rs["metadata"]["name"]}"'))
        needs = True
    if needs:
        await w.write_status(d, d.get("status") or {}, force=True)
    return rs


def build(d: Obj, old: list[Obj], new_revision: int) -> Obj:
    """The new set for the deployment's current template, sized for the rollout."""
    spec = d["spec"]
    template = copy.deepcopy(spec.get("template") or {})
    pod_hash = hashing.compute(template, (d.get("status") or {}).get("collisionCount"))
    meta = template.setdefault("metadata", {})
    meta["labels"] = dict(meta.get("labels") or {}, **{hashing.LABEL: pod_hash})
    selector = copy.deepcopy(spec.get("selector") or {})
    selector["matchLabels"] = dict(selector.get("matchLabels") or {}, **{hashing.LABEL: pod_hash})
    owner = dict(d, apiVersion="apps/v1", kind="Deployment")
    rs: Obj = {"apiVersion": "apps/v1", "kind": "ReplicaSet",
               "metadata": {"name": f"{d['metadata']['name']}-{pod_hash}",
                            "namespace": d["metadata"]["namespace"],
                            "labels": dict(meta["labels"]),
                            "ownerReferences": [ownership.owner_reference(owner)]},
               "spec": {"replicas": 0, "minReadySeconds": int(spec.get("minReadySeconds") or 0),
                        "selector": selector, "template": template}}
    rs["spec"]["replicas"] = rolling.new_rs_new_replicas(d, [*old, rs], rs)
    desired, maximum = _sizes(d)
    revisions.set_new_rs_annotations(d, rs, new_revision, exists=False, desired=desired,
                                     maximum=maximum)
    return rs


async def _create(w: writer_mod.Writer, d: Obj, old: list[Obj], new_revision: int) -> Obj:
    rs = build(d, old, new_revision)
    name, size = rs["metadata"]["name"], rs["spec"]["replicas"]
    try:
        created, existed = await w.create_rs(rs), False
    except errors.APIError as e:
        if not errors.is_already_exists(e):
            if e.code != 403:      # e.g. the namespace is terminating: nothing to report
                await _report_create_failure(w, d, name, e)
            raise
        created, existed = await _adopt_existing(w, d, rs), True
    if not existed and size > 0:
        w.recorder.event(d, "Normal", writer_mod.SCALING,
                         f"Scaled up replica set {name} from 0 to {size}")
    needs = revisions.set_deployment_revision(d, str(new_revision))
    if not existed and st.has_deadline(d):
        d.setdefault("status", {})
        st.set_condition(d["status"], st.new_condition(
            st.PROGRESSING, "True", st.NEW_RS_CREATED, f'Created new replica set "{name}"'))
        needs = True
    if needs:
        await w.write_status(d, d.get("status") or {}, force=True)
    return created


async def _adopt_existing(w: writer_mod.Writer, d: Obj, rs: Obj) -> Obj:
    """The name is taken: ours if it is our set for this template, else a hash collision."""
    meta = rs["metadata"]
    found = await w.get_rs(meta["namespace"], meta["name"])
    ref = ownership.controller_ref(found) if found is not None else None
    if found is not None and ref is not None and ref.get("uid") == d["metadata"]["uid"] and \
            hashing.equal_ignore_hash(found["spec"].get("template"), d["spec"].get("template")):
        return found
    status = d.setdefault("status", {})
    status["collisionCount"] = int(status.get("collisionCount") or 0) + 1
    log.info("pod-template-hash collision deployment=%s/%s replicaset=%s collisionCount=%d",
             meta["namespace"], d["metadata"]["name"], meta["name"], status["collisionCount"])
    await w.write_status(d, status, force=True)
    raise errors.AlreadyExists("apps", "replicasets", meta["name"])


async def _report_create_failure(w: writer_mod.Writer, d: Obj, name: str,
                                 err: errors.APIError) -> None:
    msg = f'Failed to create new replica set "{name}": {err}'
    if st.has_deadline(d):
        d.setdefault("status", {})
        st.set_condition(d["status"], st.new_condition(st.PROGRESSING, "False",
                                                       st.RS_CREATE_ERROR, msg))
        await w.write_status(d, d["status"], force=True)
    w.recorder.event(d, "Warning", st.RS_CREATE_ERROR, msg)
