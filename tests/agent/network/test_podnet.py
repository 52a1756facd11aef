"""The pod network for real (root): a test namespace plays the node, so the host is left
alone; two pod namespaces get veths, addresses and routes, and talk over real TCP."""

from __future__ import annotations

import asyncio
import json
import os
import pathlib
import secrets
import shutil
import socket
import subprocess
from collections.abc import AsyncIterator, Iterator

import pytest

from kubelite.agent.kubelet import netns
from kubelite.agent.network import bridge, podnet

pytestmark = pytest.mark.skipif(os.geteuid() != 0 or shutil.which("ip") is None
                                or shutil.which("bridge") is None, reason="needs root and iproute2")
CIDR = "10.42.7.0/24"


def sh(*cmd: str) -> str:
    return subprocess.run(cmd, capture_output=True, text=True, check=True).stdout


def links(ns: str) -> list[str]:
    return [x["ifname"] for x in json.loads(sh("ip", "-n", ns, "-json", "link", "show"))]


def make_netns(name: str) -> None:
    sh("ip", "netns", "add", name)
    sh("ip", "-n", name, "link", "set", "lo", "up")
    os.makedirs(f"/etc/netns/{name}", exist_ok=True)
    with open(f"/etc/netns/{name}/resolv.conf", "w") as f:
        f.write("nameserver 127.0.0.1\n")


def drop_netns(name: str) -> None:
    subprocess.run(["ip", "netns", "delete", name], capture_output=True, check=False)
    shutil.rmtree(f"/etc/netns/{name}", ignore_errors=True)


@pytest.fixture
def names() -> Iterator[dict[str, str]]:
    base = f"kubelite-test-{secrets.token_hex(3)}"
    n = {"node": base, "a": base + "-a", "b": base + "-b"}
    for name in n.values():
        make_netns(name)
    yield n
    for name in n.values():
        drop_netns(name)


@pytest.fixture
async def net(names: dict[str, str], tmp_path: pathlib.Path) -> AsyncIterator[podnet.PodNetwork]:
    pn = podnet.PodNetwork(podnet.Config(pod_cidr=CIDR, state_dir=str(tmp_path / "ipam"),
                                         node_netns=names["node"]))
    await pn.start()
    yield pn
    await pn.stop()


async def exchange(from_ns: str, to_ns: str, to_ip: str) -> bytes:
    """Connect from one namespace to a listener in another over TCP; return its answer."""
    loop = asyncio.get_running_loop()
    server = netns.socket_in(f"/run/netns/{to_ns}")
    client = netns.socket_in(f"/run/netns/{from_ns}")
    with server, client:
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind((to_ip, 8080))
        server.listen(1)
        accept = asyncio.ensure_future(loop.sock_accept(server))
        await asyncio.wait_for(loop.sock_connect(client, (to_ip, 8080)), 5)
        conn, peer = await asyncio.wait_for(accept, 5)
        with conn:
            await loop.sock_sendall(conn, f"hello {peer[0]}".encode())
            return await asyncio.wait_for(loop.sock_recv(client, 100), 5)


async def test_pods_reach_each_other_and_the_node_reaches_both(
        names: dict[str, str], net: podnet.PodNetwork) -> None:
    ip_a = (await net.setup("sandbox-a", f"/run/netns/{names['a']}"))[0]
    ip_b = (await net.setup("sandbox-b", f"/run/netns/{names['b']}"))[0]
    assert (ip_a, ip_b) == ("10.42.7.2", "10.42.7.3")
    assert await bridge.addresses(names["node"]) == ["10.42.7.1/24"]
    assert await exchange(names["a"], names["b"], ip_b) == f"hello {ip_a}".encode()
    assert await exchange(names["b"], names["a"], ip_a) == f"hello {ip_b}".encode()
    for ns, ip in ((names["a"], ip_a), (names["b"], ip_b)):
        assert await exchange(names["node"], ns, ip) == b"hello 10.42.7.1"


async def test_pod_side_has_eth0_address_route_and_mtu(
        names: dict[str, str], net: podnet.PodNetwork) -> None:
    await net.setup("sandbox-a", f"/run/netns/{names['a']}")
    eth0 = json.loads(sh("ip", "-n", names["a"], "-json", "addr", "show", "dev", "eth0"))[0]
    assert eth0["mtu"] == 1500 and "UP" in eth0["flags"]
    assert [(a["local"], a["prefixlen"]) for a in eth0["addr_info"] if a["family"] == "inet"] \
        == [("10.42.7.2", 24)]
    assert "default via 10.42.7.1 dev eth0" in sh("ip", "-n", names["a"], "route")
    veth = podnet.host_veth("sandbox-a")
    assert veth.startswith("kl") and len(veth) <= 15
    port = json.loads(sh("bridge", "-n", names["node"], "-d", "-json", "link", "show",
                         "dev", veth))[0]
    assert port["master"] == "kubelite0" and port["hairpin"] is True
    assert veth not in sh("ip", "link", "show")          # the host namespace is untouched


