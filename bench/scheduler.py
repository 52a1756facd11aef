"""Scheduler benchmark through the API server, shaped like upstream scheduler_perf.

SchedulingBasic: N hollow nodes (4 CPU, 32Gi, 110 pods), initial pods, then measured
pods (100m CPU / 500Mi each) created as fast as the API takes them; throughput comes
from the bindings seen on a pod watch, sampled per second as scheduler_perf does
(average over the measured pods, and percentiles of the 1-second samples).
ReplicaSetRunning (or DeploymentRunning once Deployments are served): 1000 replicas
on 100 hollow nodes, time until every pod is Running.

A real `kubelite server` runs as a subprocess, as shipped: controllers in its process, the
scheduler in its child process; the hollow nodes run in a `kubelite sim` subprocess. Run:

    .venv/bin/python bench/scheduler.py [--only basic-500,basic-5000,running]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib.util
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from bench import procstat
from kubelite.api import errors
from kubelite.client import rest
from tests.e2e import cluster as cluster_mod

Obj = dict[str, Any]
CREATE_CONCURRENCY = 32


@dataclass(frozen=True)
class Basic:
    name: str
    nodes: int
    init_pods: int
    measure_pods: int
    target: float = 0.0  # upstream's threshold for this workload, pods/s


BASIC = (Basic("basic-500", 500, 500, 1000), Basic("basic-5000", 5000, 5000, 10000, 270.0))


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def pod(name: str, labels: dict[str, str] | None = None) -> Obj:
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "labels": labels or {"app": "bench"}},
            "spec": {"containers": [{"name": "c", "image": "registry.k8s.io/pause:3.10",
                                     "resources": {"requests": {"cpu": "100m",
                                                                "memory": "500Mi"}}}]}}


def lease_seconds(nodes: int) -> float:
    """Spread renewals to about 20 a second: 5000 nodes renew every 250 s."""
    return max(10.0, nodes / 20)


@contextlib.asynccontextmanager
async def cluster(nodes: int) -> AsyncIterator[tuple[cluster_mod.Cluster, rest.Client]]:
    """A server, `nodes` hollow nodes registered, and a client; all stopped afterwards."""
    lease = lease_seconds(nodes)
    with tempfile.TemporaryDirectory(prefix="kubelite-sched-bench-") as d:
        c = cluster_mod.start(os.path.join(d, "data"), os.path.join(d, "home"), "--disable",
                              "agent,ingress", "--node-monitor-grace-period", str(lease * 4))
        parts = [component(d, c, "sim", "--nodes", str(nodes), "--lease-seconds", str(lease))]
        client = rest.Client.from_kubeconfig(c.kubeconfig, user_agent="bench")
        try:
            t = time.perf_counter()
            await wait_nodes(client, nodes)
            print(f"  {nodes} hollow nodes registered in {time.perf_counter() - t:.1f}s "
                  f"(lease renewal every {lease:.0f}s)")
            yield c, client
        except BaseException:
            show_tails(c.log_path, os.path.join(d, "sim.log"))
            raise
        finally:
            await client.close()
            for p in parts:
                p.terminate()
                p.wait(30)
            c.stop()


def show_tails(*logs: str) -> None:
    """The end of each component's log, for a run that failed."""
    for log in logs:
        with open(log, errors="replace") as f:
            print(f"--- the last lines of {os.path.basename(log)}:\n"
                  + "".join(f.readlines()[-40:]), file=sys.stderr)


def component(d: str, c: cluster_mod.Cluster, *args: str) -> subprocess.Popen[bytes]:
    """`kubelite <args> --kubeconfig ...` in the background, logging beside the server's."""
    with open(os.path.join(d, f"{args[0]}.log"), "wb") as log:
        return subprocess.Popen([sys.executable, "-m", "kubelite.cli", *args, "--kubeconfig",
                                 c.kubeconfig], stdout=log, stderr=subprocess.STDOUT)


async def wait_nodes(client: rest.Client, want: int) -> None:
    node_rt = client.resource("v1", "Node")
    listed = await client.list(node_rt)
    names = {n["metadata"]["name"] for n in listed["items"]}
    rv = listed["metadata"]["resourceVersion"]
    while len(names) < want:
        async for ev in client.watch(node_rt, resource_version=rv, timeout_seconds=120):
            rv = ev["object"]["metadata"].get("resourceVersion", rv)
            if ev["type"] == "ADDED":
                names.add(ev["object"]["metadata"]["name"])
                if len(names) >= want:
                    return


