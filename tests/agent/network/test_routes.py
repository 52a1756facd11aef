"""Routes between nodes: which routes a node wants (pure), and, for real (root), keeping
them in a test namespace's routing table and turning forwarding on behind its guard.
The host's own routes, ruleset and sysctls must stay as they were."""

from __future__ import annotations

import asyncio
import json
import os
import pathlib
import secrets
import shutil
from collections.abc import Iterator
from typing import Any

import pytest

from kubelite.agent.kubelet import netns
from kubelite.agent.network import forwarding, routes
from kubelite.agent.network.proxy import apply, sysctl
from kubelite.client import rest
from tests.agent.network import test_podnet as podnet_test
from tests.agent.network import test_proxy as proxy_test
from tests.e2e import cluster as e2e_cluster

Obj = dict[str, Any]
CLUSTER = "10.42.0.0/16"
needs_root = pytest.mark.skipif(os.geteuid() != 0 or shutil.which("nft") is None
                                or shutil.which("ip") is None, reason="needs root, nft, ip")


def node(name: str, ip: str = "", *cidrs: str, deleting: bool = False) -> Obj:
    meta: Obj = {"name": name}
    if deleting:
        meta["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    return {"metadata": meta,
            "spec": {"podCIDR": cidrs[0], "podCIDRs": list(cidrs)} if cidrs else {},
            "status": {"addresses": [{"type": "Hostname", "address": name}] +
                       ([{"type": "InternalIP", "address": ip}] if ip else [])}}


@pytest.mark.parametrize(("nodes", "want"), [
    ([node("a", "10.45.0.1", "10.42.0.0/24"), node("b", "10.45.0.2", "10.42.1.0/24")],
     {"10.42.1.0/24": "10.45.0.2"}),
    ([node("b", "", "10.42.1.0/24")], {}),
    ([node("b", "10.45.0.2")], {}),
    ([node("b", "127.1.0.2", "10.42.1.0/24")], {}),
    ([node("hollow-0", "10.45.0.9", "10.64.0.0/24")], {}),
    ([node("b", "10.45.0.2", "10.42.1.0/24", deleting=True)], {}),
    ([node("b", "10.45.0.2", "fd00:42::/64", "10.42.1.0/24")], {"10.42.1.0/24": "10.45.0.2"}),
    ([node("b", "10.45.0.2", "10.42.1.0/24"), node("c", "10.45.0.3", "10.42.2.0/24")],
     {"10.42.1.0/24": "10.45.0.2", "10.42.2.0/24": "10.45.0.3"}),
], ids=["other-node", "no-ip", "no-cidr", "loopback-next-hop", "outside-cluster",
        "deleting", "dual-stack", "two-others"])
def test_desired(nodes: list[Obj], want: dict[str, str]) -> None:
    assert routes.desired(nodes, "a", CLUSTER) == want


def test_internal_ip_is_the_first_well_formed_ipv4() -> None:
    n = {"status": {"addresses": [{"type": "InternalIP", "address": "fd00::2"},
                                  {"type": "InternalIP", "address": "10.45.0.300"},
                                  {"type": "ExternalIP", "address": "10.45.0.9"},
                                  {"type": "InternalIP", "address": "10.45.0.2"}]}}
    assert routes.internal_ip(n) == "10.45.0.2"
    assert routes.desired([node("b", "not-an-address", "10.42.1.0/24")], "a", CLUSTER) == {}


def test_guard_text_without_nodes_has_no_elements() -> None:
    text = forwarding.render(CLUSTER, [])
    assert "elements" not in text and f"ip daddr {CLUSTER} accept" in text
    assert "ip saddr" not in text


def test_guard_lets_pods_out_only_where_the_proxy_masquerades_them() -> None:
    assert f"ip saddr {CLUSTER} accept" in forwarding.render(CLUSTER, [], pod_egress=True)


