"""How fast the service proxy's rules follow endpoint changes, seen from outside the
proxy: `nft monitor` in the node's namespace stamps when a rule change lands."""

from __future__ import annotations

import asyncio
import time

from kubelite.client import rest
from tests.e2e import cluster as cluster_mod


class RuleMonitor:
    """`nft monitor` in the node's namespace: when did a rule change show up."""

    async def start(self) -> None:
        self.proc = await asyncio.create_subprocess_exec(
            "nft", "monitor", "rules", stdout=asyncio.subprocess.PIPE,
            stdin=asyncio.subprocess.DEVNULL)
        self.lines: asyncio.Queue[tuple[float, str]] = asyncio.Queue()
        self.task = asyncio.create_task(self._read())

    async def _read(self) -> None:
        assert self.proc.stdout is not None
        while line := await self.proc.stdout.readline():
            await self.lines.put((time.perf_counter(), line.decode()))

    def drain(self) -> None:
        while not self.lines.empty():
            self.lines.get_nowait()

    async def wait_for(self, needle: str, timeout: float = 30) -> float:
        """perf_counter time of the first line containing `needle`."""
        async with asyncio.timeout(timeout):
            while True:
                at, line = await self.lines.get()
                if needle in line:
                    return at

    async def stop(self) -> None:
        self.proc.terminate()
        await self.proc.wait()
        self.task.cancel()


async def slice_to_rules(kubeconfig: str, monitor: RuleMonitor, changes: int, *, ns: str
                         ) -> list[float]:
    """Seconds from an EndpointSlice write (a selectorless Service's) to its new endpoint's
    dnat rule in the table."""
    client = rest.Client.from_kubeconfig(kubeconfig)
    svc_rt = client.resource("v1", "Service")
    slice_rt = client.resource("discovery.k8s.io/v1", "EndpointSlice")
    try:
        await client.create(svc_rt, {"metadata": {"name": "churn"}, "spec": {
            "ports": [{"name": "http", "port": 80, "protocol": "TCP"}]}}, ns)
        await client.create(slice_rt, {
            "metadata": {"name": "churn-1", "labels": {"kubernetes.io/service-name": "churn"}},
            "addressType": "IPv4", "ports": [{"name": "http", "port": 80, "protocol": "TCP"}],
            "endpoints": []}, ns)
        out = []
        for i in range(changes):
            ip = f"10.42.250.{i % 250 + 1}"
            monitor.drain()
            t0 = time.perf_counter()
            await client.patch(slice_rt, "churn-1", {"endpoints": [
                {"addresses": [ip], "conditions": {"ready": True}}]}, namespace=ns)
            out.append(await monitor.wait_for(f"dnat to {ip}:80") - t0)
        return out
    finally:
        await client.close()


async def unready_to_rules(c: cluster_mod.Cluster, pods: dict[str, str], port: int, *,
                           monitor: RuleMonitor, samples: int, ns: str) -> list[float]:
    """Seconds from a pod's readiness file going (its probe fails within the 1 s period)
    to its endpoint leaving the rules; the pod is made ready again between samples."""
    name, ip = min(pods.items())
    out = []
    for _ in range(samples):
        monitor.drain()
        await asyncio.to_thread(c.kubectl, "exec", "-n", ns, name, "--", "rm", "/www/ready")
        t0 = time.perf_counter()
        out.append(await monitor.wait_for(f"/{ip}/{port}") - t0)
        monitor.drain()
        await asyncio.to_thread(c.kubectl, "exec", "-n", ns, name, "--", "touch", "/www/ready")
        await monitor.wait_for(f"dnat to {ip}:{port}")
    return out
