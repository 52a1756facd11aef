"""Syncing one pod: volumes, sandbox, init containers in order, app containers with
restart policy and back-off, then the pod status (written only when it changed).

Level-triggered: `sync` looks at the runtime and the pod and does the next step; it is
called again on every pod change, container exit, probe result, timer and resync.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from kubelite.agent.kubelet import (
    adopt,
    backoff,
    containers,
    dnsconfig,
    envs,
    objects,
    probes,
    pulling,
    status,
    volumes,
)
from kubelite.agent.runtime import protocol
from kubelite.api import errors
from kubelite.client import events, rest

log = logging.getLogger(__name__)
Obj = dict[str, Any]
FAILED_MOUNT_RETRY = 2.0
CONFIG_ERROR_RETRY = 2.0
# How many sandbox creations or container create+starts run at once. They are mostly
# runtime processes competing for the same cores: unbounded, a burst of pods all finish
# late together and their status writes and events arrive at once (each burst of API
# calls opens new connections); bounded, pods finish in turn and calls spread out.
START_CONCURRENCY = 8


@dataclass
class Context:
    """What every pod sync shares: the API, the runtime, images, events, back-off."""

    client: rest.Client
    runtime: protocol.Runtime
    puller: pulling.Puller
    recorder: events.Recorder
    objects: objects.Objects
    node_ip: str
    pods_dir: str
    logs_dir: str
    backoff: backoff.BackOff = field(default_factory=backoff.BackOff)
    pids_limit: int = 0
    dns: dnsconfig.Settings = field(default_factory=dnsconfig.Settings)
    runtime_name: str = "runc"  # the OCI runtime: the scheme of containerIDs
    start_slots: asyncio.Semaphore = field(
        default_factory=lambda: asyncio.Semaphore(START_CONCURRENCY))


@dataclass
class Record:
    """The kubelet's memory of one container of the spec."""

    name: str
    id: str = ""
    restart_count: int = 0
    last: protocol.ContainerStatus | None = None
    waiting_reason: str = ""
    waiting_message: str = ""
    pull_failed_at: float = 0.0
    ready: bool = False
    started: bool = False
    prober: probes.Prober | None = None


def pod_desc(pod: Obj) -> str:
    meta = pod["metadata"]
    return f"{meta['name']}_{meta['namespace']}({meta['uid']})"


def should_restart(policy: str, exit_code: int) -> bool:
    return policy == "Always" or (policy == "OnFailure" and exit_code != 0)


