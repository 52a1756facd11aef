"""Two nodes on one machine, each in a network namespace of its own joined by a veth pair
(a private test link, 10.45.0.0/24): the server with its bundled agent is node A, a
standalone `kubelite agent` is node B. Pods on A and B reach each other by pod IP over the
routes the agents keep between nodes; a node that goes takes its routes with it; nothing
is left behind. Processes run in the test namespaces through `nsenter --net` (they keep
the machine's mounts and cgroups); kubectl runs in A through `ip netns exec`. Needs what
test_agent_pods needs plus nsenter and nft, as root. Host-wide settings stay untouched.
The test hosts have no route off the machine (checked), so the agents' default egress
masquerade cannot send a pod packet anywhere else; the cluster DNS has no upstream."""

from __future__ import annotations

import ipaddress
import json
import os
import secrets
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

import pytest

from kubelite.agent.images import archive, store
from kubelite.agent.network import forwarding, routes
from kubelite.agent.runtime import cgroups
from tests.agent.images import builder
from tests.agent.network import test_podnet as podnet_test
from tests.e2e import agentenv, cluster

NS = "kubelite-multinode-e2e"
A_IP, B_IP, PREFIX = "10.45.0.1", "10.45.0.2", 24
NODE_NETWORK = f"10.45.0.0/{PREFIX}"
CLUSTER_CIDR = "10.46.0.0/16"       # not the default: the flag must reach every part
NODE_B = "kubelite-e2e-node-b"
LINK = "kubelite-e2e0"
T = TypeVar("T")


def run(*cmd: str, check: bool = True, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    if check and res.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} failed ({res.returncode}):\n"
                             f"{res.stdout}\n{res.stderr}")
    return res


def wait_for(what: str, probe: Callable[[], T | None], timeout: float = 60) -> T:
    """Poll `probe` until it returns something truthy (a readiness poll with a deadline)."""
    deadline = time.monotonic() + timeout
    while True:
        if value := probe():
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.1)


def link_hosts(a: str, b: str) -> None:
    run("ip", "-n", a, "link", "add", LINK, "type", "veth", "peer", "name", LINK, "netns", b)
    for host, ip in ((a, A_IP), (b, B_IP)):
        run("ip", "-n", host, "addr", "add", f"{ip}/{PREFIX}", "dev", LINK)
        run("ip", "-n", host, "link", "set", LINK, "up")


def import_busybox(data_dir: str, tar: str) -> None:
    archive.import_archive(store.Store(os.path.join(data_dir, "agent", "images")), tar)


@dataclass
class TwoNodes:
    host_a: str
    host_b: str
    data_a: str
    data_b: str
    home: str
    port: int
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def spawn(self, name: str, host: str, *args: str) -> None:
        """Run `kubelite ARGS` inside `host`'s network namespace, logging to a file."""
        with open(os.path.join(self.home, f"{name}.log"), "ab") as log:
            self.procs[name] = subprocess.Popen(
                ["nsenter", f"--net=/run/netns/{host}", sys.executable, "-m", "kubelite.cli",
                 *args], stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)

    def log(self, name: str) -> str:
        with open(os.path.join(self.home, f"{name}.log"), errors="replace") as f:
            return f.read()

    def stop(self, name: str) -> None:
        proc = self.procs.pop(name, None)
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    @property
    def api(self) -> cluster.Cluster:
        """The server in host A, with kubectl run inside A."""
        return cluster.Cluster(self.data_a, self.home, self.port, self.procs["server"],
                               os.path.join(self.home, "server.log"),
                               runner=("ip", "netns", "exec", self.host_a))

    def kubectl(self, *args: str, input: str | None = None, check: bool = True,
                timeout: float = 60) -> subprocess.CompletedProcess[str]:
        return self.api.kubectl(*args, input=input, check=check, timeout=timeout)

    def kubectl_json(self, *args: str) -> Any:
        return self.api.kubectl_json(*args)

    def nodes(self) -> dict[str, Any]:
        """InternalIP -> Node."""
        return {routes.internal_ip(n): n for n in self.kubectl_json("get", "nodes")["items"]}


def kube_routes(host: str) -> dict[str, str]:
    """kubelite's routes (proto 76) in a test host: pod CIDR -> next hop."""
    out = run("ip", "-n", host, "-json", "-4", "route", "show", "proto", routes.PROTO).stdout
    return {r["dst"]: r.get("gateway", "") for r in json.loads(out or "[]")}


def guard_up(host: str) -> bool:
    tables = run("ip", "netns", "exec", host, "nft", "list", "tables").stdout
    return f"ip {forwarding.TABLE}" in tables


def ip_forward(host: str) -> str:
    return run("ip", "netns", "exec", host, "cat", "/proc/sys/net/ipv4/ip_forward").stdout.strip()


