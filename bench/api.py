"""API server benchmark: throughput and latency of the REST verbs over HTTPS.

Starts a real `kubelite server` on loopback in a temporary directory, drives it with N
concurrent clients, and prints figures with, where one exists, a baseline measured in
the same run (the raw store's insert rate for creates). Run:

    .venv/bin/python bench/api.py [--clients 20] [--objects 2000] [--pods 10000]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from typing import Any, Awaitable, Callable

import orjson

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from kubelite.client import rest  # noqa: E402
from kubelite.storage import sqlite  # noqa: E402
from tests.e2e import cluster as cluster_mod  # noqa: E402

Obj = dict[str, Any]


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def report(name: str, latencies: list[float], seconds: float) -> float:
    rate = len(latencies) / seconds if seconds else 0.0
    print(f"{name:<28} {rate:9.0f}/s   p50 {pct(latencies, 50) * 1000:7.2f} ms   "
          f"p99 {pct(latencies, 99) * 1000:7.2f} ms   (n={len(latencies)})")
    return rate


async def run_concurrent(n: int, clients: int, op: Callable[[int], Awaitable[None]]
                         ) -> tuple[list[float], float]:
    latencies: list[float] = []
    counter = iter(range(n))

    async def worker() -> None:
        for i in counter:
            t = time.perf_counter()
            await op(i)
            latencies.append(time.perf_counter() - t)

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(clients)))
    return latencies, time.perf_counter() - start


def configmap(name: str) -> Obj:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name,
            "labels": {"app": "bench"}}, "data": {"key": "value" * 10}}


def pod(name: str) -> Obj:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "labels": {"app": "b"}},
            "spec": {"containers": [{"name": "c", "image": "registry.local/bench:1",
                                     "resources": {"requests": {"cpu": "100m",
                                                                "memory": "500Mi"}}}]}}


async def list_timings(client: rest.Client, path: str, runs: int = 5
                       ) -> tuple[float, float, int]:
    """Median time until the whole LIST body has arrived, and the client's decode time."""
    served, parsed = [], []
    session = client._sess()
    count = 0
    for _ in range(runs):
        t = time.perf_counter()
        async with session.get(client.server + path) as resp:
            body = await resp.read()
        served.append(time.perf_counter() - t)
        t = time.perf_counter()
        count = len(orjson.loads(body)["items"])
        parsed.append(time.perf_counter() - t)
    return statistics.median(served), statistics.median(parsed), count


async def store_baseline(n: int, concurrency: int) -> float:
    with tempfile.TemporaryDirectory(prefix="kubelite-bench-") as d:
        store = sqlite.SQLiteStore(os.path.join(d, "state.db"), compact_interval=0)
        await store.start()
        value = b'{"kind":"ConfigMap"}' * 20
        counter = iter(range(n))

        async def worker() -> None:
            for i in counter:
                await store.create(f"/registry/core/configmaps/default/cm-{i}", value)
        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - start
        await store.close()
    return n / elapsed


async def watch_latency(client: rest.Client, ns: str, n: int) -> list[float]:
    """Create objects at a steady pace and time each one's arrival on a watch."""
    cm_rt = client.resource("v1", "ConfigMap")
    sent: dict[str, float] = {}
    seen: list[float] = []
    listed = await client.list(cm_rt, ns, limit=1)
    done = asyncio.Event()

    async def watcher() -> None:
        async for ev in client.watch(cm_rt, ns, resource_version=listed["metadata"][
                "resourceVersion"], bookmarks=False):
            name = ev["object"]["metadata"]["name"]
            if ev["type"] == "ADDED" and name in sent:
                seen.append(time.perf_counter() - sent[name])
                if len(seen) == n:
                    done.set()
                    return

    task = asyncio.create_task(watcher())
    await asyncio.sleep(0.2)
    for i in range(n):
        name = f"watched-{i}"
        sent[name] = time.perf_counter()
        await client.create(cm_rt, configmap(name), ns)
        await asyncio.sleep(0.01)
    await asyncio.wait_for(done.wait(), 30)
    task.cancel()
    return seen


