"""Every write the deployment controller makes: set sizes (with ScalingReplicaSet events),
new sets, deployment status, and deleting old history.

Writes are guarded by the resourceVersion the controller read, so a decision made on a
stale cache fails with a conflict and is retried instead of landing twice. After a write
the caller gets the server's object back and uses it for the rest of the sync.
"""

from __future__ import annotations

import copy
import logging
from typing import Any

from kubelite.api import errors
from kubelite.client import events, rest
from kubelite.controllers.deployment import fenceposts, replicasets

log = logging.getLogger(__name__)

Obj = dict[str, Any]
SCALING = "ScalingReplicaSet"


def _normal_status(status: Obj | None) -> Obj:
    """Status as Go serialises it: zero counts and empty lists left out."""
    return {k: v for k, v in (status or {}).items() if v not in (0, None, [], {})}


class Writer:
    def __init__(self, client: rest.Client, recorder: events.Recorder) -> None:
        self.client = client
        self.recorder = recorder
        self.d_rt = client.resource("apps/v1", "Deployment")
        self.rs_rt = client.resource("apps/v1", "ReplicaSet")

    async def scale(self, rs: Obj, size: int, d: Obj, direction: str = "") -> tuple[bool, Obj]:
        """Set a set's size and its desired/max annotations; (size changed, new object)."""
        desired = fenceposts.replicas(d)
        maximum = desired + fenceposts.max_surge(d)
        old_size = replicasets.spec_replicas(rs)
        resize = old_size != size
        if not resize and not replicasets.replicas_annotations_need_update(rs, desired, maximum):
            return False, rs
        updated = copy.deepcopy(rs)
        updated["spec"]["replicas"] = size
        replicasets.set_replicas_annotations(updated, desired, maximum)
        updated = await self.client.update(self.rs_rt, updated)
        if resize:
            direction = direction or ("up" if size > old_size else "down")
            self.recorder.event(d, "Normal", SCALING, f"Scaled {direction} replica set "
                                f"{rs['metadata']['name']} from {old_size} to {size}")
        return resize, updated

    async def scale_if_needed(self, rs: Obj, size: int, d: Obj) -> tuple[bool, Obj]:
        """Resize only when the size differs (annotations alone are not worth a write)."""
        if replicasets.spec_replicas(rs) == size:
            return False, rs
        return await self.scale(rs, size, d)

    async def update_rs(self, rs: Obj) -> Obj:
        return await self.client.update(self.rs_rt, rs)

    async def create_rs(self, rs: Obj) -> Obj:
        return await self.client.create(self.rs_rt, rs, rs["metadata"]["namespace"])

    async def get_rs(self, namespace: str, name: str) -> Obj | None:
        try:
            return await self.client.get(self.rs_rt, name, namespace)
        except errors.APIError as e:
            if errors.is_not_found(e):
                return None
            raise

    async def delete_rs(self, rs: Obj) -> None:
        meta = rs["metadata"]
        try:
            await self.client.delete(self.rs_rt, meta["name"], meta["namespace"], uid=meta["uid"])
        except errors.APIError as e:
            if not (errors.is_not_found(e) or errors.is_conflict(e)):
                raise

    async def write_status(self, d: Obj, status: Obj, *, force: bool = False) -> bool:
        """Store `status` (and d's annotations, which the status subresource keeps) unless
        unchanged and not forced; d then carries the server's resourceVersion."""
        status = _normal_status(status)
        if status == _normal_status(d.get("status")) and not force:
            return False
        d["status"] = status
        try:
            stored = await self.client.update_status(self.d_rt, d)
        except errors.APIError as e:
            if errors.is_not_found(e):
                return False
            raise
        d["metadata"]["resourceVersion"] = stored["metadata"].get("resourceVersion")
        return True
