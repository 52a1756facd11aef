"""Reclaim of the local-path provisioner's volumes on this node (the deleter half of k3s's
local-path provisioner, run where the data lives).

A PersistentVolume provisioned by `kubelite.io/local-path`, pinned to this node, Released,
with reclaim policy Delete: its directory is removed, then the PV object is deleted. The
directory is removed only when its real path lies strictly inside this node's local-path
root; a PV naming any other path keeps its data and its object (a Warning event says
why). Level-triggered and idempotent: a failed step is logged and retried with backoff.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
from typing import Any

from kubelite.agent.kubelet import volumes
from kubelite.api import errors
from kubelite.client import events, informer, rest, workqueue

log = logging.getLogger(__name__)
Obj = dict[str, Any]
HOSTNAME_LABEL = "kubernetes.io/hostname"


def root_dir(data_dir: str) -> str:
    """The local-path root of an agent keeping its state in `data_dir`."""
    return os.path.join(os.path.abspath(data_dir), "storage")


def on_node(pv: Obj, node_name: str) -> bool:
    """Whether the PV's required node affinity pins it to `node_name` by hostname."""
    affinity = ((pv.get("spec") or {}).get("nodeAffinity") or {}).get("required") or {}
    for term in affinity.get("nodeSelectorTerms") or []:
        for expr in term.get("matchExpressions") or []:
            if expr.get("key") == HOSTNAME_LABEL and expr.get("operator") == "In" and \
                    node_name in (expr.get("values") or []):
                return True
    return False


def reclaimable(pv: Obj, node_name: str) -> bool:
    """A provisioned, Released, Delete-policy PV of this node."""
    spec = pv.get("spec") or {}
    return ((pv["metadata"].get("annotations") or {}).get(volumes.PROVISIONED_BY) ==
            volumes.LOCAL_PATH_PROVISIONER
            and (pv.get("status") or {}).get("phase") == "Released"
            and spec.get("persistentVolumeReclaimPolicy") == "Delete"
            and on_node(pv, node_name))


def inside(root: str, path: str) -> bool:
    """Whether `path`, symlinks resolved, lies strictly inside `root`."""
    real_root, real = os.path.realpath(root), os.path.realpath(path)
    return os.path.commonpath([real_root, real]) == real_root and real != real_root


def remove_data(root: str, path: str) -> bool:
    """Remove the volume directory if it is inside `root`; False (nothing touched) if not."""
    if not path or not inside(root, path):
        return False
    real = os.path.realpath(path)
    if os.path.isdir(real):
        shutil.rmtree(real)
    elif os.path.lexists(real):
        os.unlink(real)
    return True


class Reclaimer:
    """Watches PersistentVolumes and reclaims this node's provisioned Released ones."""

    def __init__(self, client: rest.Client, node_name: str, root: str,
                 recorder: events.Recorder) -> None:
        self.client = client
        self.node_name = node_name
        self.root = root
        self.recorder = recorder
        self._rt = client.resource("v1", "PersistentVolume")
        self.informer = informer.Informer(client, self._rt)
        self.queue: workqueue.WorkQueue[str] = workqueue.WorkQueue(base_delay=0.5)
        self.informer.add_handlers(informer.Handlers(
            on_add=self._enqueue, on_update=lambda old, new: self._enqueue(new)))

    def _enqueue(self, pv: Obj) -> None:
        if reclaimable(pv, self.node_name):
            self.queue.add(pv["metadata"]["name"])

    async def run(self) -> None:
        """Run until cancelled."""
        async with asyncio.TaskGroup() as tg:
            tg.create_task(self.informer.run(), name="pv-informer")
            tg.create_task(self._worker(), name="local-path-reclaim")

    async def _worker(self) -> None:
        while True:
            name = await self.queue.get()
            try:
                await self.sync(name)
                self.queue.forget(name)
            except (errors.APIError, OSError) as e:
                log.warning("local-path reclaim failed pv=%s error=%s", name, e)
                self.queue.add_rate_limited(name)
            finally:
                self.queue.done(name)

    async def sync(self, name: str) -> None:
        """Reclaim the PV `name` if (still) reclaimable here."""
        pv = self.informer.get(name)
        if pv is None or not reclaimable(pv, self.node_name):
            return
        path = ((pv.get("spec") or {}).get("hostPath") or {}).get("path") or ""
        if not await asyncio.to_thread(remove_data, self.root, path):
            log.warning("local-path reclaim refused pv=%s path=%s root=%s", name, path, self.root)
            self.recorder.event(pv, "Warning", "VolumeFailedDelete",
                                f"refusing to delete {path!r}: not inside this node's "
                                f"local-path root {self.root!r}")
            return
        log.info("local-path volume removed pv=%s path=%s", name, path)
        try:
            await self.client.delete(self._rt, name, uid=pv["metadata"]["uid"])
        except errors.APIError as e:
            if not (errors.is_not_found(e) or errors.is_conflict(e)):
                raise
