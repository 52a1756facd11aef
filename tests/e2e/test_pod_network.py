"""Pods get real addresses from their node's pod CIDR and reach each other on one node:
the real server (node IPAM) and its bundled agent (bridge kubelite0, a veth per pod),
driven by the real kubectl. Needs what test_agent_pods needs, as root."""

from __future__ import annotations

import ipaddress
import json
import os
import subprocess
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from kubelite.agent.network import bridge, podnet
from tests.e2e import agentenv
from tests.e2e import cluster as cluster_mod

NS = "kubelite-podnet-e2e"
HTTPD_READY = """    readinessProbe:
      httpGet: {path: /index.html, port: 8080}
      periodSeconds: 1
"""


def host_links() -> list[str]:
    out = subprocess.run(["ip", "-json", "link", "show"], capture_output=True, text=True,
                         check=True).stdout
    return [x["ifname"] for x in json.loads(out)]


def our_links() -> list[str]:
    return [n for n in host_links() if n == bridge.NAME or n.startswith(podnet.VETH_PREFIX)]


@pytest.fixture(scope="module")
def net_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[cluster_mod.Cluster]:
    if not agentenv.why_not() and bridge.NAME in host_links():
        pytest.skip(f"another kubelite pod network ({bridge.NAME}) is up on this host")
    before = set(our_links())           # stray veths of other runs are not ours to judge
    yield from agentenv.running_cluster(tmp_path_factory, NS)
    assert set(our_links()) - before == set()     # bridge and veths removed


def pod_yaml(name: str, command: str, **kw: Any) -> str:
    return agentenv.pod_yaml(name, NS, command, **kw)


def wait(c: cluster_mod.Cluster, name: str, cond: str, timeout: int = 60) -> None:
    c.kubectl("wait", "-n", NS, f"pod/{name}", f"--for={cond}", f"--timeout={timeout}s",
              timeout=timeout + 10)


def get(c: cluster_mod.Cluster, name: str) -> Any:
    return c.kubectl_json("get", "pod", name, "-n", NS)


def sandbox_of(c: cluster_mod.Cluster, pod: Any) -> str:
    cid = pod["status"]["containerStatuses"][0]["containerID"].removeprefix("runc://")
    path = os.path.join(c.data_dir, "agent", "runtime", "containers", cid, "status.json")
    with open(path) as f:
        return str(json.load(f)["sandbox_id"])


def test_pods_get_addresses_and_talk_over_the_bridge(net_cluster: cluster_mod.Cluster) -> None:
    c = net_cluster
    node = c.kubectl_json("get", "nodes")["items"][0]
    cidr = ipaddress.ip_network(node["spec"]["podCIDR"])
    assert node["spec"]["podCIDRs"] == [str(cidr)] and cidr.subnet_of(
        ipaddress.ip_network("10.42.0.0/16")) and cidr.prefixlen == 24
    assert f"{cidr.network_address + 1}/24" in bridge_addresses()

    c.kubectl("apply", "-f", "-", input=pod_yaml(
        "web", "exec httpd -f -p 8080 -h /www", container_extra=HTTPD_READY))
    wait(c, "web", "condition=Ready")
    web = get(c, "web")
    web_ip = web["status"]["podIP"]
    assert web["status"]["podIPs"] == [{"ip": web_ip}]
    assert ipaddress.ip_address(web_ip) in cidr
    wide = c.kubectl("get", "pod", "web", "-n", NS, "-o", "wide", "--no-headers").stdout.split()
    assert wide[5] == web_ip

    # the node reaches the pod over the bridge (no forwarding involved)
    direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with direct.open(f"http://{web_ip}:8080/index.html", timeout=5) as r:
        assert r.read() == b"hello from kubelite\n"

    c.kubectl("apply", "-f", "-", input=pod_yaml(
        "client", f"wget -qO- http://{web_ip}:8080/index.html", restart="Never"))
    wait(c, "client", "jsonpath={.status.phase}=Succeeded")
    client = get(c, "client")
    assert client["status"]["containerStatuses"][0]["state"]["terminated"]["exitCode"] == 0
    assert c.kubectl("logs", "client", "-n", NS).stdout == "hello from kubelite\n"
    client_ip = client["status"]["podIP"]
    assert ipaddress.ip_address(client_ip) in cidr and client_ip != web_ip

    veths = {podnet.host_veth(sandbox_of(c, p)) for p in (web, client)}
    assert veths <= set(host_links())
    c.kubectl("delete", "pod", "web", "client", "-n", NS, "--timeout=60s", timeout=70)
    assert veths & set(host_links()) == set()


def test_pod_sees_its_address_and_route_via_the_bridge(net_cluster: cluster_mod.Cluster) -> None:
    c = net_cluster
    c.kubectl("apply", "-f", "-", input=pod_yaml("inside", "ip -4 addr show eth0; ip route",
                                                 restart="Never"))
    wait(c, "inside", "jsonpath={.status.phase}=Succeeded")
    out = c.kubectl("logs", "inside", "-n", NS).stdout
    ip = get(c, "inside")["status"]["podIP"]
    gateway = ipaddress.ip_network(f"{ip}/24", strict=False).network_address + 1
    assert f"inet {ip}/24" in out and "mtu 1500" in out
    assert f"default via {gateway} dev eth0" in out
    c.kubectl("delete", "pod", "inside", "-n", NS, "--timeout=60s", timeout=70)


def bridge_addresses() -> str:
    return subprocess.run(["ip", "-4", "addr", "show", "dev", bridge.NAME], capture_output=True,
                          text=True, check=True).stdout