async def churn(client: rest.Client, ns: str, rate: float, seconds: float) -> list[float]:
    """Mutations at a fixed rate (the SLO load shape): create, update, delete."""
    cm_rt = client.resource("v1", "ConfigMap")
    latencies: list[float] = []
    tasks = []

    async def one(i: int) -> None:
        t = time.perf_counter()
        obj = await client.create(cm_rt, configmap(f"churn-{i}"), ns)
        latencies.append(time.perf_counter() - t)
        obj["data"]["key"] = "changed"
        t = time.perf_counter()
        await client.update(cm_rt, obj)
        latencies.append(time.perf_counter() - t)
        t = time.perf_counter()
        await client.delete(cm_rt, f"churn-{i}", ns)
        latencies.append(time.perf_counter() - t)

    for i in range(int(rate * seconds / 3)):
        tasks.append(asyncio.create_task(one(i)))
        await asyncio.sleep(3 / rate)
    await asyncio.gather(*tasks)
    return latencies


def rss_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


async def settled_rss(pid: int, seconds: float = 12.0) -> float:
    """RSS once the server has idled past its heap-trim interval (steady state)."""
    await asyncio.sleep(seconds)
    return rss_mib(pid)


async def main(args: argparse.Namespace) -> None:
    baseline = await store_baseline(args.objects, args.clients)
    with tempfile.TemporaryDirectory(prefix="kubelite-bench-") as d:
        cluster = cluster_mod.start(os.path.join(d, "data"), os.path.join(d, "home"),
                                    "--disable", "agent,controllers,scheduler")
        client = rest.Client.from_kubeconfig(cluster.kubeconfig, user_agent="bench")
        try:
            await bench(client, cluster, args, baseline)
        finally:
            await client.close()
            cluster.stop()


async def bench(client: rest.Client, cluster: cluster_mod.Cluster, args: argparse.Namespace,
                baseline: float) -> None:
    ns = "default"
    cm_rt, pod_rt = client.resource("v1", "ConfigMap"), client.resource("v1", "Pod")
    print(f"kubelite API benchmark: {args.clients} concurrent clients over HTTPS, "
          f"{os.cpu_count()} cores\n")
    print(f"{'raw store inserts':<28} {baseline:9.0f}/s")
    lat, secs = await run_concurrent(args.objects, args.clients, lambda i: client.create(
        cm_rt, configmap(f"cm-{i}"), ns))
    creates = report("create configmap", lat, secs)
    print(f"{'  ratio to raw store':<28} {creates / baseline:9.3f}")
    lat, secs = await run_concurrent(args.objects, args.clients, lambda i: client.get(
        cm_rt, f"cm-{i}", ns))
    report("get configmap", lat, secs)

    async def update(i: int) -> None:
        await client.patch(cm_rt, f"cm-{i}", {"data": {"key": f"v{i}"}}, namespace=ns)
    lat, secs = await run_concurrent(args.objects, args.clients, update)
    report("patch configmap", lat, secs)
    lat, secs = await run_concurrent(args.pods, args.clients, lambda i: client.create(
        pod_rt, pod(f"pod-{i}"), ns))
    report("create pod", lat, secs)
    settled = await settled_rss(cluster.proc.pid)
    print(f"{'server RSS (settled)':<28} {settled:9.1f} MiB  "
          f"({args.pods} pods, {args.objects} configmaps stored)")
    served, parsed, count = await list_timings(client, f"/api/v1/namespaces/{ns}/pods")
    print(f"{'list ' + str(count) + ' pods':<28} median {served * 1000:7.1f} ms served "
          f"(+{parsed * 1000:.0f} ms JSON decode in this Python client)")
    print(f"{'server RSS after lists':<28} {await settled_rss(cluster.proc.pid):9.1f} MiB")
    lat = await watch_latency(client, ns, 200)
    print(f"{'watch delivery':<28} p50 {pct(lat, 50) * 1000:7.2f} ms   "
          f"p99 {pct(lat, 99) * 1000:7.2f} ms")
    lat = await churn(client, ns, 20.0, 10.0)
    print(f"{'mutations at 20/s':<28} p50 {pct(lat, 50) * 1000:7.2f} ms   "
          f"p99 {pct(lat, 99) * 1000:7.2f} ms")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--objects", type=int, default=2000)
    parser.add_argument("--pods", type=int, default=10000)
    asyncio.run(main(parser.parse_args()))
