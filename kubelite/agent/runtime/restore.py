"""Adopting sandboxes and containers left by a previous agent process.

A restarted agent reads `sandbox.json` of every sandbox dir and `status.json` of every
container bundle, and asks runc (`runc state`) whether each container still runs. Running
containers keep running and get a waiter that watches their pid through a pidfd; exited
ones keep the exit code recorded in status.json.

What is lost across a restart: the new agent is not the parent of adopted processes, so it
cannot reap them; an adopted container's exit status comes from the kernel's exit events
instead (see exitwatch). A container that exited while no agent ran, or where exit events
cannot be read, reports 255 (as containerd does when the status is lost).
Output is not lost: stdout/stderr are FIFOs in the bundle (see stdio), reopened here; a tty
container's console died with the old agent, so its output after the restart is lost. A sandbox whose pause process is gone is restored NotReady (its IPC/UTS
namespaces cannot be rejoined), so its pod gets a new sandbox.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import shutil
from typing import Any

from kubelite.agent.runtime import cgroups, container, exitwatch, protocol, reaper, runc, sandbox

log = logging.getLogger(__name__)


def pause_alive(pid: int) -> bool:
    """True if `pid` is still a pause process (`sleep infinity`), not a reused pid."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().split(b"\0")[:2] == [b"sleep", b"infinity"]
    except OSError:
        return False


def load_sandboxes(root: str) -> dict[str, sandbox.Sandbox]:
    """Every readable sandbox under `<root>/sandboxes`; unreadable dirs are removed."""
    out: dict[str, sandbox.Sandbox] = {}
    base = os.path.join(root, "sandboxes")
    for sid in sorted(os.listdir(base)):
        try:
            sb = sandbox.load(os.path.join(base, sid))
        except (OSError, ValueError, KeyError, TypeError):
            log.warning("unreadable sandbox removed id=%s", sid)
            shutil.rmtree(os.path.join(base, sid), ignore_errors=True)
            continue
        if not (sb.pause_pid and pause_alive(sb.pause_pid)):
            sb.pause_pid = 0    # the runtime stops this sandbox (network included)
        out[sid] = sb
    return out


def _read_status(bundle: str) -> dict[str, Any]:
    with open(os.path.join(bundle, "status.json"), encoding="utf-8") as f:
        doc: dict[str, Any] = json.load(f)
    return doc


def _image(images: protocol.ImageSource, doc: dict[str, Any]) -> protocol.ImageInfo:
    try:
        return images.image_info(doc["image"])
    except protocol.RuntimeFailure:
        return protocol.ImageInfo(ref=doc["image"], id=doc["image_ref"], layers=(), config={})


def _container(doc: dict[str, Any], image: protocol.ImageInfo, bundle: str,
               cgroups_path: str) -> container.Container:
    cfg = protocol.ContainerConfig(name=doc["name"], image=doc["image"], attempt=doc["attempt"],
                                   labels=doc["labels"], annotations=doc["annotations"])
    return container.Container(
        id=doc["id"], sandbox_id=doc["sandbox_id"], config=cfg, image=image, bundle=bundle,
        cgroups_path=cgroups_path, log_path=doc["log_path"], created_at=doc["created_at"],
        state=doc["state"], started_at=doc["started_at"], finished_at=doc["finished_at"],
        exit_code=doc["exit_code"], reason=doc["reason"], message=doc["message"],
        pid=doc["pid"])


async def _runc_status(rc: runc.Runc, cid: str) -> tuple[str, int]:
    """runc's view: (status, pid); ("", 0) when runc does not know the container."""
    try:
        st = await rc.state(cid)
    except protocol.RuntimeFailure:
        return "", 0
    return str(st.get("status", "")), int(st.get("pid") or 0)


async def load_containers(root: str, rc: runc.Runc, images: protocol.ImageSource,
                          sandboxes: dict[str, sandbox.Sandbox],
                          cgroup_parent: str) -> list[container.Container]:
    """Every container whose sandbox was restored; running ones still have `pid` set."""
    out: list[container.Container] = []
    base = os.path.join(root, "containers")
    for cid in sorted(os.listdir(base)):
        bundle = os.path.join(base, cid)
        try:
            doc = _read_status(bundle)
            sb = sandboxes[doc["sandbox_id"]]
        except (OSError, ValueError, KeyError):
            log.warning("orphaned container bundle removed id=%s", cid)
            await rc.delete(cid, force=True)
            shutil.rmtree(bundle, ignore_errors=True)
            continue
        c = _container(doc, _image(images, doc), bundle,
                       cgroups.container_path(cgroup_parent, sb.config.uid, cid))
        await _settle(rc, c)
        out.append(c)
    return out


async def _settle(rc: runc.Runc, c: container.Container) -> None:
    """Make the record agree with runc: still running keeps its pid, else it has exited."""
    status, pid = await _runc_status(rc, c.id)
    if c.state == protocol.EXITED:
        c.exited.set()
        return
    if status == "running" and pid > 0 and c.state == protocol.RUNNING:
        c.pid = pid
        return
    if status in ("created", "running"):   # never started by us, or state is inconsistent
        await rc.delete(c.id, force=True)
    c.record_exit(reaper.UNKNOWN_EXIT, cgroups.oom_kills(c.cgroups_path))
    if c.state == protocol.EXITED and c.started_at == 0.0:
        c.started_at = c.finished_at
        c.save()


async def wait_adopted(c: container.Container, watch: exitwatch.ExitWatch,
                       status: asyncio.Future[int] | None) -> None:
    """The waiter of an adopted container: not our child, so its status comes from the
    exit watch (`status`, subscribed before the container could exit) or stays unknown."""
    try:
        code = await reaper.wait_exit(c.pid)
        if status is not None:
            with contextlib.suppress(TimeoutError):
                code = reaper.exit_code(await asyncio.wait_for(asyncio.shield(status), 2))
    finally:
        watch.forget(c.pid)
    if c.copier is not None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(c.copier.done.wait(), 2)
    c.record_exit(code, cgroups.oom_kills(c.cgroups_path))
    log.info("adopted container exited id=%s name=%s code=%d", c.id, c.config.name, code)


def start_waiters(containers: list[container.Container]) -> None:
    watch = exitwatch.ExitWatch()
    for c in containers:
        if not c.exited.is_set():
            status = watch.expect(c.pid)
            c.waiter = asyncio.create_task(wait_adopted(c, watch, status), name=f"wait-{c.id}")