class PodSync:
    """The state and the sync steps of one pod; driven by its pod worker."""

    def __init__(self, ctx: Context, uid: str, kick: Callable[[], None]) -> None:
        self.ctx = ctx
        self.uid = uid
        self.kick = kick
        self.sandbox_id = ""
        self.sandbox: protocol.PodSandboxStatus | None = None
        self.records: dict[str, Record] = {}
        self.start_time = 0.0
        self.written: Obj | None = None
        self.volume_paths: dict[str, str] = {}
        self.tasks: set[asyncio.Task[Any]] = set()
        self.adopted = False    # looked for a sandbox a previous agent process left

    @property
    def pod_dir(self) -> str:
        return os.path.join(self.ctx.pods_dir, self.uid)

    def _spawn(self, coro: Any) -> None:
        task = asyncio.create_task(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    def _later(self, delay: float) -> None:
        asyncio.get_running_loop().call_later(max(delay, 0.05), self.kick)

    def record(self, name: str) -> Record:
        return self.records.setdefault(name, Record(name))

    async def _current(self, rec: Record) -> protocol.ContainerStatus | None:
        if not rec.id:
            return None
        try:
            return await self.ctx.runtime.container_status(rec.id)
        except protocol.NotFound:
            return None

    # --- the sync -----------------------------------------------------------------------

    async def sync(self, pod: Obj) -> None:
        self.start_time = self.start_time or time.time()
        if not await self._volumes(pod) or not await self._sandbox(pod):
            await self.write_status(pod)
            return
        if await self._init_containers(pod):
            await self._app_containers(pod)
        await self.write_status(pod)

    async def _volumes(self, pod: Obj) -> bool:
        try:
            self.volume_paths = await volumes.setup(self.ctx.objects, pod, self.pod_dir)
        except objects.Missing as e:
            self.ctx.recorder.event(pod, "Warning", "FailedMount", str(e))
            self._later(FAILED_MOUNT_RETRY)
            return False
        return True

    async def _sandbox(self, pod: Obj) -> bool:
        if not self.adopted:
            self.adopted = True
            await adopt.adopt(self, pod)
        if self.sandbox_id:
            return True
        meta, spec = pod["metadata"], pod.get("spec") or {}
        cfg = protocol.PodSandboxConfig(
            name=meta["name"], namespace=meta["namespace"], uid=meta["uid"],
            hostname=spec.get("hostname") or meta["name"],
            log_directory=os.path.join(self.ctx.logs_dir,
                                       f"{meta['namespace']}_{meta['name']}_{meta['uid']}"),
            labels=dict(meta.get("labels") or {}),
            dns=dnsconfig.sandbox_dns(pod, self.ctx.dns, self.ctx.recorder))
        try:
            async with self.ctx.start_slots:
                self.sandbox_id = await self.ctx.runtime.run_pod_sandbox(cfg)
        except protocol.RuntimeFailure as e:
            self.ctx.recorder.event(pod, "Warning", "FailedCreatePodSandBox",
                                    f"Failed to create pod sandbox: {e}")
            self._later(FAILED_MOUNT_RETRY)
            return False
        self.sandbox = await self.ctx.runtime.pod_sandbox_status(self.sandbox_id)
        return True

    async def _init_containers(self, pod: Obj) -> bool:
        """Run init containers one at a time; True once all succeeded."""
        policy = (pod.get("spec") or {}).get("restartPolicy") or "Always"
        for c in (pod.get("spec") or {}).get("initContainers") or []:
            rec = self.record(c["name"])
            cur = await self._current(rec)
            if cur is None:
                await self._start(pod, c, rec)
                return False
            if cur.state != protocol.EXITED:
                return False
            if cur.exit_code == 0:
                continue
            if policy != "Never":
                await self._restart_with_backoff(pod, c, rec, cur)
            return False
        return True

    async def _app_containers(self, pod: Obj) -> None:
        policy = (pod.get("spec") or {}).get("restartPolicy") or "Always"
        for c in (pod.get("spec") or {}).get("containers") or []:
            rec = self.record(c["name"])
            cur = await self._current(rec)
            if cur is None:
                await self._start(pod, c, rec)
            elif cur.state == protocol.EXITED and should_restart(policy, cur.exit_code):
                await self._restart_with_backoff(pod, c, rec, cur)

    async def _restart_with_backoff(self, pod: Obj, c: Obj, rec: Record,
                                    cur: protocol.ContainerStatus) -> None:
        key, now = f"{self.uid}/{c['name']}", time.time()
        if self.ctx.backoff.in_backoff_since(key, cur.finished_at, now):
            delay = self.ctx.backoff.get(key)
            rec.waiting_reason = "CrashLoopBackOff"
            rec.waiting_message = (f"back-off {int(delay)}s restarting failed container="
                                   f"{c['name']} pod={pod_desc(pod)}")
            self.ctx.recorder.event(pod, "Warning", "BackOff", "Back-off restarting failed container "
                                    f"{c['name']} in pod {pod_desc(pod)}")
            self._later(cur.finished_at + delay - now)
            return
        self.ctx.backoff.next(key, now)
        await self._start(pod, c, rec)

    # --- starting a container -----------------------------------------------------------

    def _wait(self, rec: Record, reason: str, message: str, retry: float) -> None:
        rec.waiting_reason, rec.waiting_message = reason, message
        if retry > 0:
            self._later(retry)

    async def _start(self, pod: Obj, c: Obj, rec: Record) -> None:
        got = await self.ctx.puller.ensure(pod, c, f"{self.uid}/{c['name']}/pull", rec.pull_failed_at)
        if not got.ok:
            if got.reason == "ErrImagePull":
                rec.pull_failed_at = time.time()
            self._wait(rec, got.reason, got.message, got.retry_in)
            return
        try:
            env = await envs.resolve(self.ctx.objects, pod, c)
            cfg = containers.config(pod, c, env=env, mounts=volumes.mounts(c, self.volume_paths),
                                    attempt=rec.restart_count + (1 if rec.id else 0),
                                    pids_limit=self.ctx.pids_limit)
        except (objects.Missing, ValueError, KeyError) as e:
            self.ctx.recorder.event(pod, "Warning", "Failed", f"Error: {e}")
            self._wait(rec, "CreateContainerConfigError", str(e), CONFIG_ERROR_RETRY)
            return
        async with self.ctx.start_slots:
            await self._create_and_start(pod, c, rec, cfg)

    async def _create_and_start(self, pod: Obj, c: Obj, rec: Record,
                                cfg: protocol.ContainerConfig) -> None:
        try:
            cid = await self.ctx.runtime.create_container(self.sandbox_id, cfg)
        except protocol.RuntimeFailure as e:
            self.ctx.recorder.event(pod, "Warning", "Failed", f"Error: {e}")
            self._wait(rec, "CreateContainerError", str(e), CONFIG_ERROR_RETRY)
            return
        self.ctx.recorder.event(pod, "Normal", "Created", f"Created container {c['name']}")
        await self._replace(rec, cid)
        try:
            await self.ctx.runtime.start_container(cid)
        except protocol.RuntimeFailure as e:
            self.ctx.recorder.event(pod, "Warning", "Failed", f"Error: failed to start container "
                                    f'"{c["name"]}": {e}')
            # The runtime keeps it exited (StartError): shown waiting only if it is restarted.
            policy = (pod.get("spec") or {}).get("restartPolicy") or "Always"
            if should_restart(policy, protocol.START_ERROR_EXIT):
                self._wait(rec, "RunContainerError", str(e), CONFIG_ERROR_RETRY)
            return
        self.ctx.recorder.event(pod, "Normal", "Started", f"Started container {c['name']}")
        self._spawn(self._watch_exit(cid))
        self._start_probes(pod, c, rec, cid)

    async def _replace(self, rec: Record, cid: str) -> None:
        """Make `cid` the record's container; the previous one becomes lastState."""
        if rec.prober is not None:
            rec.prober.stop()
            rec.prober = None
        if rec.id:
            if rec.last is not None:
                await self.ctx.runtime.remove_container(rec.last.id)
            rec.last = await self._current(rec)
            rec.restart_count += 1
        rec.id, rec.waiting_reason, rec.waiting_message = cid, "", ""
        rec.ready = rec.started = False

    async def _watch_exit(self, cid: str) -> None:
        with contextlib.suppress(protocol.NotFound):
            await self.ctx.runtime.wait_container(cid)
        self.kick()

    # --- probes -------------------------------------------------------------------------

    def _start_probes(self, pod: Obj, c: Obj, rec: Record, cid: str) -> None:
        rec.started = "startupProbe" not in c
        rec.ready = rec.started and "readinessProbe" not in c
        if not any(k in c for k in probes.KINDS):
            return
        ports = {p["name"]: int(p["containerPort"]) for p in c.get("ports") or [] if p.get("name")}
        assert self.sandbox is not None
        target = probes.Target(self.ctx.runtime, cid, self.sandbox.netns_path, ports)
        grace = int((pod.get("spec") or {}).get("terminationGracePeriodSeconds", 30))

        def report(kind: str, ok: bool, msg: str) -> None:
            self._on_probe(pod, c, rec, cid, kind, ok, msg, grace)
        rec.prober = probes.Prober(target, c, report)
        rec.prober.start()

    def _on_probe(self, pod: Obj, c: Obj, rec: Record, cid: str, kind: str, ok: bool,
                  msg: str, grace: int) -> None:
        if rec.id != cid:
            return
        label = kind.split(":")[0].removesuffix("Probe").capitalize()
        if kind.endswith(":attempt"):
            self.ctx.recorder.event(pod, "Warning", "Unhealthy", f"{label} probe failed: {msg}")
            return
        if kind == "readinessProbe":
            rec.ready = ok
        elif kind == "startupProbe" and ok:
            rec.started = True
            rec.ready = "readinessProbe" not in c
        elif not ok:
            self.ctx.recorder.event(pod, "Normal", "Killing", f"Container {c['name']} failed "
                                    f"{label.lower()} probe, will be restarted")
            self._spawn(self.ctx.runtime.stop_container(cid, grace))
        self.kick()

    # --- status -------------------------------------------------------------------------

    async def view(self, pod: Obj) -> status.PodView:
        spec = pod.get("spec") or {}
        out = status.PodView(sandbox_ready=bool(self.sandbox_id), host_ip=self.ctx.node_ip,
                             pod_ips=self.sandbox.ips if self.sandbox else (),
                             start_time=self.start_time, runtime=self.ctx.runtime_name)
        for key, target in (("initContainers", out.init), ("containers", out.containers)):
            for c in spec.get(key) or []:
                rec = self.record(c["name"])
                target.append(status.ContainerView(
                    name=c["name"], image=c["image"], current=await self._current(rec),
                    last=rec.last, waiting_reason=rec.waiting_reason,
                    waiting_message=rec.waiting_message, restart_count=rec.restart_count,
                    ready=rec.ready, started=rec.started))
        return out

    async def write_status(self, pod: Obj) -> None:
        new = status.pod_status(pod, await self.view(pod), time.time())
        compared = status.without_nulls(new)
        if compared == self.written:
            return
        meta = pod["metadata"]
        try:
            await self.ctx.client.patch(self.ctx.client.resource("v1", "Pod"), meta["name"],
                                        {"metadata": {"uid": meta["uid"]}, "status": new},
                                        namespace=meta["namespace"], subresource="status")
            self.written = compared
        except errors.APIError as e:
            if not errors.is_not_found(e):
                log.warning("pod status write failed pod=%s error=%s", pod_desc(pod), e)
                self._later(1.0)

    # --- termination --------------------------------------------------------------------

    async def terminate(self, pod: Obj, grace: float) -> None:
        """preStop hooks, SIGTERM, SIGKILL after the grace period, then tear everything down."""
        if not self.adopted:    # deleted before its first sync: a previous agent ran it
            self.adopted = True
            await adopt.adopt(self, pod)
        spec = pod.get("spec") or {}
        by_name = {c["name"]: c for c in (spec.get("initContainers") or []) + (spec.get("containers") or [])}
        await asyncio.gather(*(self._stop(pod, by_name.get(rec.name, {}), rec, grace)
                               for rec in self.records.values() if rec.id))
        for task in list(self.tasks):
            task.cancel()
        await self.cleanup()

    async def _stop(self, pod: Obj, c: Obj, rec: Record, grace: float) -> None:
        if rec.prober is not None:
            rec.prober.stop()
        cur = await self._current(rec)
        if cur is None or cur.state != protocol.RUNNING:
            return
        self.ctx.recorder.event(pod, "Normal", "Killing", f"Stopping container {rec.name}")
        deadline = time.monotonic() + grace
        hook = ((c.get("lifecycle") or {}).get("preStop") or {})
        if hook and grace > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._pre_stop(rec.id, hook, grace), grace)
        await self.ctx.runtime.stop_container(rec.id, max(deadline - time.monotonic(), 0))

    async def _pre_stop(self, cid: str, hook: Obj, grace: float) -> None:
        if "exec" in hook:
            with contextlib.suppress(protocol.RuntimeFailure):
                await self.ctx.runtime.exec_sync(cid, list(hook["exec"]["command"]), grace)
        elif "httpGet" in hook and self.sandbox is not None:
            target = probes.Target(self.ctx.runtime, cid, self.sandbox.netns_path, {})
            await probes.run_once(target, {"httpGet": hook["httpGet"], "timeoutSeconds": grace})
        elif "sleep" in hook:
            await asyncio.sleep(float(hook["sleep"].get("seconds", 0)))

    async def cleanup(self) -> None:
        """Remove the sandbox (containers, cgroups, netns), volumes and logs."""
        if self.sandbox_id:
            await self.ctx.runtime.remove_pod_sandbox(self.sandbox_id)
            self.sandbox_id = ""
        await asyncio.to_thread(volumes.teardown, self.pod_dir)
        if self.sandbox is not None:
            shutil.rmtree(self.sandbox.config.log_directory, ignore_errors=True)
        self.ctx.backoff.forget_prefix(self.uid + "/")
