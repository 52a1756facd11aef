"""Cluster DNS throughput and latency on loopback.

`python -m bench.dns [--services N] [--queries N] [--clients N]` starts the DNS server in a
child process with a synthetic zone (N ClusterIP services and one headless service with 10
endpoints, no upstream), then concurrent UDP clients in this process ask:

- hits: A questions over all services, asked twice (the second pass is served from the
  packet cache);
- nxdomain: a fresh missing name every query (never cached: parse, lookup, pack each time);
- headless: A of the headless service (10 answers);
- refused: a name outside the zone with no upstream.

Prints queries/s and p50/p99 latency per workload. Nothing leaves 127.0.0.1.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import statistics
import subprocess
import sys
import time

import dnslib

from kubelite.agent.network.dns import records, server

NS = "bench"


def zone_of(services: int) -> records.Zone:
    zone = records.Zone()
    for i in range(services):
        zone.upsert_service({"metadata": {"name": f"svc-{i}", "namespace": NS},
                             "spec": {"clusterIP": f"10.43.{i // 250}.{i % 250 + 1}",
                                      "ports": [{"name": "http", "port": 80}]}})
    zone.upsert_service({"metadata": {"name": "headless", "namespace": NS},
                         "spec": {"clusterIP": "None"}})
    zone.upsert_slice({"metadata": {"name": "headless-1", "namespace": NS,
                                    "labels": {"kubernetes.io/service-name": "headless"}},
                       "endpoints": [{"addresses": [f"10.42.0.{i + 1}"]} for i in range(10)]})
    return zone


async def serve(port: int, services: int) -> None:
    """The child: answer until SIGTERM."""
    resolver = server.Resolver(zone_of(services), server.Config())
    transport, tcp = await server.serve(resolver, "127.0.0.1", port)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    print("ready", flush=True)
    await stop.wait()
    transport.close()
    tcp.close()


class _Client(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.waiter: asyncio.Future[bytes] | None = None

    def datagram_received(self, data: bytes, addr: object) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_result(data)


async def load(port: int, packets: list[bytes], clients: int, host: str = "127.0.0.1"
               ) -> tuple[float, list[float]]:
    """Send every packet once to host:port, `clients` at a time; (queries/s, latencies in
    seconds)."""
    loop = asyncio.get_running_loop()
    latencies: list[float] = []

    async def client(start: int) -> None:
        transport, proto = await loop.create_datagram_endpoint(
            _Client, remote_addr=(host, port))
        try:
            for packet in packets[start::clients]:
                proto.waiter = loop.create_future()
                t0 = time.perf_counter()
                transport.sendto(packet)
                reply = await asyncio.wait_for(proto.waiter, 2)
                latencies.append(time.perf_counter() - t0)
                assert reply[:2] == packet[:2]
        finally:
            transport.close()

    began = time.perf_counter()
    await asyncio.gather(*(client(i) for i in range(clients)))
    return len(packets) / (time.perf_counter() - began), latencies


def question(name: str, qtype: str = "A") -> bytes:
    return dnslib.DNSRecord.question(name, qtype).pack()


def workloads(services: int, n: int) -> dict[str, list[bytes]]:
    suffix = f"{NS}.svc.cluster.local"
    hits = [question(f"svc-{i % services}.{suffix}") for i in range(n)]
    return {
        "hits (first pass)": hits,
        "hits (cached)": hits,
        "nxdomain (unique names)": [question(f"missing-{time.monotonic_ns()}-{i}.{suffix}")
                                    for i in range(n)],
        "headless (10 A)": [question(f"headless.{suffix}") for _ in range(n)],
        "refused (no upstream)": [question(f"host-{i}.example.com") for i in range(n)],
    }


async def measure(port: int, services: int, n: int, clients: int) -> None:
    for name, packets in workloads(services, n).items():
        rate, lat = await load(port, packets, clients)
        q = statistics.quantiles(lat, n=100)
        print(f"{name:26} n={n:<7} clients={clients:<3} {rate:9.0f} q/s   "
              f"p50 {q[49] * 1e3:6.2f} ms   p99 {q[98] * 1e3:6.2f} ms")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--services", type=int, default=1000)
    p.add_argument("--queries", type=int, default=20000)
    p.add_argument("--clients", type=int, default=32)
    p.add_argument("--serve", type=int, default=0, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.serve:
        asyncio.run(serve(args.serve, args.services))
        return
    from tests.e2e import cluster

    port = cluster.free_port()
    child = subprocess.Popen([sys.executable, "-m", "bench.dns", "--serve", str(port),
                              "--services", str(args.services)], stdout=subprocess.PIPE,
                             cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == b"ready"
        print(f"cluster DNS, {args.services} services, server in its own process, "
              f"{os.cpu_count()} cpus")
        asyncio.run(measure(port, args.services, args.queries, args.clients))
    finally:
        child.terminate()
        child.wait(10)


if __name__ == "__main__":
    main()