class PodWatch:
    """Times when each pod of a namespace was first seen bound and first seen Running."""

    def __init__(self, client: rest.Client, ns: str) -> None:
        self.client, self.ns = client, ns
        self.bound: dict[str, float] = {}
        self.running: dict[str, float] = {}
        self._waiters: list[tuple[Callable[[], bool], asyncio.Event]] = []
        self.relists = 0

    async def run(self) -> None:
        """List, then watch; relist when the server drops a watch that fell behind."""
        pod_rt = self.client.resource("v1", "Pod")
        rv = ""
        while True:
            try:
                if not rv:
                    listed = await self.client.list(pod_rt, self.ns)
                    for obj in listed["items"]:
                        self._see(obj)
                    rv = listed["metadata"]["resourceVersion"]
                async for ev in self.client.watch(pod_rt, self.ns, resource_version=rv):
                    obj = ev["object"]
                    rv = obj["metadata"].get("resourceVersion", rv)
                    self._see(obj)
            except errors.APIError as e:
                if not errors.is_gone(e):
                    raise
                self.relists += 1
                rv = ""

    def _see(self, obj: Obj) -> None:
        name, now = obj["metadata"].get("name"), time.perf_counter()
        if (obj.get("spec") or {}).get("nodeName") and name not in self.bound:
            self.bound[name] = now
        if (obj.get("status") or {}).get("phase") == "Running" and name not in self.running:
            self.running[name] = now
        for check, event in self._waiters:
            if not event.is_set() and check():
                event.set()

    async def wait(self, check: Callable[[], bool], timeout: float = 600) -> None:
        event = asyncio.Event()
        if check():
            return
        self._waiters.append((check, event))
        await asyncio.wait_for(event.wait(), timeout)


