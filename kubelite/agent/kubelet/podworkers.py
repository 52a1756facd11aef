"""One worker task per pod: syncs it whenever something happened, terminates it when it
is deleted, then removes it from the API (gracePeriodSeconds=0, the pod's uid as
precondition).

Events about a pod (informer updates, container exits, probe results, timers) only
`kick` its worker; a worker never runs two syncs of its pod at once and coalesces
kicks that arrive while it is busy. A periodic resync refreshes volumes and status.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from kubelite.agent.kubelet import adopt, sync
from kubelite.api import errors
from kubelite.client import informer

log = logging.getLogger(__name__)
Obj = dict[str, Any]
RESYNC_SECONDS = 10.0


def grace_of(pod: Obj) -> float:
    meta, spec = pod["metadata"], pod.get("spec") or {}
    if meta.get("deletionGracePeriodSeconds") is not None:
        return float(meta["deletionGracePeriodSeconds"])
    return float(spec.get("terminationGracePeriodSeconds", 30))


class Worker:
    def __init__(self, ctx: sync.Context, pod: Obj) -> None:
        self.ctx = ctx
        self.pod = pod
        self.gone = False  # deleted from the API without our terminating it
        self._kicked = asyncio.Event()
        self.state = sync.PodSync(ctx, pod["metadata"]["uid"], self.kick)
        self._kicked.set()

    def kick(self) -> None:
        self._kicked.set()

    async def run(self) -> None:
        """Sync until the pod is deleted; then stop it and (unless gone) delete it."""
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._kicked.wait(), RESYNC_SECONDS)
            self._kicked.clear()
            if self.gone or self.pod["metadata"].get("deletionTimestamp"):
                break
            try:
                await self.state.sync(self.pod)
            except (OSError, ValueError, errors.APIError):
                log.exception("pod sync failed pod=%s", sync.pod_desc(self.pod))
                await asyncio.sleep(1)
        await self._finish()

    async def _finish(self) -> None:
        grace = 0.0 if self.gone else grace_of(self.pod)
        await self.state.terminate(self.pod, grace)
        if self.gone:
            return
        meta = self.pod["metadata"]
        try:
            await self.ctx.client.delete(self.ctx.client.resource("v1", "Pod"), meta["name"],
                                         meta["namespace"], grace_period=0, uid=meta["uid"])
        except errors.APIError as e:
            if not (errors.is_not_found(e) or errors.is_conflict(e)):
                log.warning("pod delete failed pod=%s error=%s", sync.pod_desc(self.pod), e)
        log.info("pod terminated pod=%s", sync.pod_desc(self.pod))


class PodWorkers:
    """Maps pods bound to this node to their workers; fed by a pod informer."""

    def __init__(self, ctx: sync.Context, tg: asyncio.TaskGroup) -> None:
        self.ctx = ctx
        self.tg = tg
        self.workers: dict[str, Worker] = {}

    def handlers(self) -> informer.Handlers:
        return informer.Handlers(on_add=self.update, on_update=lambda _old, new: self.update(new),
                                 on_delete=self.remove)

    def update(self, pod: Obj) -> None:
        uid = pod["metadata"]["uid"]
        worker = self.workers.get(uid)
        if worker is None:
            if pod.get("status", {}).get("phase") in ("Succeeded", "Failed") and not \
                    pod["metadata"].get("deletionTimestamp"):
                return  # finished before this agent started: nothing to run
            worker = self.workers[uid] = Worker(self.ctx, pod)
            task = self.tg.create_task(self._supervise(worker), name=f"pod-{uid}")
            task.add_done_callback(lambda _t: self.workers.pop(uid, None))
            return
        worker.pod = pod
        worker.kick()

    def remove(self, pod: Obj) -> None:
        uid = pod["metadata"]["uid"]
        worker = self.workers.get(uid)
        if worker is None:  # finished before this agent started; a previous one ran it
            self.tg.create_task(adopt.remove_pod(self.ctx.runtime, uid, self.ctx.pods_dir),
                                name=f"remove-{uid}")
        else:
            worker.gone = not worker.pod["metadata"].get("deletionTimestamp")
            worker.kick()

    async def _supervise(self, worker: Worker) -> None:
        try:
            await worker.run()
        except asyncio.CancelledError:
            raise
        except Exception:  # a bug in one pod's worker must not stop the node agent
            log.exception("pod worker crashed pod=%s", sync.pod_desc(worker.pod))
