"""The OCI runtime: pod sandboxes and containers driven through runc's (or crun's) command
line (ocibinary picks which).

Per container: an overlay rootfs over the image's shared layers and a bundle with
config.json at create; at start, `runc run --detach` with stdio on pipes read by the log
copier (as containerd, which makes the runtime's container only when the CRI container is
started: a failed start leaves it exited with code 128, reason StartError), a waiter that
reaps the init (we are a child subreaper) and keeps the exit code and the OOM verdict, and an
explicit cgroup `/<parent>/pod<uid>/<id>`. Teardown unmounts, deletes and removes cgroups.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import shutil
import time
import uuid
from dataclasses import dataclass

from kubelite.agent.runtime import (
    attach,
    cgroups,
    cgroupstats,
    console,
    container,
    execs,
    logs,
    ocibinary,
    protocol,
    reaper,
    restore,
    rootfs,
    runc,
    sandbox,
    spec,
    stdio,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Options:
    root: str                                   # bundles and sandbox files live here
    binary: ocibinary.Binary = ocibinary.RUNC
    runc_root: str = "/run/kubelite/runc"      # the runtime binary's state directory
    cgroup_parent: str = "kubelite"
    log_max_size: int = 10 << 20
    log_max_files: int = 5
    network_setup: protocol.NetworkSetup | None = None
    network_teardown: protocol.NetworkTeardown | None = None


class OCIRuntime:
    """Implements protocol.Runtime with runc or crun. One instance per agent process."""

    def __init__(self, images: protocol.ImageSource, options: Options) -> None:
        reaper.become_subreaper()
        self.images = images
        self.opts = options
        self.runc = runc.Runc(options.binary.path, options.runc_root, options.binary.run_prefix)
        self.sandboxes: dict[str, sandbox.Sandbox] = {}
        self.containers: dict[str, container.Container] = {}
        for sub in ("sandboxes", "containers"):
            os.makedirs(os.path.join(options.root, sub), exist_ok=True)

    async def restore(self) -> None:
        """Adopt the sandboxes and containers a previous agent process left running."""
        self.sandboxes = restore.load_sandboxes(self.opts.root)
        found = await restore.load_containers(self.opts.root, self.runc, self.images,
                                              self.sandboxes, self.opts.cgroup_parent)
        self.containers = {c.id: c for c in found}
        for c in found:
            if not c.exited.is_set() and (readers := stdio.reopen(c.bundle)):
                c.copier = logs.Copier(logs.LogWriter(
                    c.log_path, max_size=self.opts.log_max_size,
                    max_files=self.opts.log_max_files), readers)
        restore.start_waiters(found)
        for sid, sb in list(self.sandboxes.items()):
            if not sb.pause_pid:
                log.warning("sandbox lost its pause process, stopping it id=%s", sid)
                await self.stop_pod_sandbox(sid)
        log.info("runtime restored sandboxes=%d containers=%d running=%d", len(self.sandboxes),
                 len(found), sum(1 for c in found if c.state == protocol.RUNNING))

    # --- sandboxes ---------------------------------------------------------------------------

    async def run_pod_sandbox(self, config: protocol.PodSandboxConfig) -> str:
        sid = uuid.uuid4().hex
        sb = sandbox.Sandbox(sid, config, os.path.join(self.opts.root, "sandboxes", sid), f"kubelite-{sid}")
        try:
            await sandbox.create(sb, self.opts.network_setup)
        except BaseException:
            await sandbox.stop(sb, None)
            await sandbox.destroy(sb)
            raise
        self.sandboxes[sid] = sb
        log.info("sandbox ready id=%s pod=%s/%s", sid, config.namespace, config.name)
        return sid

    async def stop_pod_sandbox(self, sandbox_id: str) -> None:
        sb = self._sandbox(sandbox_id)
        await asyncio.gather(*(self.stop_container(c.id, 0) for c in self._of(sandbox_id)))
        await sandbox.stop(sb, self.opts.network_teardown)

    async def remove_pod_sandbox(self, sandbox_id: str) -> None:
        sb = self.sandboxes.get(sandbox_id)
        if sb is None:
            return
        await self.stop_pod_sandbox(sandbox_id)
        await asyncio.gather(*(self.remove_container(c.id) for c in self._of(sandbox_id)))
        await sandbox.destroy(sb)
        cgroups.remove(cgroups.pod_path(self.opts.cgroup_parent, sb.config.uid))
        cgroups.remove_if_empty("/" + self.opts.cgroup_parent)
        del self.sandboxes[sandbox_id]

    async def pod_sandbox_status(self, sandbox_id: str) -> protocol.PodSandboxStatus:
        return self._sandbox(sandbox_id).status()

    async def list_pod_sandboxes(self) -> list[protocol.PodSandboxStatus]:
        return [sb.status() for sb in self.sandboxes.values()]

    # --- containers --------------------------------------------------------------------------

    async def create_container(self, sandbox_id: str, config: protocol.ContainerConfig) -> str:
        sb = self._sandbox(sandbox_id)
        if sb.state != protocol.SANDBOX_READY:
            raise protocol.RuntimeFailure(f"sandbox {sandbox_id} is not ready")
        image = self.images.image_info(config.image)
        cid = uuid.uuid4().hex
        c = container.Container(
            id=cid, sandbox_id=sandbox_id, config=config, image=image,
            bundle=os.path.join(self.opts.root, "containers", cid),
            cgroups_path=cgroups.container_path(self.opts.cgroup_parent, sb.config.uid, cid),
            log_path=self._log_path(sb, config))
        try:
            self._bundle(sb, c)
        except BaseException:
            await self._discard(c)
            raise
        self.containers[cid] = c
        return cid

    def _bundle(self, sb: sandbox.Sandbox, c: container.Container) -> None:
        """The rootfs, config.json and status: all of a container until it is started."""
        os.makedirs(c.bundle)
        place = spec.Placement(
            rootfs=rootfs.mount(c.image.layers, c.bundle), cgroups_path=c.cgroups_path,
            netns_path=sb.netns_path, ipc_ns_path=sb.ns_path("ipc"), uts_ns_path=sb.ns_path("uts"),
            etc_files=sb.etc_files())
        doc = spec.build(c.config, c.image.config, place)
        with open(os.path.join(c.bundle, "config.json"), "w", encoding="utf-8") as f:
            json.dump(doc, f)
        c.save()

    async def _run(self, c: container.Container) -> None:
        writer = logs.LogWriter(c.log_path, max_size=self.opts.log_max_size,
                                max_files=self.opts.log_max_files)
        try:
            if c.config.tty:
                await self._run_tty(c, writer)
            else:
                await self._run_piped(c, writer)
        except BaseException:
            writer.close()
            raise

    async def _run_piped(self, c: container.Container, writer: logs.LogWriter) -> None:
        readers, (out_w, err_w) = stdio.create(c.bundle)
        in_r, c.stdin_fd = os.pipe() if c.config.stdin else (os.open(os.devnull, os.O_RDONLY), -1)
        # Copying from before the start (our writer ends keep it from seeing EOF) logs
        # stdout and stderr in the order they are written, as containerd's shim does.
        c.copier = logs.Copier(writer, readers)
        try:
            c.pid = await self.runc.run(c.id, c.bundle, stdio=(in_r, out_w, err_w))
        except BaseException:
            c.copier.close()
            c.copier = None
            raise
        finally:
            for fd in (in_r, out_w, err_w):
                os.close(fd)

    async def _run_tty(self, c: container.Container, writer: logs.LogWriter) -> None:
        sock = console.ConsoleSocket()
        receive = asyncio.create_task(sock.receive())
        null = os.open(os.devnull, os.O_RDWR)
        try:
            c.pid = await self.runc.run(c.id, c.bundle, stdio=(null, null, null),
                                        console_socket=sock.path)
            c.tty_fd = await asyncio.wait_for(receive, 10)
        finally:
            receive.cancel()
            os.close(null)
            sock.close()
        c.copier = logs.Copier(writer, {"stdout": os.dup(c.tty_fd)})

    async def _wait(self, c: container.Container) -> None:
        """Reap the init, let the copier drain, then record exit code and OOM verdict."""
        code = await reaper.wait_exit(c.pid)
        if c.copier is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(c.copier.done.wait(), 2)
        c.record_exit(code, cgroups.oom_kills(c.cgroups_path))
        log.info("container exited id=%s name=%s code=%d reason=%s", c.id, c.config.name, code, c.reason)

    async def start_container(self, container_id: str) -> None:
        c = self._container(container_id)
        if c.state != protocol.CREATED:
            raise protocol.RuntimeFailure(f"container {container_id} is {c.state}, not created")
        c.started_at = time.time()
        try:
            await self._run(c)
        except protocol.RuntimeFailure as e:
            c.record_start_failure(str(e))
            raise
        c.state = protocol.RUNNING
        c.save()
        c.waiter = asyncio.create_task(self._wait(c), name=f"wait-{c.id}")

    async def stop_container(self, container_id: str, timeout: float) -> None:
        c = self._container(container_id)
        if c.exited.is_set() or not c.pid:    # exited, or never started: nothing runs
            return
        stop_signal = str((c.image.config.get("config") or {}).get("StopSignal") or "TERM")
        if timeout > 0:
            with contextlib.suppress(protocol.RuntimeFailure):
                await self.runc.kill(container_id, stop_signal.removeprefix("SIG"))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(c.exited.wait(), timeout)
        if not c.exited.is_set():
            with contextlib.suppress(protocol.RuntimeFailure):
                await self.runc.kill(container_id, "KILL")
            await c.exited.wait()

    async def remove_container(self, container_id: str) -> None:
        c = self.containers.get(container_id)
        if c is None:
            return
        await self.stop_container(container_id, 0)
        await self.runc.delete(container_id, force=True)
        await self._discard(c)
        self.containers.pop(container_id, None)

    async def _discard(self, c: container.Container) -> None:
        if c.waiter is not None:
            await c.waiter
        if c.copier is not None:
            c.copier.close()
        for fd in (c.stdin_fd, c.tty_fd):
            if fd >= 0:
                os.close(fd)
        rootfs.unmount(c.bundle)
        cgroups.remove(c.cgroups_path)
        shutil.rmtree(c.bundle, ignore_errors=True)

    async def container_status(self, container_id: str) -> protocol.ContainerStatus:
        return self._container(container_id).status()

    async def list_containers(self, sandbox_id: str | None = None) -> list[protocol.ContainerStatus]:
        return [c.status() for c in self.containers.values() if sandbox_id in (None, c.sandbox_id)]

    async def wait_container(self, container_id: str) -> protocol.ContainerStatus:
        c = self._container(container_id)
        await c.exited.wait()
        return c.status()

    async def exec_sync(self, container_id: str, cmd: list[str], timeout: float) -> protocol.ExecResult:
        c = self._running(container_id)
        return await execs.exec_sync(self.runc, c.id, c.bundle, cmd, timeout)

    async def exec(self, container_id: str, cmd: list[str], *, tty: bool = False,
                   stdin: bool = False) -> protocol.ExecProcess:
        c = self._running(container_id)
        try:
            return await execs.start(self.runc, c.id, c.bundle, cmd, tty=tty, stdin=stdin)
        except protocol.RuntimeFailure:
            if tty:
                known = {x.pid for x in self.containers.values()}
                reaper.reap_strays(known | {sb.pause_pid for sb in self.sandboxes.values()})
            raise

    async def attach(self, container_id: str, *, stdin: bool = False) -> protocol.ExecProcess:
        return await attach.open_session(self._running(container_id), stdin=stdin)

    def container_log_path(self, container_id: str) -> str:
        return self._container(container_id).log_path

    async def container_stats(self, container_id: str) -> protocol.ContainerStats:
        c = self._container(container_id)
        return protocol.ContainerStats(id=c.id, timestamp=time.time(), **cgroupstats.read(c.cgroups_path))

    async def close(self) -> None:
        """Stop background work (not containers): cancel waiters and close copiers."""
        for c in self.containers.values():
            if c.waiter is not None:
                c.waiter.cancel()
            if c.copier is not None:
                c.copier.close()

    # --- lookups -----------------------------------------------------------------------------

    def _sandbox(self, sandbox_id: str) -> sandbox.Sandbox:
        try:
            return self.sandboxes[sandbox_id]
        except KeyError:
            raise protocol.NotFound(f"pod sandbox {sandbox_id} not found") from None

    def _container(self, container_id: str) -> container.Container:
        try:
            return self.containers[container_id]
        except KeyError:
            raise protocol.NotFound(f"container {container_id} not found") from None

    def _running(self, container_id: str) -> container.Container:
        c = self._container(container_id)
        if c.state != protocol.RUNNING:
            raise protocol.RuntimeFailure(f"container {container_id} is not running")
        return c

    def _of(self, sandbox_id: str) -> list[container.Container]:
        return [c for c in self.containers.values() if c.sandbox_id == sandbox_id]

    def _log_path(self, sb: sandbox.Sandbox, config: protocol.ContainerConfig) -> str:
        cfg = sb.config
        base = cfg.log_directory or os.path.join(
            self.opts.root, "pods", f"{cfg.namespace}_{cfg.name}_{cfg.uid}")
        return os.path.join(base, config.log_path or f"{config.name}/{config.attempt}.log")