async def test_teardown_and_stop_leave_nothing(names: dict[str, str],
                                               tmp_path: pathlib.Path) -> None:
    pn = podnet.PodNetwork(podnet.Config(pod_cidr=CIDR, state_dir=str(tmp_path / "ipam"),
                                         node_netns=names["node"]))
    await pn.start()
    assert pn.created_bridge
    for pod in ("a", "b"):
        await pn.setup(f"sandbox-{pod}", f"/run/netns/{names[pod]}")
    for pod in ("a", "b"):
        await pn.teardown(f"sandbox-{pod}", f"/run/netns/{names[pod]}")
        assert links(names[pod]) == ["lo"]
    await pn.teardown("sandbox-a", f"/run/netns/{names['a']}")        # idempotent
    assert pn.ipam.owners() == {}
    await pn.stop()
    assert links(names["node"]) == ["lo"]
    assert sh("ip", "-n", names["node"], "-4", "addr", "show", "scope", "global") == ""


async def test_restart_keeps_existing_bridge_and_frees_dead_sandboxes(
        names: dict[str, str], tmp_path: pathlib.Path) -> None:
    cfg = podnet.Config(pod_cidr=CIDR, state_dir=str(tmp_path / "ipam"), node_netns=names["node"])
    first = podnet.PodNetwork(cfg)
    await first.start()
    await first.setup("sandbox-a", f"/run/netns/{names['a']}")
    await first.setup("sandbox-b", f"/run/netns/{names['b']}")
    second = podnet.PodNetwork(cfg)                                  # the agent restarted
    await second.start(alive=lambda sid: sid == "sandbox-a")
    assert not second.created_bridge
    assert second.ipam.owners() == {"10.42.7.2": "sandbox-a"}
    assert podnet.host_veth("sandbox-b") not in links(names["node"])
    assert links(names["b"]) == ["lo"]
    assert (await second.setup("sandbox-c", f"/run/netns/{names['b']}")) == ("10.42.7.4",)
    await first.stop()
    assert "kubelite0" not in links(names["node"])


async def test_failed_setup_frees_the_address(names: dict[str, str],
                                             net: podnet.PodNetwork) -> None:
    with pytest.raises(Exception, match="netns|namespace|No such file"):
        await net.setup("sandbox-x", f"/run/netns/{names['node']}-missing")
    assert net.ipam.owners() == {}
    assert podnet.host_veth("sandbox-x") not in links(names["node"])


async def test_stop_leaves_a_bridge_that_foreign_pods_still_use(
        names: dict[str, str], tmp_path: pathlib.Path) -> None:
    mine = podnet.PodNetwork(podnet.Config(pod_cidr=CIDR, state_dir=str(tmp_path / "mine"),
                                           node_netns=names["node"]))
    other = podnet.PodNetwork(podnet.Config(pod_cidr=CIDR, state_dir=str(tmp_path / "other"),
                                            node_netns=names["node"]))
    await mine.start()
    await other.start()
    await mine.setup("sandbox-a", f"/run/netns/{names['a']}")
    await other.setup("sandbox-b", f"/run/netns/{names['b']}")
    await mine.stop()
    assert "kubelite0" in links(names["node"])       # sandbox-b still hangs on it
    assert podnet.host_veth("sandbox-b") in await bridge.ports(names["node"])
    await other.teardown("sandbox-b")
    await mine.stop()
    assert "kubelite0" not in links(names["node"])


async def test_setup_brings_back_a_bridge_another_agent_removed(
        names: dict[str, str], net: podnet.PodNetwork) -> None:
    other = podnet.PodNetwork(podnet.Config(pod_cidr=CIDR, state_dir=str(net.cfg.state_dir) + "2",
                                            node_netns=names["node"]))
    await other.stop()                  # it holds no pods: it removes the shared bridge
    assert "kubelite0" not in links(names["node"])
    ip_a = (await net.setup("sandbox-a", f"/run/netns/{names['a']}"))[0]
    assert await exchange(names["node"], names["a"], ip_a) == b"hello 10.42.7.1"
