"""Two nodes on one machine (tests/e2e/multinodeenv.py: each in a network namespace of its
own, joined by a private link): pods on node A (the server's bundled agent) and node B (a
standalone agent) reach each other by pod IP over the routes the agents keep between
nodes, a pod on B reaches the API through the `kubernetes` Service, and a node that goes
takes its routes with it. The test hosts have no route off the machine (checked), so the
agents' default egress masquerade cannot send a pod packet anywhere else; the cluster DNS
has no upstream. Host-wide settings stay untouched; nothing is left behind (checked)."""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e import agentenv
from tests.e2e.multinodeenv import (
    A_IP,
    B_IP,
    CLUSTER_CIDR,
    NODE_B,
    TwoNodes,
    guard_up,
    ip_forward,
    kube_routes,
    run,
    running,
    wait_for,
    why_not,
)

NS = "kubelite-multinode-e2e"


@pytest.fixture(scope="module")
def two(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TwoNodes]:
    if why := why_not():
        pytest.skip(why)
    with running(str(tmp_path_factory.mktemp("kubelite-multinode")), NS) as t:
        yield t


def pod(name: str, *, node_name: str = "", hostname: str = "") -> str:
    """An httpd pod answering its own name on :8080, pinned to a node by nodeName or by
    the kubernetes.io/hostname label. It resolves through the cluster DNS (ClusterFirst),
    which has no upstream: no lookup leaves the test hosts."""
    extra = f"  nodeName: {node_name}\n" if node_name else \
        f"  nodeSelector: {{kubernetes.io/hostname: {hostname}}}\n"
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


def test_pod_on_the_joined_node_resolves_names_through_the_cluster_dns(two: TwoNodes) -> None:
    """The joined agent points pods at kube-dns (10.43.0.10), served on node A's gateway."""
    conf = two.kubectl("exec", "-n", NS, "web-b", "--", "cat", "/etc/resolv.conf").stdout
    assert "nameserver 10.43.0.10" in conf and f"search {NS}.svc.cluster.local" in conf
    out = two.kubectl("exec", "-n", NS, "web-b", "--", "busybox", "nslookup",
                      "kubernetes.default.svc.cluster.local", timeout=30).stdout
    assert "Address: 10.43.0.1" in out.split("Name:", 1)[1], out

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