@pytest.fixture
def ns() -> Iterator[str]:
    """A namespace with a link to 10.45.0.0/24 (a veth pair; the peer stays inside)."""
    name = f"kubelite-test-{secrets.token_hex(3)}"
    podnet_test.make_netns(name)
    try:
        podnet_test.sh("ip", "-n", name, "link", "add", "kubelite-t0", "type", "veth",
                       "peer", "name", "kubelite-t1")
        podnet_test.sh("ip", "-n", name, "addr", "add", "10.45.0.1/24", "dev", "kubelite-t0")
        for link in ("kubelite-t0", "kubelite-t1"):
            podnet_test.sh("ip", "-n", name, "link", "set", link, "up")
        yield name
    finally:
        podnet_test.drop_netns(name)


def route_table(ns: str) -> list[Obj]:
    return json.loads(podnet_test.sh("ip", "-n", ns, "-json", "route", "show"))


def host_state() -> tuple[str, str, str]:
    return (podnet_test.sh("ip", "route", "show"), podnet_test.sh("nft", "list", "tables"),
            pathlib.Path("/proc/sys/net/ipv4/ip_forward").read_text())


@needs_root
async def test_sync_installs_replaces_and_removes_only_its_own(ns: str) -> None:
    before = host_state()
    podnet_test.sh("ip", "-n", ns, "route", "add", "10.42.9.0/24", "via", "10.45.0.9")
    assert await routes.sync({"10.42.1.0/24": "10.45.0.2"}, ns) == {"10.42.1.0/24": "10.45.0.2"}
    assert await routes.installed(ns) == {"10.42.1.0/24": "10.45.0.2"}

    # A node's address changed, another came; one whose next hop is off-link is refused.
    want = {"10.42.1.0/24": "10.45.0.3", "10.42.2.0/24": "10.45.0.4", "10.42.3.0/24": "10.99.0.1"}
    assert await routes.sync(want, ns) == {"10.42.1.0/24": "10.45.0.3",
                                           "10.42.2.0/24": "10.45.0.4"}
    assert await routes.installed(ns) == {"10.42.1.0/24": "10.45.0.3",
                                          "10.42.2.0/24": "10.45.0.4"}

    assert await routes.sync({"10.42.2.0/24": "10.45.0.4"}, ns) == {"10.42.2.0/24": "10.45.0.4"}
    await routes.remove_all(ns)
    assert await routes.installed(ns) == {}
    # The route kubelite did not make is still there.
    assert [r["dst"] for r in route_table(ns) if r["dst"].startswith("10.42.")] == ["10.42.9.0/24"]
    assert host_state() == before


@needs_root
async def test_forwarding_on_behind_guard_and_restored(ns: str, tmp_path: pathlib.Path) -> None:
    before = host_state()
    assert await sysctl.read(forwarding.SYSCTL, ns) == "0"
    fwd = forwarding.Forwarding(CLUSTER, str(tmp_path), ns)
    await fwd.enable(["10.45.0.1", "10.45.0.2"])
    assert await sysctl.read(forwarding.SYSCTL, ns) == "1"
    table = await apply.nft("list", "table", "ip", forwarding.TABLE, netns=ns)
    assert "10.45.0.2" in table and "drop" in table
    await fwd.enable(["10.45.0.1", "10.45.0.2", "10.45.0.3"])       # a node joined
    assert "10.45.0.3" in await apply.nft("list", "table", "ip", forwarding.TABLE, netns=ns)

    await fwd.disable()
    assert await sysctl.read(forwarding.SYSCTL, ns) == "0"
    assert f"ip {forwarding.TABLE}" not in await apply.tables(ns)
    assert not os.listdir(tmp_path)
    assert host_state() == before


