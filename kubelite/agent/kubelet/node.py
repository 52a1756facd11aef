"""This machine as a Node: registration, status (capacity, conditions, nodeInfo), Lease.

The status is rebuilt every `status_period` seconds but written only when it changed or
a minute passed (upstream's nodeStatusReportFrequency); the Lease in kube-node-lease is
the cheap heartbeat, renewed every `lease_seconds`.
"""

from __future__ import annotations

import asyncio
import logging
import os
import platform
import shutil
import subprocess
import time
from dataclasses import dataclass
from typing import Any

from kubelite.api import claims, errors
from kubelite.client import events, rest

log = logging.getLogger(__name__)
Obj = dict[str, Any]
KUBELET_VERSION = "v1.32.4-kubelite"
# Where this node keeps the local-path provisioner's volumes (absolute): the provisioner
# gives a node without it no volumes.
LOCAL_PATH_ROOT = claims.LOCAL_PATH_ROOT
ARCH = {"x86_64": "amd64", "aarch64": "arm64"}


@dataclass(frozen=True)
class NodeConfig:
    name: str
    ip: str = "127.0.0.1"
    max_pods: int = 0
    runc_binary: str = "runc"
    lease_seconds: float = 10.0
    report_seconds: float = 60.0
    status_period: float = 10.0
    api_port: int = 10250  # the node API (kubelet) port, published as daemonEndpoints
    local_path_root: str = ""  # advertised as the LOCAL_PATH_ROOT annotation when set


def runtime_problem(runc_binary: str) -> str:
    """Why containers cannot run here, or "" when they can."""
    missing = []
    if os.geteuid() != 0:
        missing.append("root privileges (runc, cgroups, network namespaces need root)")
    if shutil.which(runc_binary) is None:
        missing.append(f"the {runc_binary} binary")
    return "container runtime is down: missing " + " and ".join(missing) if missing else ""


def runc_version(runc_binary: str) -> str:
    try:
        out = subprocess.run([runc_binary, "--version"], check=False, capture_output=True, text=True,
                             timeout=5).stdout
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    first = out.splitlines()[0] if out else ""
    return first.split()[-1] if first.startswith(("runc version", "crun version")) else "unknown"


def _memory_bytes() -> int:
    with open("/proc/meminfo", encoding="ascii") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) * 1024
    return 0


def _os_image() -> str:
    try:
        with open("/etc/os-release", encoding="utf-8") as f:
            for line in f:
                if line.startswith("PRETTY_NAME="):
                    return line.split("=", 1)[1].strip().strip('"')
    except OSError:
        pass
    return "Linux"


def _read(path: str) -> str:
    try:
        with open(path, encoding="ascii") as f:
            return f.read().strip()
    except OSError:
        return ""


def capacity(max_pods: int) -> Obj:
    cores = os.cpu_count() or 1
    st = os.statvfs("/")
    return {"cpu": str(cores), "memory": f"{_memory_bytes() // 1024}Ki",
            "pods": str(max_pods or min(110, 10 * cores)),
            "ephemeral-storage": f"{st.f_blocks * st.f_frsize // 1024}Ki"}


def node_info(cfg: NodeConfig) -> Obj:
    uname = platform.uname()
    return {"kubeletVersion": KUBELET_VERSION, "kubeProxyVersion": "",
            "containerRuntimeVersion":
                f"{os.path.basename(cfg.runc_binary)}://{runc_version(cfg.runc_binary)}",
            "osImage": _os_image(), "kernelVersion": uname.release, "operatingSystem": "linux",
            "architecture": ARCH.get(uname.machine, uname.machine),
            "machineID": _read("/etc/machine-id"), "systemUUID": _read("/etc/machine-id"),
            "bootID": _read("/proc/sys/kernel/random/boot_id")}


def conditions(problem: str) -> list[Obj]:
    """Pressure conditions (never raised here) and Ready, without timestamps."""
    out = [{"type": t, "status": "False", "reason": f"KubeletHas{r}", "message": m}
           for t, r, m in (("MemoryPressure", "SufficientMemory", "kubelet has sufficient memory available"),
                           ("DiskPressure", "NoDiskPressure", "kubelet has no disk pressure"),
                           ("PIDPressure", "SufficientPID", "kubelet has sufficient PID available"))]
    if problem:
        out.append({"type": "Ready", "status": "False", "reason": "KubeletNotReady",
                    "message": problem})
    else:
        out.append({"type": "Ready", "status": "True", "reason": "KubeletReady",
                    "message": "kubelet is posting ready status"})
    return out


def status(cfg: NodeConfig, problem: str) -> Obj:
    cap = capacity(cfg.max_pods)
    return {"capacity": cap, "allocatable": dict(cap), "conditions": conditions(problem),
            "addresses": [{"type": "InternalIP", "address": cfg.ip},
                          {"type": "Hostname", "address": cfg.name}],
            "nodeInfo": node_info(cfg), "daemonEndpoints": {"kubeletEndpoint": {"Port": cfg.api_port}}}