@contextlib.asynccontextmanager
async def watching(client: rest.Client, ns: str) -> AsyncIterator[PodWatch]:
    watch = PodWatch(client, ns)
    task = asyncio.create_task(watch.run())
    try:
        yield watch
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def create_pods(kubeconfig: str, ns: str, prefix: str, count: int) -> float:
    """Create `prefix-0..count-1` from a separate process, so the pod watch here keeps
    up; returns the seconds the creates took."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, __file__, "--create", f"{ns}/{prefix}/{count}", "--kubeconfig",
        kubeconfig, stdout=asyncio.subprocess.PIPE)
    out, _ = await proc.communicate()
    if proc.returncode:
        raise RuntimeError(f"pod creator failed ({proc.returncode})")
    return float(out.decode().strip())


async def creator(kubeconfig: str, spec: str) -> None:
    """The pod-creating process: CREATE_CONCURRENCY clients, prints the seconds taken."""
    ns, prefix, count = spec.split("/")
    client = rest.Client.from_kubeconfig(kubeconfig, user_agent="bench-creator")
    pod_rt = client.resource("v1", "Pod")
    todo = iter(range(int(count)))

    async def worker() -> None:
        for i in todo:
            await client.create(pod_rt, pod(f"{prefix}-{i}"), ns)

    start = time.perf_counter()
    try:
        await asyncio.gather(*(worker() for _ in range(CREATE_CONCURRENCY)))
    finally:
        await client.close()
    print(time.perf_counter() - start)


def throughput(start: float, bound: list[float]) -> tuple[float, list[float]]:
    """(average pods/s, per-second samples) from `start` to the last binding."""
    end = max(bound)
    seconds = int(end - start)
    samples = [0.0] * max(seconds, 1)
    for t in bound:
        i = int(t - start)
        if i < len(samples):
            samples[i] += 1
    return len(bound) / (end - start), samples


async def scheduling_basic(w: Basic) -> dict[str, float]:
    print(f"{w.name}: {w.nodes} nodes, {w.init_pods} initial pods, {w.measure_pods} measured")
    async with cluster(w.nodes) as (c, client), watching(client, "default") as watch:
        await create_pods(c.kubeconfig, "default", "init", w.init_pods)
        await watch.wait(lambda: len(watch.bound) >= w.init_pods)
        measured = [f"pod-{i}" for i in range(w.measure_pods)]
        sched = next(iter(procstat.children(c.proc.pid, "scheduler")), 0)
        start, cpu_start = time.perf_counter(), procstat.cpu_seconds(c.proc.pid)
        sched_start = procstat.cpu_seconds(sched) if sched else 0.0
        create_secs = await create_pods(c.kubeconfig, "default", "pod", w.measure_pods)
        await watch.wait(lambda: len(watch.bound) >= w.init_pods + w.measure_pods)
        server_cpu = procstat.cpu_seconds(c.proc.pid) - cpu_start
        sched_cpu = procstat.cpu_seconds(sched) - sched_start if sched else 0.0
        elapsed = time.perf_counter() - start
        avg, samples = throughput(start, [watch.bound[n] for n in measured])
    result = {"average": avg, "p50": pct(samples, 50), "p90": pct(samples, 90),
              "p99": pct(samples, 99), "create_rate": w.measure_pods / create_secs,
              "server_cpu_ms_per_pod": 1000 * server_cpu / w.measure_pods,
              "scheduler_cpu_ms_per_pod": 1000 * sched_cpu / w.measure_pods}
    target = f"   target >= {w.target:.0f} (ratio {avg / w.target:.2f}x)" if w.target else ""
    print(f"  throughput average {avg:6.0f} pods/s   per-second samples p50 {result['p50']:.0f}"
          f"  p90 {result['p90']:.0f}  p99 {result['p99']:.0f}{target}")
    print(f"  (measured pods were created at {result['create_rate']:.0f} pods/s; the watch "
          f"fell behind and relisted {watch.relists} times)")
    if server_cpu:
        print(f"  server process CPU: {result['server_cpu_ms_per_pod']:.1f} ms per measured pod "
              f"({100 * server_cpu / elapsed:.0f}% of one core while they were scheduled)")
    if sched_cpu:
        print(f"  scheduler process CPU: {result['scheduler_cpu_ms_per_pod']:.1f} ms per "
              f"measured pod ({100 * sched_cpu / elapsed:.0f}% of one core)")
    return result


def controller_kind() -> str:
    return "Deployment" if importlib.util.find_spec("kubelite.controllers.deployment") else \
        "ReplicaSet"


def workload(kind: str, replicas: int) -> Obj:
    labels = {"app": "big"}
    template = pod("unused", labels)
    del template["apiVersion"], template["kind"]
    template["metadata"] = {"labels": labels}
    return {"apiVersion": "apps/v1", "kind": kind, "metadata": {"name": "big"},
            "spec": {"replicas": replicas, "selector": {"matchLabels": labels},
                     "template": template}}


async def replicas_running(nodes: int = 100, replicas: int = 1000) -> dict[str, float]:
    kind = controller_kind()
    print(f"{kind}Running: {replicas} replicas on {nodes} hollow nodes")
    async with cluster(nodes) as (_, client), watching(client, "default") as watch:
        start = time.perf_counter()
        await client.create(client.resource("apps/v1", kind), workload(kind, replicas), "default")
        await watch.wait(lambda: len(watch.bound) >= replicas)
        scheduled = time.perf_counter() - start
        await watch.wait(lambda: len(watch.running) >= replicas)
        running = time.perf_counter() - start
    print(f"  all {replicas} pods scheduled after {scheduled:.1f}s, all Running after "
          f"{running:.1f}s ({replicas / running:.0f} pods/s end to end)")
    return {"scheduled": scheduled, "running": running}


async def main(args: argparse.Namespace) -> None:
    print(f"kubelite scheduler benchmark ({os.cpu_count()} cores)\n")
    only = set(args.only.split(",")) if args.only else None
    for w in BASIC:
        if only is None or w.name in only:
            await scheduling_basic(w)
    if only is None or "running" in only:
        await replicas_running()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", default="", help="comma-separated: basic-500, basic-5000, "
                        "running")
    parser.add_argument("--create", default="", help=argparse.SUPPRESS)  # NS/PREFIX/COUNT
    parser.add_argument("--kubeconfig", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    asyncio.run(creator(args.kubeconfig, args.create) if args.create else main(args))