@needs_root
async def test_forwarding_left_on_by_a_crash_is_restored_on_next_start(
        ns: str, tmp_path: pathlib.Path) -> None:
    await forwarding.Forwarding(CLUSTER, str(tmp_path), ns).enable(["10.45.0.2"])
    restarted = forwarding.Forwarding(CLUSTER, str(tmp_path), ns)
    await restarted.enable(["10.45.0.2"])       # sees "1" now, must keep the older "0"
    await restarted.disable()
    assert await sysctl.read(forwarding.SYSCTL, ns) == "0"
    assert f"ip {forwarding.TABLE}" not in await apply.tables(ns)


@pytest.fixture
def api(tmp_path: pathlib.Path) -> Iterator[e2e_cluster.Cluster]:
    c = e2e_cluster.start(str(tmp_path / "data"), str(tmp_path / "home"), "--disable", "agent")
    yield c
    c.stop()


async def add_node(client: rest.Client, name: str, ip: str, cidr: str = "") -> None:
    rt = client.resource("v1", "Node")
    spec = {"podCIDR": cidr, "podCIDRs": [cidr]} if cidr else {}
    await client.create(rt, {"apiVersion": "v1", "kind": "Node", "metadata": {"name": name},
                             "spec": spec})
    await set_ip(client, name, ip)


async def set_ip(client: rest.Client, name: str, ip: str) -> None:
    await client.patch(client.resource("v1", "Node"), name, {"status": {"addresses": [
        {"type": "InternalIP", "address": ip}, {"type": "Hostname", "address": name}]}},
        subresource="status")


@needs_root
async def test_node_routes_follow_the_api(ns: str, api: e2e_cluster.Cluster,
                                          tmp_path: pathlib.Path) -> None:
    """Nodes written through the API become routes in the node's namespace, forwarding
    goes on behind the guard, and everything goes when the loop stops."""
    client = rest.Client.from_kubeconfig(api.kubeconfig)
    node_rt = client.resource("v1", "Node")
    await add_node(client, "a", "10.45.0.1", "10.42.0.0/24")
    await add_node(client, "b", "10.45.0.2", "10.42.1.0/24")
    loop = routes.NodeRoutes(client, node_name="a", cluster_cidr=CLUSTER,
                             state_dir=str(tmp_path / "state"), netns=ns)
    task = asyncio.create_task(loop.run())
    try:
        await loop.wait_routes(lambda r: r == {"10.42.1.0/24": "10.45.0.2"}, 10)
        assert await routes.installed(ns) == {"10.42.1.0/24": "10.45.0.2"}
        assert await sysctl.read(forwarding.SYSCTL, ns) == "1"
        assert f"ip {forwarding.TABLE}" in await apply.tables(ns)

        await add_node(client, "c", "10.45.0.3")          # node IPAM gives it a CIDR
        have = await loop.wait_routes(lambda r: len(r) == 2, 10)
        cidr_c = (await client.get(node_rt, "c"))["spec"]["podCIDR"]
        assert have == {"10.42.1.0/24": "10.45.0.2", cidr_c: "10.45.0.3"}

        await set_ip(client, "b", "10.45.0.4")            # b moved
        await loop.wait_routes(lambda r: r == {"10.42.1.0/24": "10.45.0.4", cidr_c: "10.45.0.3"}, 10)
        await client.delete(node_rt, "b")
        await loop.wait_routes(lambda r: r == {cidr_c: "10.45.0.3"}, 10)
        assert await routes.installed(ns) == {cidr_c: "10.45.0.3"}
        await client.delete(node_rt, "c")
        await loop.wait_routes(lambda r: r == {}, 10)
        assert await sysctl.read(forwarding.SYSCTL, ns) == "0"      # no route, no forwarding
        await add_node(client, "d", "10.45.0.5", "10.42.3.0/24")
        await loop.wait_routes(lambda r: r == {"10.42.3.0/24": "10.45.0.5"}, 10)
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await client.close()
    assert await routes.installed(ns) == {}
    assert await sysctl.read(forwarding.SYSCTL, ns) == "0"
    assert f"ip {forwarding.TABLE}" not in await apply.tables(ns)


