"""Pod traffic across nodes against pod traffic on one node, and how fast routes follow Nodes.

Two nodes on one machine (tests/e2e/multinodeenv.py: two network namespaces joined by a
veth pair, the server with its agent in host A, a standalone agent in host B), two busybox
httpd pods on each. The measuring part re-runs this file inside host A (`ip netns exec`)
and measures, in the same run:

- HTTP requests/s and p50/p99 latency, a new connection per request, from node A to the
  pods on A (over its bridge) and to the pods on B (routed over the link, forwarded by
  B), rounds interleaved; the ratio is the figure;
- time from writing a Node's InternalIP (a Node with a pod CIDR, the address on the link)
  to its route in A's table, and from deleting the Node to the route gone, as the kernel
  reports them (`ip monitor route`).

Nothing leaves the test hosts. Needs root, runc, busybox, ip, nsenter, nft. Run:

    .venv/bin/python bench/multinode.py [--requests 2000] [--concurrency 8] [--rounds 3]
                                        [--changes 20]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from bench import network as network_bench
from kubelite.agent.network import routes
from kubelite.client import rest
from tests.e2e import agentenv, multinodeenv

NS = "bench-multinode"
SERVE = "hostname > /www/index.html; exec httpd -f -p 8080 -h /www"
READY = ("    readinessProbe:\n      httpGet: {path: /index.html, port: 8080}\n"
         "      periodSeconds: 1\n")


def deploy(t: multinodeenv.TwoNodes) -> dict[str, list[str]]:
    """Two httpd pods pinned to each node; node InternalIP -> their pod IPs."""
    names = {ip: n["metadata"]["name"] for ip, n in t.nodes().items()}
    docs = [agentenv.pod_yaml(f"web-{side}{i}", NS, SERVE, container_extra=READY,
                              extra=f"  nodeName: {names[ip]}\n", grace=1)
            for side, ip in (("a", multinodeenv.A_IP), ("b", multinodeenv.B_IP)) for i in (1, 2)]
    t.kubectl("apply", "-f", "-", input="---\n".join(docs))
    t.kubectl("wait", "-n", NS, "pod", "--all", "--for=condition=Ready", "--timeout=120s",
              timeout=130)
    out: dict[str, list[str]] = {multinodeenv.A_IP: [], multinodeenv.B_IP: []}
    for p in t.kubectl_json("get", "pods", "-n", NS)["items"]:
        out[p["status"]["hostIP"]].append(p["status"]["podIP"])
    return out


class RouteMonitor:
    """`ip monitor route` in this namespace: each kubelite route change, timestamped as the
    kernel reports it (no polling competing with the agent for the CPU)."""

    def __init__(self) -> None:
        self.lines: list[tuple[float, str]] = []
        self._changed = asyncio.Condition()
        self._proc: asyncio.subprocess.Process | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._proc = await asyncio.create_subprocess_exec(
            "ip", "monitor", "route", stdout=asyncio.subprocess.PIPE)
        self._task = asyncio.create_task(self._read())

    async def _read(self) -> None:
        assert self._proc is not None and self._proc.stdout is not None
        async for raw in self._proc.stdout:
            now = time.perf_counter()
            async with self._changed:
                self.lines.append((now, raw.decode()))
                self._changed.notify_all()

    async def wait(self, since: float, prefix: str, timeout: float = 30) -> float:
        """Seconds from `since` to the first line after it starting with `prefix`."""
        def seen() -> float | None:
            return next((t for t, line in self.lines if t >= since and line.startswith(prefix)),
                        None)
        async with asyncio.timeout(timeout), self._changed:
            await self._changed.wait_for(lambda: seen() is not None)
        at = seen()
        assert at is not None
        return at - since

    async def stop(self) -> None:
        if self._proc is not None:
            self._proc.terminate()
            await self._proc.wait()
        if self._task is not None:
            await self._task


async def route_latency(kubeconfig: str, changes: int) -> tuple[list[float], list[float]]:
    """(Node's InternalIP written -> route in place, Node deleted -> route gone), seconds
    from sending the write to the kernel's notice."""
    client = rest.Client.from_kubeconfig(kubeconfig)
    node_rt = client.resource("v1", "Node")
    monitor = RouteMonitor()
    await monitor.start()
    added, removed = [], []
    try:
        for i in range(changes):
            name, cidr = f"bench-node-{i}", f"10.46.{100 + i}.0/24"
            await client.create(node_rt, {"apiVersion": "v1", "kind": "Node",
                                          "metadata": {"name": name},
                                          "spec": {"podCIDR": cidr, "podCIDRs": [cidr]}})
            began = time.perf_counter()       # the InternalIP completes what a route needs
            await client.patch(node_rt, name, {"status": {"addresses": [
                {"type": "InternalIP", "address": f"10.45.0.{10 + i}"}]}}, subresource="status")
            added.append(await monitor.wait(began, f"{cidr} via"))
            began = time.perf_counter()
            await client.delete(node_rt, name)
            removed.append(await monitor.wait(began, f"Deleted {cidr} via"))
            assert cidr not in await routes.installed()
    finally:
        await monitor.stop()
        await client.close()
    return added, removed


def report_latency(label: str, values: list[float]) -> None:
    print(f"  {label:34} p50 {network_bench.pct(values, 50) * 1e3:7.1f} ms"
          f"   p99 {network_bench.pct(values, 99) * 1e3:7.1f} ms   (n={len(values)})")


async def measure(cfg: dict[str, object], args: argparse.Namespace) -> None:
    targets = cfg["targets"]
    assert isinstance(targets, dict)
    network_bench.PATHS.clear()
    network_bench.PATHS.update({
        "direct to pods": lambda _c, _w: [(ip, 8080) for ip in targets["local"]],
        "pods on node B": lambda _c, _w: [(ip, 8080) for ip in targets["remote"]]})
    print(f"HTTP from node A, {args.requests} requests x {args.rounds} rounds, "
          f"{args.concurrency} concurrent (the first row is the same node's pods):")
    # PATHS ignore the cluster and Web arguments here: the targets are fixed above.
    results = await network_bench.compare_paths(None, None, args.requests,  # type: ignore[arg-type]
                                                args.concurrency, args.rounds)
    network_bench.report_paths(results)
    added, removed = await route_latency(str(cfg["kubeconfig"]), args.changes)
    print("Routes following Nodes (API write sent -> kernel route change):")
    report_latency("Node's InternalIP set -> route in", added)
    report_latency("Node deleted -> route out", removed)


def run(args: argparse.Namespace) -> None:
    if why := multinodeenv.why_not():
        sys.exit(f"cannot run: {why}")
    print(f"load average before: {os.getloadavg()[0]:.1f}")
    with tempfile.TemporaryDirectory(prefix="kubelite-bench-multinode-") as base, \
            multinodeenv.running(base, NS) as t:
        pods = deploy(t)
        cfg = {"targets": {"local": pods[multinodeenv.A_IP], "remote": pods[multinodeenv.B_IP]},
               "kubeconfig": os.path.join(t.data_a, "kubeconfig.yaml")}
        subprocess.run(["ip", "netns", "exec", t.host_a, sys.executable, __file__,
                        "--inner", json.dumps(cfg), *sys.argv[1:]], check=True)
    print(f"load average after: {os.getloadavg()[0]:.1f}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--requests", type=int, default=2000)
    p.add_argument("--concurrency", type=int, default=8)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--changes", type=int, default=20)
    p.add_argument("--inner", default="", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.inner:
        asyncio.run(measure(json.loads(args.inner), args))
    else:
        run(args)


if __name__ == "__main__":
    main()