def why_not() -> str:
    if why := agentenv.why_not():
        return why
    for tool in ("nsenter", "nft"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed"
    return ""


def start_server(t: TwoNodes) -> None:
    t.spawn("server", t.host_a, "server", "--data-dir", t.data_a, "--port", str(t.port),
            "--bind", f"127.0.0.1,{A_IP}", "--node-ip", A_IP, "--node-network", NODE_NETWORK,
            "--kubelet-port", "0", "--dns-upstream", "none", "--cluster-cidr", CLUSTER_CIDR)

    def ready() -> bool:
        if t.procs["server"].poll() is not None:
            raise AssertionError(f"kubelite server exited:\n{t.log('server')}")
        return os.path.exists(os.path.join(t.data_a, "kubeconfig.yaml")) and t.kubectl(
            "get", "--raw", "/readyz", "--request-timeout=2s", check=False).returncode == 0
    wait_for("the API server in host A", ready)


def start_agent_b(t: TwoNodes) -> None:
    with open(os.path.join(t.data_a, "token")) as f:
        token = f.read().strip()
    t.spawn("agent-b", t.host_b, "agent", "--server", f"https://{A_IP}:{t.port}",
            "--token", token, "--ca-file", os.path.join(t.data_a, "tls", "ca.crt"),
            "--data-dir", t.data_b, "--node-name", NODE_B, "--node-ip", B_IP,
            "--kubelet-port", "0", "--cluster-cidr", CLUSTER_CIDR)


def pod_cgroups(uids: set[str]) -> list[str]:
    return [d for uid in uids for d in cgroups.dirs(cgroups.pod_path("kubelite", uid))]


def mounts_under(*dirs: str) -> list[str]:
    with open("/proc/mounts") as f:
        return [line for line in f if any(d in line for d in dirs)]


@pytest.fixture(scope="module")
def two(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TwoNodes]:
    if why := why_not():
        pytest.skip(why)
    base = tmp_path_factory.mktemp("kubelite-multinode")
    suffix = secrets.token_hex(3)
    t = TwoNodes(f"kubelite-e2e-host-a-{suffix}", f"kubelite-e2e-host-b-{suffix}",
                 str(base / "a"), str(base / "b"), str(base / "home"), cluster.free_port())
    os.makedirs(t.home)
    tar = str(base / "bb.tar")
    builder.Image([builder.busybox_layer()], workdir="/www").docker_save(tar, agentenv.IMAGE)
    uids: set[str] = set()
    try:
        for host in (t.host_a, t.host_b):
            podnet_test.make_netns(host)
        link_hosts(t.host_a, t.host_b)
        for host in (t.host_a, t.host_b):
            assert "default" not in run("ip", "-n", host, "route", "show").stdout
        for data in (t.data_a, t.data_b):
            import_busybox(data, tar)
        start_server(t)
        start_agent_b(t)
        wait_for("two nodes", lambda: len(t.nodes()) == 2)
        t.kubectl("wait", "--for=condition=Ready", "node", "--all", "--timeout=90s", timeout=100)
        t.kubectl("create", "namespace", NS)
        yield t
        uids = {p["metadata"]["uid"] for p in t.kubectl_json("get", "pods", "-n", NS)["items"]}
        t.kubectl("delete", "pods", "--all", "-n", NS, "--timeout=90s", check=False, timeout=120)
        for data in (t.data_a, t.data_b):
            agentenv.wait_sandboxes_gone(os.path.join(data, "agent"))
    finally:
        t.stop("agent-b")
        t.stop("server")
        for data in (t.data_a, t.data_b):
            agentenv.force_cleanup(os.path.join(data, "agent"))
        for host in (t.host_a, t.host_b):
            podnet_test.drop_netns(host)
    netns = run("ip", "netns", "list").stdout
    assert suffix not in netns and not os.path.exists(f"/etc/netns/{t.host_a}")
    assert mounts_under(t.data_a, t.data_b) == []
    assert pod_cgroups(uids) == []


def pod(name: str, *, node_name: str = "", hostname: str = "") -> str:
    """An httpd pod answering its own name on :8080, pinned to a node by nodeName or by
    the kubernetes.io/hostname label. Its resolv.conf points at loopback: no lookups
    leave the test hosts."""
    pin = f"  nodeName: {node_name}\n" if node_name else \
        f"  nodeSelector: {{kubernetes.io/hostname: {hostname}}}\n"
    extra = pin + "  dnsPolicy: None\n  dnsConfig: {nameservers: [127.0.0.1]}\n"
    ready = ("    readinessProbe:\n      httpGet: {path: /index.html, port: 8080}\n"
             "      periodSeconds: 1\n")
    cmd = f"mkdir -p /srv && echo {name} > /srv/index.html && exec httpd -f -p 8080 -h /srv"
    return agentenv.pod_yaml(name, NS, cmd, extra=extra, container_extra=ready, grace=2)


def node_a(t: TwoNodes) -> Any:
    return t.nodes()[A_IP]


def test_two_nodes_ready_with_distinct_pod_cidrs(two: TwoNodes) -> None:
    nodes = two.nodes()
    assert set(nodes) == {A_IP, B_IP}
    assert nodes[B_IP]["metadata"]["name"] == NODE_B
    cidrs = [ipaddress.ip_network(n["spec"]["podCIDR"]) for n in nodes.values()]
    assert cidrs[0] != cidrs[1]
    assert all(c.subnet_of(ipaddress.ip_network(CLUSTER_CIDR)) and c.prefixlen == 24
               for c in cidrs)
    wide = two.kubectl("get", "nodes", "-o", "wide", "--no-headers").stdout
    assert A_IP in wide and B_IP in wide


def test_each_node_routes_the_other_nodes_pods(two: TwoNodes) -> None:
    nodes = two.nodes()
    cidr_a, cidr_b = nodes[A_IP]["spec"]["podCIDR"], nodes[B_IP]["spec"]["podCIDR"]
    wait_for("routes on both hosts", lambda: kube_routes(two.host_a) == {cidr_b: B_IP}
             and kube_routes(two.host_b) == {cidr_a: A_IP}, timeout=30)
    for host in (two.host_a, two.host_b):
        assert guard_up(host) and ip_forward(host) == "1"


def test_pods_on_different_nodes_talk_by_pod_ip(two: TwoNodes) -> None:
    a_name = node_a(two)["metadata"]["name"]
    two.kubectl("apply", "-f", "-", input=pod("web-a", node_name=a_name) + "---\n" +
                pod("web-b", hostname=NODE_B))
    two.kubectl("wait", "-n", NS, "pod/web-a", "pod/web-b", "--for=condition=Ready",
                "--timeout=90s", timeout=100)
    pods = {p["metadata"]["name"]: p for p in two.kubectl_json("get", "pods", "-n", NS)["items"]}
    assert pods["web-a"]["spec"]["nodeName"] == a_name
    assert pods["web-b"]["spec"]["nodeName"] == NODE_B
    nodes = two.nodes()
    for name, ip in (("web-a", A_IP), ("web-b", B_IP)):
        pod_ip = ipaddress.ip_address(pods[name]["status"]["podIP"])
        assert pod_ip in ipaddress.ip_network(nodes[ip]["spec"]["podCIDR"])

    for client, server in (("web-a", "web-b"), ("web-b", "web-a")):
        url = f"http://{pods[server]['status']['podIP']}:8080/index.html"
        out = two.kubectl("exec", "-n", NS, client, "--", "wget", "-qO-", url, timeout=30)
        assert out.stdout == f"{server}\n", f"{client} -> {server}"


def test_pod_on_the_joined_node_reaches_the_api_through_the_kubernetes_service(
        two: TwoNodes) -> None:
    svc = two.kubectl_json("get", "endpoints", "kubernetes", "-n", "default")
    assert svc["subsets"][0]["addresses"] == [{"ip": A_IP}]     # not the loopback bind
    # A TCP connection through the Service VIP that the API server answers (busybox's TLS
    # client cannot complete a handshake that asks for a client certificate).
    script = "echo | busybox nc -w 3 10.43.0.1 443 >/dev/null && echo answered"
    out = two.kubectl("exec", "-n", NS, "web-b", "--", "sh", "-c", script, timeout=30)
    assert out.stdout == "answered\n"



def test_a_node_that_goes_takes_its_routes_with_it(two: TwoNodes) -> None:
    two.kubectl("delete", "pod", "web-b", "-n", NS, "--ignore-not-found", "--timeout=60s",
                timeout=70)
    agentenv.wait_sandboxes_gone(os.path.join(two.data_b, "agent"))
    assert kube_routes(two.host_b)
    two.stop("agent-b")
    # The stopped agent removed its routes, its guard and its forwarding.
    assert kube_routes(two.host_b) == {}
    assert not guard_up(two.host_b) and ip_forward(two.host_b) == "0"
    assert "kubelite0" not in run("ip", "-n", two.host_b, "link", "show").stdout

    # Node A keeps the route while the Node exists (it may come back), not after.
    assert kube_routes(two.host_a)
    two.kubectl("delete", "node", NODE_B)
    wait_for("node A to drop its route to node B", lambda: kube_routes(two.host_a) == {},
             timeout=30)
    # Its route guard goes too (forwarding itself stays as the service proxy wants it).
    wait_for("node A to drop its route guard", lambda: not guard_up(two.host_a), timeout=10)