def wire(node: str, other: str, node_ip: str, other_ip: str, via: str) -> None:
    """A veth between two test namespaces; `other` routes everything else via `node`."""
    link = f"kubelite-{other[-1]}"
    podnet_test.sh("ip", "-n", node, "link", "add", link, "type", "veth", "peer", "name",
                   "eth0", "netns", other)
    podnet_test.sh("ip", "-n", node, "addr", "add", node_ip, "dev", link)
    podnet_test.sh("ip", "-n", other, "addr", "add", other_ip, "dev", "eth0")
    podnet_test.sh("ip", "-n", node, "link", "set", link, "up")
    podnet_test.sh("ip", "-n", other, "link", "set", "eth0", "up")
    podnet_test.sh("ip", "-n", other, "route", "add", "default", "via", via)


async def reaches(ns: str, ip: str) -> bool:
    """Whether a TCP connection from `ns` to ip:8080 opens within a second (a dropped SYN
    never answers)."""
    loop = asyncio.get_running_loop()
    with netns.socket_in(f"/run/netns/{ns}") as sock:
        try:
            await asyncio.wait_for(loop.sock_connect(sock, (ip, 8080)), 1.0)
        except (TimeoutError, OSError):
            return False
    return True


@pytest.fixture
def hosts() -> Iterator[dict[str, str]]:
    """The node (n) with a pod (p, 10.42.0.2), another node (q, 10.45.0.2, serving a pod
    address 10.42.1.5 too) and a host outside the cluster (o, 192.0.2.2): all namespaces."""
    base = f"kubelite-test-{secrets.token_hex(3)}"
    names = {k: f"{base}-{k}" for k in "npqo"}
    try:
        for name in names.values():
            podnet_test.make_netns(name)
        n = names["n"]
        wire(n, names["p"], "10.42.0.1/24", "10.42.0.2/24", "10.42.0.1")
        wire(n, names["q"], "10.45.0.1/24", "10.45.0.2/24", "10.45.0.1")
        wire(n, names["o"], "192.0.2.1/24", "192.0.2.2/24", "192.0.2.1")
        podnet_test.sh("ip", "-n", names["q"], "addr", "add", "10.42.1.5/24", "dev", "lo")
        podnet_test.sh("ip", "-n", n, "route", "add", "10.42.1.0/24", "via", "10.45.0.2")
        yield names
    finally:
        for name in names.values():
            podnet_test.drop_netns(name)


@needs_root
@pytest.mark.parametrize("pod_egress", [False, True], ids=["strict", "pod-egress"])
async def test_guard_forwards_to_nodes_and_pods_only(hosts: dict[str, str], pod_egress: bool,
                                                      tmp_path: pathlib.Path) -> None:
    servers = [await proxy_test.serve(hosts[k], ip, k) for k, ip in
               (("q", "10.45.0.2"), ("q", "10.42.1.5"), ("o", "192.0.2.2"))]
    targets = ("10.45.0.2", "10.42.1.5", "192.0.2.2")

    async def from_pod() -> list[bool]:
        return list(await asyncio.gather(*(reaches(hosts["p"], ip) for ip in targets)))
    try:
        assert await from_pod() == [False] * 3                              # no forwarding
        fwd = forwarding.Forwarding(CLUSTER, str(tmp_path), hosts["n"], pod_egress=pod_egress)
        await fwd.enable(["10.45.0.1", "10.45.0.2"])
        # the other node and its pods, yes; beyond the cluster only where pods may go out
        assert await from_pod() == [True, True, pod_egress]
        # traffic not from a pod goes nowhere beyond the cluster either way
        assert not await reaches(hosts["q"], "192.0.2.2")
        await fwd.disable()
        assert await from_pod() == [False] * 3
    finally:
        for server in servers:
            server.close()
