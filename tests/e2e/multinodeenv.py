"""Two kubelite nodes on one machine, for end-to-end tests and benchmarks: two network
namespaces (test hosts) joined by a veth pair on a private link (10.45.0.0/24), each with
its own resolv.conf and no route off the machine. The server with its bundled agent runs
in host A (node A), a standalone `kubelite agent` in host B (node B), both through
`nsenter --net` so they keep the machine's mounts and cgroups; kubectl runs in A through
`ip netns exec`. `running()` sets it all up and takes it all down, checking that no
namespace, mount or pod cgroup is left. Needs root, runc, busybox, ip, nsenter, nft.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

from kubelite.agent.images import archive, store
from kubelite.agent.network import forwarding, routes
from kubelite.agent.runtime import cgroups
from tests.agent.images import builder
from tests.agent.network import test_podnet as podnet_test
from tests.e2e import agentenv, cluster

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


@contextmanager
def running(base: str, namespace: str) -> Iterator[TwoNodes]:
    """Both hosts and nodes up, Ready, with `namespace` created; all gone after."""
    suffix = secrets.token_hex(3)
    t = TwoNodes(f"kubelite-e2e-host-a-{suffix}", f"kubelite-e2e-host-b-{suffix}",
                 os.path.join(base, "a"), os.path.join(base, "b"), os.path.join(base, "home"),
                 cluster.free_port())
    os.makedirs(t.home)
    tar = os.path.join(base, "bb.tar")
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
        t.kubectl("create", "namespace", namespace)
        yield t
        uids = {p["metadata"]["uid"] for p in t.kubectl_json("get", "pods", "-n", namespace)["items"]}
        t.kubectl("delete", "pods", "--all", "-n", namespace, "--timeout=90s", check=False,
                  timeout=120)
        for data in (t.data_a, t.data_b):
            agentenv.wait_sandboxes_gone(os.path.join(data, "agent"))
    finally:
        t.stop("agent-b")
        t.stop("server")
        for data in (t.data_a, t.data_b):
            agentenv.force_cleanup(os.path.join(data, "agent"))
        for host in (t.host_a, t.host_b):
            podnet_test.drop_netns(host)
    assert suffix not in run("ip", "netns", "list").stdout
    assert not os.path.exists(f"/etc/netns/{t.host_a}")
    assert mounts_under(t.data_a, t.data_b) == []
    assert pod_cgroups(uids) == []
