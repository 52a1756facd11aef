"""After an agent restart: give pods back the sandboxes and containers they already have.

A pod's sandbox is found by the pod uid in its config; its containers by name, the newest
attempt being the current one (attempt == restartCount, as the kubelet numbers them) and
the one before it the last terminated state. Running containers get their exit watcher and
probes again; nothing is restarted. Sandboxes of pods that no longer exist are removed.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from kubelite.agent.kubelet import volumes
from kubelite.agent.runtime import protocol

if TYPE_CHECKING:
    from kubelite.agent.kubelet import sync

log = logging.getLogger(__name__)
Obj = dict[str, Any]


async def adopt(state: sync.PodSync, pod: Obj) -> None:
    """Take over the pod's ready sandbox, if the runtime has one; drop its other ones."""
    rt = state.ctx.runtime
    mine = [s for s in await rt.list_pod_sandboxes() if s.config.uid == state.uid]
    ready = [s for s in mine if s.state == protocol.SANDBOX_READY]
    keep = max(ready, key=lambda s: s.created_at) if ready else None
    for s in mine:
        if s is not keep:
            await rt.remove_pod_sandbox(s.id)
    if keep is None:
        return
    state.sandbox_id, state.sandbox = keep.id, keep
    spec = pod.get("spec") or {}
    by_name = {c["name"]: c for c in (spec.get("initContainers") or []) + (spec.get("containers") or [])}
    found: dict[str, list[protocol.ContainerStatus]] = {}
    for cs in await rt.list_containers(keep.id):
        found.setdefault(cs.name, []).append(cs)
    for name, statuses in found.items():
        statuses.sort(key=lambda cs: cs.attempt)
        for old in statuses[:-2] if name in by_name else statuses:
            await rt.remove_container(old.id)
        if name in by_name:
            _take(state, pod, by_name[name], statuses[-2:])
    log.info("pod adopted pod=%s sandbox=%s containers=%d", pod["metadata"]["name"], keep.id,
             sum(1 for n in found if n in by_name))


def _take(state: sync.PodSync, pod: Obj, c: Obj, statuses: list[protocol.ContainerStatus]) -> None:
    cur = statuses[-1]
    rec = state.record(c["name"])
    rec.id, rec.restart_count = cur.id, cur.attempt
    rec.last = statuses[0] if len(statuses) > 1 else None
    if cur.state == protocol.RUNNING:
        state._spawn(state._watch_exit(cur.id))
        state._start_probes(pod, c, rec, cur.id)
    elif cur.state == protocol.EXITED:
        rec.started = False


async def remove_orphans(runtime: protocol.Runtime, live_uids: Callable[[], set[str]],
                         pods_dir: str) -> int:
    """Remove sandboxes (containers, network), volumes and logs of pods not in `live_uids()`,
    asked after listing the sandboxes so a pod bound meanwhile is never taken for gone."""
    have = await runtime.list_pod_sandboxes()
    live = live_uids()
    gone = [s for s in have if s.config.uid not in live]
    for s in gone:
        log.info("removing sandbox of a deleted pod pod=%s/%s uid=%s sandbox=%s",
                 s.config.namespace, s.config.name, s.config.uid, s.id)
        await _remove(runtime, s, pods_dir)
    return len(gone)


async def remove_pod(runtime: protocol.Runtime, uid: str, pods_dir: str) -> None:
    """Remove what is left on the host of a pod no worker ran (finished before a restart)."""
    try:
        for s in await runtime.list_pod_sandboxes():
            if s.config.uid == uid:
                await _remove(runtime, s, pods_dir)
    except (OSError, protocol.RuntimeFailure):  # must not stop the agent's task group
        log.exception("removing a finished pod's sandbox failed uid=%s", uid)


async def _remove(runtime: protocol.Runtime, s: protocol.PodSandboxStatus, pods_dir: str) -> None:
    await runtime.remove_pod_sandbox(s.id)
    await asyncio.to_thread(volumes.teardown, os.path.join(pods_dir, s.config.uid))
    if s.config.log_directory:
        shutil.rmtree(s.config.log_directory, ignore_errors=True)
