"""HTTP through the bundled Ingress controller, against the pods directly, in one run.

bench/network.py's setup (a real server with its agent in a private network namespace,
a busybox httpd Deployment `web` behind a ClusterIP Service, and an Ingress sending `/`
to `web`, served on 127.0.0.1 by the server's `kubelite ingress` child process). Measured
with network.py's load generator, rounds interleaved: requests/s and p50/p99 latency
straight to the pods, through the ClusterIP and through the Ingress, each as a ratio to
direct (target Ingress >= 0.5), once with a new connection per request (HTTP/1.0, as
network.py measures) and once with keep-alive connections (HTTP/1.1, what browsers and
services do), and the ingress process's CPU per request. Needs root, runc, busybox, ip,
unshare, nft. Run:

    .venv/bin/python bench/ingress.py [--requests 2000] [--concurrency 8] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from collections.abc import Iterator

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from bench import network, procstat
from tests.e2e import agentenv
from tests.e2e import cluster as cluster_mod


async def keepalive_load(targets: list[network.Target], n: int, concurrency: int,
                         ports: Iterator[int] | None = None) -> tuple[float, list[float]]:
    """n HTTP/1.1 GETs over `concurrency` keep-alive connections, one per worker, reopened
    when the server closes one (busybox httpd closes after each response)."""
    latencies: list[float] = []

    async def worker(first: int) -> None:
        conn: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
        for i in range(first, n, concurrency):
            host, port = targets[i % len(targets)]
            t0 = time.perf_counter()
            if conn is None:
                conn = await network.connect(host, port, ports)
            reader, writer = conn
            writer.write(f"GET / HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
            head = await reader.readuntil(b"\r\n\r\n")
            fields = dict(line.split(b": ", 1) for line in head.split(b"\r\n")[1:-2])
            body = await reader.readexactly(int(fields[b"Content-Length"]))
            latencies.append(time.perf_counter() - t0)
            assert b" 200 " in head.split(b"\r\n", 1)[0] and body, head
            if fields.get(b"Connection", b"").lower() == b"close" or b"HTTP/1.0" in head[:8]:
                writer.close()
                conn = None
        if conn is not None:
            conn[1].close()
    began = time.perf_counter()
    await asyncio.gather(*(worker(i) for i in range(concurrency)))
    return n / (time.perf_counter() - began), latencies


async def compare(c: cluster_mod.Cluster, web: network.Web, args: argparse.Namespace) -> None:
    print(f"HTTP to {len(web.pods)} busybox httpd pods, {args.requests} requests x "
          f"{args.rounds} rounds, concurrency {args.concurrency}")
    print(" a new connection per request (HTTP/1.0):")
    proxies = procstat.children(c.proc.pid, "ingress")
    if not proxies:
        raise RuntimeError("the server runs no ingress process")
    proxy = proxies[0]
    cpu0 = procstat.cpu_seconds(proxy)
    results = await network.compare_paths(c, web, args.requests, args.concurrency, args.rounds)
    used = procstat.cpu_seconds(proxy) - cpu0
    network.report_paths(results)
    print(f"  ingress process CPU per Ingress request: "
          f"{used / (args.requests * args.rounds + 50) * 1e3:.2f} ms")
    print(" keep-alive connections (HTTP/1.1):")
    targets = {name: fn(c, web) for name, fn in network.PATHS.items()}
    ports = {name: network.own_ports(name) for name in targets}
    rows: dict[str, list[tuple[float, float, float]]] = {name: [] for name in targets}
    for _ in range(args.rounds):
        for name, tg in targets.items():
            rate, lat = await keepalive_load(tg, args.requests, args.concurrency, ports[name])
            rows[name].append((rate, network.pct(lat, 50), network.pct(lat, 99)))
    network.report_paths(rows)


def run(args: argparse.Namespace) -> None:
    with network.web_cluster("kubelite-bench-ingress-") as (c, web):
        print(f"{os.cpu_count()} cpus, load average {os.getloadavg()[0]:.1f} at start")
        asyncio.run(compare(c, web, args))
        print(f"load average {os.getloadavg()[0]:.1f} at end")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--requests", type=int, default=2000)
    p.add_argument("--concurrency", type=int, default=8)
    p.add_argument("--rounds", type=int, default=3)
    args = p.parse_args()
    if why := agentenv.why_not():
        sys.exit(f"bench/ingress.py: {why}")
    network.in_private_netns(__file__)
    run(args)


if __name__ == "__main__":
    main()
