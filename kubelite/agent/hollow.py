"""Simulated (hollow) nodes, as kwok does: Nodes and Leases without containers.

Each hollow node registers a Node with capacity, renews its Lease, and reports the pods
bound to it as Running and Ready (and deletes them when they are deleted gracefully),
all through the API server. One watch on pods serves every hollow node of the process.
Used by the control-plane tests and benchmarks.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
from dataclasses import dataclass
from typing import Any

from kubelite.api import errors
from kubelite.client import events, rest

log = logging.getLogger(__name__)

Obj = dict[str, Any]


@dataclass(frozen=True)
class Options:
    count: int
    prefix: str = "hollow"
    cpu: str = "4"
    memory: str = "32Gi"
    pods: str = "110"
    lease_seconds: float = 10.0
    labels: tuple[tuple[str, str], ...] = ()


def node_object(name: str, index: int, opts: Options) -> Obj:
    capacity = {"cpu": opts.cpu, "memory": opts.memory, "pods": opts.pods,
                "ephemeral-storage": "100Gi"}
    labels = {"kubernetes.io/hostname": name, "kubernetes.io/os": "linux",
              "kubernetes.io/arch": "amd64", "type": "kwok", **dict(opts.labels)}
    now = events.now()
    conditions = [
        {"type": t, "status": "False", "reason": f"KubeletHas{r}", "message": m,
         "lastHeartbeatTime": now, "lastTransitionTime": now}
        for t, r, m in (("MemoryPressure", "SufficientMemory", "kubelet has sufficient memory"),
                        ("DiskPressure", "NoDiskPressure", "kubelet has no disk pressure"),
                        ("PIDPressure", "SufficientPID", "kubelet has sufficient PID"))]
    conditions.append({"type": "Ready", "status": "True", "reason": "KubeletReady",
                       "message": "kubelet is posting ready status", "lastHeartbeatTime": now,
                       "lastTransitionTime": now})
    return {
        "apiVersion": "v1", "kind": "Node",
        "metadata": {"name": name, "labels": labels,
                     "annotations": {"node.alpha.kubernetes.io/ttl": "0", "kwok.x-k8s.io/node":
                                     "fake"}},
        "spec": {"podCIDR": _pod_cidr(index), "podCIDRs": [_pod_cidr(index)]},
        "status": {
            "capacity": capacity, "allocatable": capacity, "conditions": conditions,
            "addresses": [{"type": "InternalIP", "address": _node_ip(index)},
                          {"type": "Hostname", "address": name}],
            "nodeInfo": {"kubeletVersion": "v1.32.4-kubelite", "kubeProxyVersion": "",
                         "containerRuntimeVersion": "hollow://1.0", "osImage": "kubelite hollow",
                         "kernelVersion": "", "operatingSystem": "linux", "architecture": "amd64",
                         "machineID": "", "systemUUID": "", "bootID": ""},
            "phase": "Running",
        },
    }


def _pod_cidr(index: int) -> str:
    return f"10.{64 + index // 256}.{index % 256}.0/24"


def _node_ip(index: int) -> str:
    # Loopback addresses: anything that ever dials a hollow node stays on this machine.
    return str(ipaddress.ip_address("127.1.0.0") + index + 1)


def running_status(pod: Obj, node: Obj) -> Obj:
    """What a kubelet reports for a pod whose containers all started."""
    now = events.now()
    cidr = ipaddress.ip_network(node["spec"]["podCIDR"])
    ip = str(cidr.network_address + 2 + (hash(pod["metadata"]["uid"]) % 250))
    statuses = [{"name": c["name"], "ready": True, "restartCount": 0, "started": True,
                 "image": c.get("image", ""), "imageID": "", "containerID":
                 f"hollow://{pod['metadata']['uid'][:8]}-{c['name']}",
                 "state": {"running": {"startedAt": now}}}
                for c in pod["spec"].get("containers") or []]
    conds = [{"type": t, "status": "True", "lastProbeTime": None, "lastTransitionTime": now}
             for t in ("PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady",
                       "PodScheduled")]
    return {"phase": "Running", "conditions": conds, "hostIP": _host_ip(node),
            "hostIPs": [{"ip": _host_ip(node)}], "podIP": ip, "podIPs": [{"ip": ip}],
            "startTime": now, "containerStatuses": statuses,
            "qosClass": (pod.get("status") or {}).get("qosClass", "BestEffort")}


def _host_ip(node: Obj) -> str:
    for a in node["status"]["addresses"]:
        if a["type"] == "InternalIP":
            return str(a["address"])
    return ""


class HollowNodes:
    def __init__(self, client: rest.Client, opts: Options) -> None:
        self.client = client
        self.opts = opts
        self.nodes: dict[str, Obj] = {}
        self._node_rt = client.resource("v1", "Node")
        self._lease_rt = client.resource("coordination.k8s.io/v1", "Lease")
        self._pod_rt = client.resource("v1", "Pod")
        self._sem = asyncio.Semaphore(32)
        self._inflight: set[asyncio.Task[None]] = set()

    def _spawn(self, pod: Obj) -> None:
        task = asyncio.create_task(self._handle_pod(pod))
        self._inflight.add(task)
        task.add_done_callback(self._inflight.discard)

    async def register(self) -> None:
        async def one(i: int) -> None:
            name = f"{self.opts.prefix}-{i}"
            obj = node_object(name, i, self.opts)
            async with self._sem:
                try:
                    self.nodes[name] = await self.client.create(self._node_rt, obj)
                except errors.APIError as e:
                    if not errors.is_already_exists(e):
                        raise
                    self.nodes[name] = await self.client.get(self._node_rt, name)
                await self._renew(name)
        await asyncio.gather(*(one(i) for i in range(self.opts.count)))

    async def _renew(self, name: str) -> None:
        now = events.now_datetime().strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        lease = {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                 "metadata": {"name": name, "namespace": "kube-node-lease"},
                 "spec": {"holderIdentity": name, "leaseDurationSeconds": 40, "renewTime": now}}
        await self.client.patch(self._lease_rt, name, lease, namespace="kube-node-lease",
                                patch_type="apply", field_manager="hollow-node", force=True)

    async def _renew_loop(self) -> None:
        names = list(self.nodes)
        gap = self.opts.lease_seconds / max(len(names), 1)
        while True:
            for name in names:
                try:
                    await self._renew(name)
                except errors.APIError as e:
                    log.warning("lease renew failed node=%s error=%s", name, e)
                await asyncio.sleep(gap)

    async def _handle_pod(self, pod: Obj) -> None:
        node = self.nodes.get((pod.get("spec") or {}).get("nodeName", ""))
        if node is None:
            return
        meta = pod["metadata"]
        async with self._sem:
            await self._report(pod, node, meta)

    async def _report(self, pod: Obj, node: Obj, meta: Obj) -> None:
        try:
            if meta.get("deletionTimestamp"):
                await self.client.delete(self._pod_rt, meta["name"], meta["namespace"],
                                         grace_period=0, uid=meta["uid"])
            elif (pod.get("status") or {}).get("phase") == "Pending":
                await self.client.patch(self._pod_rt, meta["name"],
                                        {"status": running_status(pod, node)},
                                        namespace=meta["namespace"], subresource="status")
        except errors.APIError as e:
            if not (errors.is_not_found(e) or errors.is_conflict(e)):
                log.warning("hollow pod update failed pod=%s error=%s", meta["name"], e)

    async def _pods_loop(self) -> None:
        rv = ""
        while True:
            try:
                if not rv:
                    listed = await self.client.list(self._pod_rt, field_selector="spec.nodeName!=")
                    rv = listed["metadata"]["resourceVersion"]
                    for pod in listed["items"]:
                        self._spawn(pod)
                async for ev in self.client.watch(self._pod_rt, resource_version=rv,
                                                  field_selector="spec.nodeName!="):
                    rv = ev["object"]["metadata"]["resourceVersion"]
                    if ev["type"] in ("ADDED", "MODIFIED"):
                        self._spawn(ev["object"])
            except errors.APIError as e:
                if errors.is_gone(e):
                    rv = ""
                    continue
                log.warning("hollow pod watch failed error=%s", e)
                await asyncio.sleep(1)

    async def run(self) -> None:
        """Register, then keep leases fresh and pods running until cancelled."""
        await self.register()
        log.info("hollow nodes registered count=%d", len(self.nodes))
        async with asyncio.TaskGroup() as tg:
            tg.create_task(self._renew_loop())
            tg.create_task(self._pods_loop())
