"""The node's resource usage summary (the kubelet's /stats/summary), sampled over a window.

CPU usage in nanocores is a rate, so it needs two samples of the cumulative CPU time:
every running container and the node itself are sampled in the background every
`interval` seconds (cAdvisor's housekeeping), so every rate covers one interval, the
window the metrics API reports. A summary asked for when the last sample is older than
`min_window` (default: the interval; the loop fell behind) samples first. A summary
reports the latest sample with the rate over the window since the one before; a
container sampled only once so far has no `usageNanoCores` yet (upstream omits it too,
and metrics readers skip the pod). A restarted container is a new container id, so its
rate never spans two processes.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from kubelite.agent.runtime import hoststats, protocol

log = logging.getLogger(__name__)

Obj = dict[str, Any]
NODE_KEY = ""   # the node's own series among the container ids


@dataclass(frozen=True)
class Sample:
    at: float              # Unix seconds
    cpu_ns: int            # cumulative
    memory_usage: int
    working_set: int
    memory_limit: int      # 0: none


def nano_cores(prev: Sample | None, last: Sample) -> int | None:
    """CPU use between two samples in billionths of a core; None without a usable window."""
    if prev is None or last.at <= prev.at or last.cpu_ns < prev.cpu_ns:
        return None
    return int((last.cpu_ns - prev.cpu_ns) / (last.at - prev.at))


def rfc3339(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def cpu_stats(prev: Sample | None, last: Sample) -> Obj:
    out: Obj = {"time": rfc3339(last.at), "usageCoreNanoSeconds": last.cpu_ns}
    rate = nano_cores(prev, last)
    if rate is not None:
        out["usageNanoCores"] = rate
    return out


def memory_stats(last: Sample) -> Obj:
    out: Obj = {"time": rfc3339(last.at), "usageBytes": last.memory_usage,
                "workingSetBytes": last.working_set}
    if last.memory_limit:
        out["availableBytes"] = max(0, last.memory_limit - last.working_set)
    return out


class StatsProvider:
    """Keeps the last two samples per container and for the node; builds the summary."""

    def __init__(self, runtime: protocol.Runtime, node_name: str, *, interval: float = 10.0,
                 min_window: float | None = None,
                 host: Callable[[], hoststats.HostUsage] = hoststats.read,
                 clock: Callable[[], float] = time.time) -> None:
        self.runtime = runtime
        self.node_name = node_name
        self.interval = interval
        self.min_window = interval if min_window is None else min_window
        self._host = host
        self._clock = clock
        self._series: dict[str, tuple[Sample | None, Sample]] = {}
        self._boot_time = 0.0
        self._lock = asyncio.Lock()
        self._last_refresh = 0.0

    async def run(self) -> None:
        """Sample every `interval` seconds until cancelled."""
        while True:
            try:
                await self.refresh()
            except (protocol.RuntimeFailure, OSError, ValueError) as e:
                # A failed sample costs one window of figures, never the agent.
                log.warning("stats sampling failed error=%s", e)
            await asyncio.sleep(self.interval)

    async def refresh(self) -> None:
        """Take one sample of the node and every running container."""
        async with self._lock:
            fresh: dict[str, Sample] = {}
            for c in await self.runtime.list_containers():
                if c.state != protocol.RUNNING:
                    continue
                try:
                    st = await self.runtime.container_stats(c.id)
                except protocol.NotFound:
                    continue
                fresh[c.id] = Sample(st.timestamp, st.cpu_usage_ns, st.memory_usage_bytes,
                                     st.memory_working_set_bytes, st.memory_limit_bytes)
            host = self._host()
            self._boot_time = host.boot_time
            fresh[NODE_KEY] = Sample(self._clock(), host.cpu_usage_ns, host.memory_usage_bytes,
                                     host.memory_working_set_bytes, host.memory_total_bytes)
            self._series = {key: (self._series[key][1] if key in self._series else None, s)
                            for key, s in fresh.items()}
            self._last_refresh = time.monotonic()

    async def summary(self) -> Obj:
        """The Summary document (node, pods with their running containers)."""
        if time.monotonic() - self._last_refresh >= self.min_window:
            await self.refresh()
        series = self._series
        pods = []
        for sb in await self.runtime.list_pod_sandboxes():
            if sb.state != protocol.SANDBOX_READY:
                continue
            containers = [c for c in await self.runtime.list_containers(sb.id) if c.id in series]
            pods.append(self._pod(sb, containers, series))
        return {"node": self._node(series), "pods": pods}

    def _node(self, series: dict[str, tuple[Sample | None, Sample]]) -> Obj:
        out: Obj = {"nodeName": self.node_name, "startTime": rfc3339(self._boot_time)}
        if NODE_KEY in series:
            prev, last = series[NODE_KEY]
            out["cpu"], out["memory"] = cpu_stats(prev, last), memory_stats(last)
        return out

    def _pod(self, sb: protocol.PodSandboxStatus, containers: list[protocol.ContainerStatus],
             series: dict[str, tuple[Sample | None, Sample]]) -> Obj:
        cfg = sb.config
        out: Obj = {"podRef": {"name": cfg.name, "namespace": cfg.namespace, "uid": cfg.uid},
                    "startTime": rfc3339(sb.created_at), "containers": []}
        for c in sorted(containers, key=lambda c: c.name):
            prev, last = series[c.id]
            out["containers"].append({"name": c.name, "startTime": rfc3339(c.started_at),
                                      "cpu": cpu_stats(prev, last), "memory": memory_stats(last)})
        if out["containers"]:
            out["cpu"], out["memory"] = _pod_totals(out["containers"])
        return out


def _pod_totals(containers: list[Obj]) -> tuple[Obj, Obj]:
    """The pod's usage as the sum of its containers' (a rate only if every one has one)."""
    cpu: Obj = {"time": max(c["cpu"]["time"] for c in containers),
                "usageCoreNanoSeconds": sum(c["cpu"]["usageCoreNanoSeconds"] for c in containers)}
    if all("usageNanoCores" in c["cpu"] for c in containers):
        cpu["usageNanoCores"] = sum(c["cpu"]["usageNanoCores"] for c in containers)
    memory: Obj = {"time": max(c["memory"]["time"] for c in containers)}
    for key in ("usageBytes", "workingSetBytes"):
        memory[key] = sum(c["memory"][key] for c in containers)
    return cpu, memory
