"""Service networking through the bundled agent's service proxy, on one real node.

A real server with its agent (in a private network namespace: the benchmark re-executes
itself under `unshare --net`, so the host's sysctls and rules are never touched) runs a
busybox httpd Deployment behind a ClusterIP Service, and an Ingress of the default class
sending `/` to it, served by the bundled controller on 127.0.0.1:80. From the node's
namespace it measures, in the same run:

- HTTP requests/s and p50/p99 latency, a new connection per request (like `wget`),
  through the ClusterIP and through the Ingress vs straight to the pods (round-robin over
  the same pods), rounds interleaved; the ratios (median of the rounds' ratios) are the
  figures (targets: ClusterIP >= 0.9 of direct, Ingress >= 0.5);
- queries/s of the cluster DNS, asked at the kube-dns ClusterIP and at the node's DNS
  address directly (target >= 5,000/s), with bench/dns.py's load generator;
- time from an EndpointSlice write to the proxy's rules holding it (the nft change seen
  with `nft monitor`; target p99 <= 1 s), and from a pod failing its readiness probe
  (period 1 s) to its endpoint leaving the rules.

The ClusterIP's clients bind local ports below the kernel's ephemeral range. After DNAT
its connections reach the pods on the same 4-tuples the direct clients and the Ingress
proxy use, but carrying the TCP timestamps of another destination (the offset is per
address pair), so a pod's TIME_WAIT left by one path rejects the other's SYN (PAWS) and
that client retries after a second. Interleaved paths stalled on each other's leftovers
from the third round on; kept apart, each path measures only itself.

Each data path in `PATHS` is a function from (cluster, web) to a list of (address, port)
targets; `web_cluster()` and `in_private_netns()` give another benchmark (bench/ingress.py,
which adds keep-alive clients and the proxy's CPU) the same setup.
Needs root, runc, busybox, ip, unshare, nft. Run:

    .venv/bin/python bench/network.py [--requests 2000] [--concurrency 8] [--rounds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import errno
import itertools
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

import yaml

from bench import dns as dns_bench
from bench import pod_startup, proxy_latency
from tests.e2e import agentenv
from tests.e2e import cluster as cluster_mod

NS = "default"
SERVE = "hostname > /www/index.html; touch /www/ready; exec httpd -f -p 8080 -h /www"
INNER = "KUBELITE_BENCH_PRIVATE_NETNS"
Target = tuple[str, int]
INGRESS_PORT = 80  # the server's default; the benchmark has its own network namespace
INGRESS = """apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: web}
spec:
  rules:
  - http:
      paths:
      - {path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}
"""


@dataclass(frozen=True)
class Web:
    """The benchmark's Deployment `web` and its Service."""
    cluster_ip: str
    port: int
    pods: dict[str, str]                 # pod name -> pod IP
    target_port: int = 8080


def deploy_web(c: cluster_mod.Cluster, replicas: int = 3) -> Web:
    """`kubectl create deployment web` (busybox httpd answering its hostname, a 1 s
    readiness probe) and `kubectl expose` it; returns once every replica is an endpoint."""
    dep = yaml.safe_load(c.kubectl(
        "create", "deployment", "web", f"--image={agentenv.IMAGE}", f"--replicas={replicas}",
        "-n", NS, "--dry-run=client", "-o", "yaml", "--", "sh", "-c", SERVE).stdout)
    pod = dep["spec"]["template"]["spec"]
    pod["terminationGracePeriodSeconds"] = 1
    pod["containers"][0].update(imagePullPolicy="Never", readinessProbe={
        "httpGet": {"path": "/ready", "port": 8080}, "periodSeconds": 1, "failureThreshold": 1})
    c.kubectl("apply", "-f", "-", input=yaml.safe_dump(dep))
    c.kubectl("expose", "deployment", "web", "--port=80", "--target-port=8080", "-n", NS)
    c.kubectl("rollout", "status", "deployment/web", "-n", NS, "--timeout=120s", timeout=130)
    while len(c.kubectl("get", "endpoints", "web", "-n", NS, "-o", "jsonpath="
                        "{.subsets[*].addresses[*].ip}").stdout.split()) < replicas:
        time.sleep(0.2)
    pods = {p["metadata"]["name"]: p["status"]["podIP"] for p in c.kubectl_json(
        "get", "pods", "-n", NS, "-l", "app=web")["items"]}
    return Web(c.kubectl_json("get", "svc", "web", "-n", NS)["spec"]["clusterIP"], 80, pods)


def own_ports(path: str) -> Iterator[int] | None:
    """The local ports a path's clients cycle through, if it needs its own (see above)."""
    if path != "ClusterIP":
        return None
    with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
        low = int(f.read().split()[0])
    return itertools.cycle(range(max(1024, low - 12000), low))


