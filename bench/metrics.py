"""Resource metrics benchmark: what `kubectl top` costs the API server and a node agent.

API side: a real `kubelite server` with hollow nodes and N running pods; the median time
to serve every PodMetrics (`kubectl top pod -A`) and every NodeMetrics, each against the
plain pod/node LIST of the same objects (stored bytes spliced, nothing decoded) and the
same LIST as a Table (`kubectl get pods -A`: every object decoded, like a metrics list),
measured in the same run. Agent side: the time to read one cgroup's usage
files (what sampling costs per container) and the machine's /proc figures.

    .venv/bin/python bench/metrics.py [--pods 1000] [--nodes 10] [--runs 15]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from typing import Any

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from kubelite.agent.runtime import cgroupstats, hoststats
from kubelite.client import rest
from tests.e2e import cluster as cluster_mod

Obj = dict[str, Any]


def pod(name: str, node: str) -> Obj:
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "labels": {"app": "bench"}},
            "spec": {"nodeName": node, "containers": [{"name": "c", "image": "bench:1"}]}}


TABLE = "application/json;as=Table;v=v1;g=meta.k8s.io"


async def median_get(client: rest.Client, path: str, runs: int, accept: str = "") -> float:
    session = client._sess()
    headers = {"Accept": accept} if accept else {}
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        async with session.get(client.server + path, headers=headers) as resp:
            await resp.read()
            assert resp.status == 200, resp.status
        times.append(time.perf_counter() - t)
    return statistics.median(times)


async def wait_running(client: rest.Client, count: int, timeout: float = 300) -> None:
    pod_rt = client.resource("v1", "Pod")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        items = (await client.list(pod_rt, "default"))["items"]
        if sum(1 for p in items if (p.get("status") or {}).get("phase") == "Running") >= count:
            return
        await asyncio.sleep(0.5)
    raise TimeoutError("pods did not all start")


async def api_side(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="kubelite-bench-") as d:
        cluster = cluster_mod.start(os.path.join(d, "data"), os.path.join(d, "home"),
                                    "--disable", "agent,scheduler", "--sim-nodes",
                                    str(args.nodes))
        client = rest.Client.from_kubeconfig(cluster.kubeconfig, user_agent="bench")
        try:
            pod_rt = client.resource("v1", "Pod")
            sem = asyncio.Semaphore(20)

            async def create(i: int) -> None:
                async with sem:
                    await client.create(pod_rt, pod(f"p{i}", f"hollow-{i % args.nodes}"),
                                        "default")
            await asyncio.gather(*(create(i) for i in range(args.pods)))
            await wait_running(client, args.pods)
            pairs = (("pods", "/api/v1/pods", "/apis/metrics.k8s.io/v1beta1/pods"),
                     ("nodes", "/api/v1/nodes", "/apis/metrics.k8s.io/v1beta1/nodes"))
            print(f"API server, {args.pods} pods on {args.nodes} hollow nodes, "
                  f"median of {args.runs}:")
            for what, plain, metrics in pairs:
                base = await median_get(client, plain, args.runs)
                table = await median_get(client, plain, args.runs, TABLE)
                got = await median_get(client, metrics, args.runs)
                print(f"  {what:<6} list {base * 1000:7.2f} ms  as Table {table * 1000:7.2f} ms"
                      f"  metrics {got * 1000:7.2f} ms  (x{got / base:.1f} list, "
                      f"x{got / table:.1f} Table)")
        finally:
            await client.close()
            cluster.stop()


def agent_side(runs: int = 2000) -> None:
    print(f"node agent, median of {runs}:")
    for name, fn in (("one cgroup's usage (cgroupstats.read)", lambda: cgroupstats.read("/")),
                     ("machine usage (hoststats.read)", hoststats.read)):
        times = []
        for _ in range(runs):
            t = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t)
        print(f"  {name:<40} {statistics.median(times) * 1e6:8.1f} us")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pods", type=int, default=1000)
    parser.add_argument("--nodes", type=int, default=10)
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    agent_side()
    asyncio.run(api_side(args))


if __name__ == "__main__":
    main()
