"""Writing a DaemonSet's ControllerRevisions: the current one made or renumbered, old ones
pruned. Pure choices live in history.py; this module only talks to the server."""

from __future__ import annotations

import logging
from typing import Any

from kubelite.api import errors
from kubelite.client import rest
from kubelite.controllers import ownership
from kubelite.controllers.daemonset import history

log = logging.getLogger(__name__)

Obj = dict[str, Any]


class RevisionWriter:
    def __init__(self, client: rest.Client) -> None:
        self.client = client
        self.rt = client.resource("apps/v1", "ControllerRevision")
        self.ds_rt = client.resource("apps/v1", "DaemonSet")

    async def construct(self, ds: Obj, owned: list[Obj]) -> tuple[Obj | None, list[Obj]]:
        """(current, old): the revision holding the current template, numbered above every
        old one (a rollback renumbers an old revision), created when missing."""
        hash_ = history.hash_of(ds)
        current, old = history.split(ds, hash_, owned)
        current.sort(key=history.revision_number, reverse=True)
        for extra in current[1:]:
            await self._delete_one(extra)
        number = history.next_number(old)
        if current:
            keep = current[0]
            if history.revision_number(keep) < number:
                keep = dict(keep, revision=number)
                keep = await self.client.update(self.rt, keep)
            return keep, old
        return await self._create(ds, hash_, number), old

    async def _create(self, ds: Obj, hash_: str, number: int) -> Obj:
        rev = history.new_revision(ds, hash_, number, ownership.owner_reference(ds))
        try:
            return await self.client.create(self.rt, rev, ds["metadata"]["namespace"])
        except errors.APIError as e:
            if not errors.is_already_exists(e):
                raise
        existing = await self.client.get(self.rt, rev["metadata"]["name"],
                                         ds["metadata"]["namespace"])
        ref = ownership.controller_ref(existing) or {}
        if ref.get("uid") == ds["metadata"]["uid"] and history.matches(ds, existing):
            return existing
        await self._bump_collision_count(ds)
        raise errors.Conflict("apps", "controllerrevisions", rev["metadata"]["name"],
                              "hash collision; collisionCount raised")

    async def _bump_collision_count(self, ds: Obj) -> None:
        """Another object holds our revision's name: hash again with a higher count."""
        updated = dict(ds)
        status = dict(ds.get("status") or {})
        status["collisionCount"] = int(status.get("collisionCount") or 0) + 1
        updated["status"] = status
        await self.client.update_status(self.ds_rt, updated)

    async def delete(self, revisions: list[Obj]) -> None:
        for rev in revisions:
            await self._delete_one(rev)

    async def _delete_one(self, rev: Obj) -> None:
        try:
            await self.client.delete(self.rt, rev["metadata"]["name"],
                                     rev["metadata"]["namespace"])
        except errors.APIError as e:
            if not errors.is_not_found(e):
                raise