def stamp(new: list[Obj], old: list[Obj], now: str) -> list[Obj]:
    """Heartbeat every condition; keep lastTransitionTime while the status holds."""
    prior = {c.get("type"): c for c in old}
    out = []
    for cond in new:
        before = prior.get(cond["type"]) or {}
        same = before.get("status") == cond["status"]
        out.append({**cond, "lastHeartbeatTime": now,
                    "lastTransitionTime": before.get("lastTransitionTime") if same else now})
    return out


class NodeManager:
    """Registers the node and keeps its status and Lease current until cancelled."""

    def __init__(self, client: rest.Client, cfg: NodeConfig, recorder: events.Recorder) -> None:
        self.client = client
        self.cfg = cfg
        self.recorder = recorder
        self.problem = runtime_problem(cfg.runc_binary)
        self._node_rt = client.resource("v1", "Node")
        self._lease_rt = client.resource("coordination.k8s.io/v1", "Lease")
        self._last: Obj = {}
        self._last_write = 0.0

    def annotations(self) -> dict[str, str]:
        """The annotations this agent owns on its Node."""
        out = {"node.alpha.kubernetes.io/ttl": "0"}
        if self.cfg.local_path_root:
            out[LOCAL_PATH_ROOT] = self.cfg.local_path_root
        return out

    def node_object(self) -> Obj:
        labels = {"kubernetes.io/hostname": self.cfg.name, "kubernetes.io/os": "linux",
                  "kubernetes.io/arch": ARCH.get(platform.machine(), platform.machine())}
        st = status(self.cfg, self.problem)
        st["conditions"] = stamp(st["conditions"], [], events.now())
        return {"apiVersion": "v1", "kind": "Node",
                "metadata": {"name": self.cfg.name, "labels": labels,
                             "annotations": self.annotations()},
                "spec": {}, "status": st}

    async def _adopt(self) -> Obj:
        """The existing Node of this name, with this agent's annotations (re)applied: the
        agent's data dir, and so its local-path root, may have moved since."""
        node = await self.client.get(self._node_rt, self.cfg.name)
        mine = self.annotations()
        have = node["metadata"].get("annotations") or {}
        if any(have.get(k) != v for k, v in mine.items()):
            node = await self.client.patch(self._node_rt, self.cfg.name,
                                           {"metadata": {"annotations": mine}})
        return node

    async def register(self) -> Obj:
        """Create the Node, or adopt an existing one of the same name."""
        try:
            node = await self.client.create(self._node_rt, self.node_object())
            log.info("node registered node=%s", self.cfg.name)
        except errors.APIError as e:
            if not errors.is_already_exists(e):
                raise
            node = await self._adopt()
        if self.problem:
            log.error("node cannot run containers node=%s problem=%r", self.cfg.name, self.problem)
            self.recorder.event(node, "Warning", "ContainerRuntimeUnavailable", self.problem)
        self._last = node.get("status") or {}
        await self.update_status(force=True)
        return node

    async def update_status(self, *, force: bool = False) -> None:
        """Write the status if it changed (ignoring heartbeats) or the report period passed."""
        st = status(self.cfg, self.problem)
        bare = {k: v for k, v in st.items() if k != "conditions"}
        old_bare = {k: v for k, v in self._last.items() if k in bare}
        old_conds = [{k: v for k, v in c.items() if not k.endswith("Time")}
                     for c in self._last.get("conditions") or []]
        changed = bare != old_bare or old_conds != st["conditions"]
        if not (force or changed or time.monotonic() - self._last_write >= self.cfg.report_seconds):
            return
        st["conditions"] = stamp(st["conditions"], self._last.get("conditions") or [], events.now())
        node = await self.client.patch(self._node_rt, self.cfg.name, {"status": st},
                                       subresource="status")
        self._last = node.get("status") or st
        self._last_write = time.monotonic()

    async def renew_lease(self) -> None:
        now = events.now_datetime().strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        lease = {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                 "metadata": {"name": self.cfg.name, "namespace": "kube-node-lease"},
                 "spec": {"holderIdentity": self.cfg.name, "leaseDurationSeconds": 40,
                          "renewTime": now}}
        await self.client.patch(self._lease_rt, self.cfg.name, lease, namespace="kube-node-lease",
                                patch_type="apply", field_manager="kubelet", force=True)

    async def _every(self, period: float, fn: Any, what: str) -> None:
        while True:
            try:
                await fn()
            except errors.APIError as e:
                log.warning("%s failed node=%s error=%s", what, self.cfg.name, e)
            await asyncio.sleep(period)

    async def run(self) -> None:
        """Register, then renew the Lease and report status until cancelled."""
        await self.register()
        async with asyncio.TaskGroup() as tg:
            tg.create_task(self._every(self.cfg.lease_seconds, self.renew_lease, "lease renew"))
            tg.create_task(self._every(self.cfg.status_period, self.update_status, "node status"))