async def connect(host: str, port: int, ports: Iterator[int] | None = None
                  ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A connection from the next free port of `ports` (None: an ephemeral one)."""
    while True:
        local = ("0.0.0.0", next(ports)) if ports is not None else None
        try:
            return await asyncio.open_connection(host, port, local_addr=local)
        except OSError as e:
            if local is None or e.errno != errno.EADDRINUSE:
                raise


async def http_load(targets: list[Target], n: int, concurrency: int,
                    ports: Iterator[int] | None = None) -> tuple[float, list[float]]:
    """n HTTP/1.0 GETs over `concurrency` workers, target i % len for request i, a new
    connection each (from `ports`, if given); (requests/s, latencies in seconds)."""
    latencies: list[float] = []

    async def worker(first: int) -> None:
        for i in range(first, n, concurrency):
            host, port = targets[i % len(targets)]
            t0 = time.perf_counter()
            reader, writer = await connect(host, port, ports)
            writer.write(b"GET / HTTP/1.0\r\n\r\n")
            body = await reader.read()
            writer.close()
            latencies.append(time.perf_counter() - t0)
            assert body.startswith(b"HTTP/1.") and b" 200 " in body.split(b"\r\n", 1)[0], body
    began = time.perf_counter()
    await asyncio.gather(*(worker(i) for i in range(concurrency)))
    return n / (time.perf_counter() - began), latencies


def _direct(_c: cluster_mod.Cluster, web: Web) -> list[Target]:
    return [(ip, web.target_port) for ip in sorted(web.pods.values())]


def _cluster_ip(_c: cluster_mod.Cluster, web: Web) -> list[Target]:
    return [(web.cluster_ip, web.port)]


def _ingress(c: cluster_mod.Cluster, _web: Web) -> list[Target]:
    """An Ingress of the default class for `web`; returns once it answers 200."""
    c.kubectl("apply", "-n", NS, "-f", "-", input=INGRESS)
    deadline = time.monotonic() + 60
    while _status("127.0.0.1", INGRESS_PORT) != 200:
        if time.monotonic() > deadline:
            raise RuntimeError("the Ingress did not start serving within 60 s")
        time.sleep(0.2)
    return [("127.0.0.1", INGRESS_PORT)]


def _status(host: str, port: int) -> int:
    """The status of one GET / (0 when nothing answers); blocking, as PATHS functions are
    called outside the load."""
    try:
        with socket.create_connection((host, port), timeout=5) as s:
            s.sendall(b"GET / HTTP/1.0\r\n\r\n")
            head = s.recv(64)
    except OSError:
        return 0
    return int(head.split(b" ", 2)[1]) if head.startswith(b"HTTP/1.") else 0


PATHS: dict[str, Callable[[cluster_mod.Cluster, Web], list[Target]]] = {
    "direct to pods": _direct, "ClusterIP": _cluster_ip, "Ingress": _ingress}


def pct(values: list[float], q: int) -> float:
    if len(values) < 2:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


async def compare_paths(c: cluster_mod.Cluster, web: Web, n: int, concurrency: int,
                        rounds: int) -> dict[str, list[tuple[float, float, float]]]:
    """Every path in PATHS, interleaved `rounds` times: (req/s, p50 s, p99 s) per round."""
    targets = {name: fn(c, web) for name, fn in PATHS.items()}
    ports = {name: own_ports(name) for name in targets}
    for name, tg in targets.items():
        await http_load(tg, 50, concurrency, ports[name])     # warm up
    out: dict[str, list[tuple[float, float, float]]] = {name: [] for name in targets}
    for _ in range(rounds):
        for name, tg in targets.items():
            rate, lat = await http_load(tg, n, concurrency, ports[name])
            out[name].append((rate, pct(lat, 50), pct(lat, 99)))
    return out


def report_paths(results: dict[str, list[tuple[float, float, float]]]) -> None:
    """Medians over rounds; the ratio is the median of each round's ratio to the direct
    run just before it (neighbours in time see the same machine load)."""
    direct = results["direct to pods"]
    for name, rows in results.items():
        rate = statistics.median(r[0] for r in rows)
        ratio = statistics.median(r[0] / d[0] for r, d in zip(rows, direct))
        p99_ratio = statistics.median(r[2] / d[2] for r, d in zip(rows, direct))
        print(f"  {name:16} {rate:8.0f} req/s (rounds {', '.join(f'{r[0]:.0f}' for r in rows)})"
              f"   p50 {statistics.median(r[1] for r in rows) * 1e3:6.2f} ms"
              f"   p99 {statistics.median(r[2] for r in rows) * 1e3:6.2f} ms"
              f"   ratio to direct {ratio:.2f} (p99 x{p99_ratio:.2f})")


def standalone_dns() -> tuple[subprocess.Popen[bytes], int]:
    """bench/dns.py's server in its own process (1,000 services): the baseline."""
    port = cluster_mod.free_port()
    child = subprocess.Popen([sys.executable, "-m", "bench.dns", "--serve", str(port)],
                             stdout=subprocess.PIPE, cwd=os.path.dirname(os.path.dirname(
                                 os.path.abspath(__file__))))
    assert child.stdout is not None and child.stdout.readline().strip() == b"ready"
    return child, port


async def dns_rates(gateway: str, n: int, clients: int) -> None:
    names = [f"web.{NS}.svc.cluster.local", "kubernetes.default.svc.cluster.local",
             f"missing.{NS}.svc.cluster.local"]
    packets = [dns_bench.question(names[i % len(names)]) for i in range(n)]
    child, own = standalone_dns()
    try:
        await dns_bench.load(own, packets[:500], clients)             # warm up
        for label, host, port in (("kube-dns ClusterIP 10.43.0.10", "10.43.0.10", 53),
                                  (f"node DNS {gateway}", gateway, 53),
                                  ("bench/dns.py server, own process", "127.0.0.1", own)):
            await dns_round(label, host, port, packets, clients)
    finally:
        child.terminate()
        child.wait(10)


async def dns_round(label: str, host: str, port: int, packets: list[bytes], clients: int
                    ) -> None:
    rates = []
    for _ in range(3):
        rate, lat = await dns_bench.load(port, packets, clients, host=host)
        rates.append(rate)
    print(f"  {label:34} {statistics.median(rates):8.0f} q/s (rounds "
          f"{', '.join(f'{r:.0f}' for r in rates)})   p99 {pct(lat, 99) * 1e3:.2f} ms")


def report_latency(label: str, values: list[float]) -> None:
    print(f"  {label:40} n={len(values):<4} p50 {pct(values, 50) * 1e3:7.1f} ms"
          f"   p99 {pct(values, 99) * 1e3:7.1f} ms   max {max(values) * 1e3:7.1f} ms")


async def measure(c: cluster_mod.Cluster, web: Web, args: argparse.Namespace) -> None:
    gateway = c.kubectl_json("get", "nodes")["items"][0]["spec"]["podCIDR"].rsplit(".", 1)[0] + ".1"
    print(f"HTTP through the service proxy and the Ingress: {len(web.pods)} busybox httpd pods, "
          f"{args.requests} requests x {args.rounds} rounds, concurrency {args.concurrency}")
    report_paths(await compare_paths(c, web, args.requests, args.concurrency, args.rounds))
    print(f"cluster DNS (in the server process), {args.queries} queries, "
          f"{args.dns_clients} clients")
    await dns_rates(gateway, args.queries, args.dns_clients)
    monitor = proxy_latency.RuleMonitor()
    await monitor.start()
    try:
        print("endpoint change -> proxy rules")
        report_latency("EndpointSlice write -> dnat rule",
                       await proxy_latency.slice_to_rules(c.kubeconfig, monitor, args.changes,
                                                          ns=NS))
        report_latency("pod readiness fails -> endpoint out",
                       await proxy_latency.unready_to_rules(
                           c, web.pods, web.target_port, monitor=monitor,
                           samples=args.unready, ns=NS))
    finally:
        await monitor.stop()


@contextlib.contextmanager
def web_cluster(prefix: str = "kubelite-bench-net-") -> Iterator[tuple[cluster_mod.Cluster, Web]]:
    """A real server and agent with the `web` Deployment and Service up; all torn down
    after (pods, sandboxes, the server, anything left in the agent's directory)."""
    with tempfile.TemporaryDirectory(prefix=prefix) as base:
        data, _layers = pod_startup.prepare(base)
        c = cluster_mod.start(data, os.path.join(base, "home"), "--kubelet-port", "0",
                              "--dns-upstream", "none")
        try:
            c.kubectl("wait", "--for=condition=Ready", "node", "--all", "--timeout=60s")
            yield c, deploy_web(c)
        finally:
            c.kubectl("delete", "deployment", "--all", "-n", NS, check=False)
            c.kubectl("delete", "pods", "--all", "-n", NS, "--timeout=60s", check=False,
                      timeout=70)
            agentenv.wait_sandboxes_gone(os.path.join(data, "agent"))
            c.stop()
            agentenv.force_cleanup(os.path.join(data, "agent"))


def in_private_netns(script: str) -> None:
    """Re-execute `script` (with this process's arguments) under `unshare --net`, once."""
    if os.environ.get(INNER) != "1":
        os.environ[INNER] = "1"
        os.execvp("unshare", ["unshare", "--net", "sh", "-c",
                              'ip link set lo up && exec "$0" "$@"', sys.executable,
                              os.path.abspath(script), *sys.argv[1:]])


def run(args: argparse.Namespace) -> None:
    with web_cluster() as (c, web):
        print(f"{os.cpu_count()} cpus, load average {os.getloadavg()[0]:.1f} at start")
        asyncio.run(measure(c, web, args))
        print(f"load average {os.getloadavg()[0]:.1f} at end")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--requests", type=int, default=2000)
    p.add_argument("--concurrency", type=int, default=8)
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--queries", type=int, default=20000)
    p.add_argument("--dns-clients", type=int, default=32)
    p.add_argument("--changes", type=int, default=100)
    p.add_argument("--unready", type=int, default=5)
    args = p.parse_args()
    if why := agentenv.why_not():
        sys.exit(f"bench/network.py: {why}")
    in_private_netns(__file__)              # the host's sysctls and rules stay untouched
    run(args)


if __name__ == "__main__":
    main()
