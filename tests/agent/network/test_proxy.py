"""The service proxy for real (root): a test namespace plays the node (bridge, nft table,
sysctls), three pod namespaces hang on its bridge; pods a and b serve HTTP answering their
name, pod c is the client. The host's own ruleset and sysctls must stay as they were."""

from __future__ import annotations

import asyncio
import pathlib
import secrets
import select
import shutil
import socket
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from kubelite.agent.kubelet import netns
from kubelite.agent.network import podnet, rtnl
from kubelite.agent.network.proxy import apply, proxier, sysctl
from kubelite.client import rest
from tests.agent.network import test_podnet as podnet_test
from tests.e2e import cluster as e2e_cluster

pytestmark = pytest.mark.skipif(podnet_test.os.geteuid() != 0 or shutil.which("nft") is None
                                or shutil.which("ip") is None, reason="needs root, nft, ip")
VIP, NODE_PORT = "10.43.0.50", 30080
Obj = dict[str, Any]


def service(node_port: bool = True) -> Obj:
    port: Obj = {"name": "http", "port": 80, "protocol": "TCP", "targetPort": 8080}
    if node_port:
        port["nodePort"] = NODE_PORT
    return {"metadata": {"namespace": "default", "name": "web"},
            "spec": {"type": "NodePort" if node_port else "ClusterIP", "clusterIP": VIP,
                     "ports": [port]}}


def endpoint_slice(*ips: str) -> Obj:
    return {"metadata": {"namespace": "default", "name": "web-abc",
                         "labels": {"kubernetes.io/service-name": "web"}},
            "addressType": "IPv4", "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}],
            "endpoints": [{"addresses": [ip], "conditions": {"ready": True}} for ip in ips]}


def host_state() -> tuple[str, str]:
    return (podnet_test.sh("nft", "list", "tables"),
            pathlib.Path("/proc/sys/net/ipv4/ip_forward").read_text())


@pytest.fixture
def names() -> Iterator[dict[str, str]]:
    base = f"kubelite-test-{secrets.token_hex(3)}"
    n = {"node": base, "a": base + "-a", "b": base + "-b", "c": base + "-c"}
    for name in n.values():
        podnet_test.make_netns(name)
    yield n
    for name in n.values():
        podnet_test.drop_netns(name)


async def serve(ns: str, ip: str, name: str) -> asyncio.Server:
    """A tiny HTTP server on ip:8080 in `ns` answering its own name."""
    async def handle(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        await r.readuntil(b"\r\n\r\n")
        w.write(b"HTTP/1.0 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(name), name.encode()))
        await w.drain()
        w.close()
    sock = netns.socket_in(f"/run/netns/{ns}")
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((ip, 8080))
    return await asyncio.start_server(handle, sock=sock)


async def get(ns: str, ip: str, port: int) -> str:
    """One HTTP request from inside `ns`; the body."""
    loop = asyncio.get_running_loop()
    with netns.socket_in(f"/run/netns/{ns}") as s:
        await asyncio.wait_for(loop.sock_connect(s, (ip, port)), 5)
        await loop.sock_sendall(s, b"GET / HTTP/1.0\r\n\r\n")
        data = b""
        while chunk := await asyncio.wait_for(loop.sock_recv(s, 4096), 5):
            data += chunk
    return data.split(b"\r\n\r\n", 1)[1].decode()


@pytest.fixture
async def pods(names: dict[str, str], tmp_path: pathlib.Path) -> AsyncIterator[dict[str, str]]:
    """Pods a, b (serving) and c on the node's bridge; their IPs."""
    before = host_state()
    pn = podnet.PodNetwork(podnet.Config(pod_cidr="10.42.7.0/24", state_dir=str(tmp_path / "ipam"),
                                         node_netns=names["node"]))
    await pn.start()
    ips = {p: (await pn.setup(f"sandbox-{p}", f"/run/netns/{names[p]}"))[0] for p in "abc"}
    servers = [await serve(names[p], ips[p], f"pod-{p}") for p in "ab"]
    yield ips
    for s in servers:
        s.close()
    await pn.stop()
    assert host_state() == before                 # the host was never touched


@pytest.fixture
async def cluster(names: dict[str, str], pods: dict[str, str]
                  ) -> AsyncIterator[tuple[proxier.ServiceProxy, dict[str, str]]]:
    proxy = proxier.ServiceProxy(None, netns=names["node"],
                                 node_addresses=["127.0.0.1", "10.42.7.1"],
                                 cluster_cidr="10.42.0.0/16", service_cidr="10.43.0.0/16")
    await proxy.start()
    yield proxy, pods
    await proxy.stop()


async def spread(ns: str, n: int = 40) -> Counter[str]:
    return Counter([await get(ns, VIP, 80) for _ in range(n)])


async def test_cluster_ip_balances_and_follows_endpoint_changes(
        names: dict[str, str], cluster: tuple[proxier.ServiceProxy, dict[str, str]]) -> None:
    proxy, ips = cluster
    await proxy.sync([service()], [endpoint_slice(ips["a"], ips["b"])])
    assert set(await spread(names["c"])) == {"pod-a", "pod-b"}
    began = time.monotonic()
    await proxy.sync([service()], [endpoint_slice(ips["a"])])
    first = await get(names["c"], VIP, 80)
    latency = time.monotonic() - began
    print(f"endpoint removal -> effect: {latency * 1000:.1f} ms")
    assert latency < 1.0
    assert first == "pod-a" and set(await spread(names["c"])) == {"pod-a"}


async def test_no_endpoints_refuses_fast(
        names: dict[str, str], cluster: tuple[proxier.ServiceProxy, dict[str, str]]) -> None:
    proxy, _ips = cluster
    await proxy.sync([service()], [endpoint_slice()])
    for ns, ip, port in ((names["c"], VIP, 80), (names["node"], VIP, 80),
                         (names["node"], "127.0.0.1", NODE_PORT)):
        began = time.monotonic()
        with pytest.raises(ConnectionRefusedError):
            await get(ns, ip, port)
        assert time.monotonic() - began < 1.0, (ns, ip, port)


async def test_node_port_and_node_namespace_reach_backends(
        names: dict[str, str], cluster: tuple[proxier.ServiceProxy, dict[str, str]]) -> None:
    proxy, ips = cluster
    await proxy.sync([service()], [endpoint_slice(ips["a"], ips["b"])])
    assert await get(names["node"], "127.0.0.1", NODE_PORT) in {"pod-a", "pod-b"}
    assert await get(names["node"], VIP, 80) in {"pod-a", "pod-b"}
    assert await get(names["c"], "10.42.7.1", NODE_PORT) in {"pod-a", "pod-b"}


async def test_hairpin_pod_reaches_itself_through_its_service(
        names: dict[str, str], cluster: tuple[proxier.ServiceProxy, dict[str, str]]) -> None:
    proxy, ips = cluster
    await proxy.sync([service()], [endpoint_slice(ips["a"])])
    assert await get(names["a"], VIP, 80) == "pod-a"


async def test_client_ip_affinity_survives_updates(
        names: dict[str, str], cluster: tuple[proxier.ServiceProxy, dict[str, str]]) -> None:
    proxy, ips = cluster
    sticky = service()
    sticky["spec"]["sessionAffinity"] = "ClientIP"
    await proxy.sync([sticky], [endpoint_slice(ips["a"], ips["b"])])
    [chosen] = set(await spread(names["c"], 20))
    other = service(node_port=False)                 # an unrelated change rewrites the table
    other["metadata"]["name"], other["spec"]["clusterIP"] = "other", "10.43.0.51"
    await proxy.sync([sticky, other], [endpoint_slice(ips["a"], ips["b"])])
    assert set(await spread(names["c"], 20)) == {chosen}
    left = "a" if chosen == "pod-b" else "b"         # its endpoint goes: the client moves
    await proxy.sync([sticky, other], [endpoint_slice(ips[left])])
    assert set(await spread(names["c"], 10)) == {f"pod-{left}"}


async def test_load_balancer_address_reaches_backends(
        names: dict[str, str], cluster: tuple[proxier.ServiceProxy, dict[str, str]]) -> None:
    proxy, ips = cluster
    lb = service()
    lb["spec"]["type"] = "LoadBalancer"
    lb["status"] = {"loadBalancer": {"ingress": [{"ip": "10.42.7.1", "ipMode": "VIP"}]}}
    await proxy.sync([lb], [endpoint_slice(ips["a"], ips["b"])])
    assert await get(names["node"], "10.42.7.1", 80) in {"pod-a", "pod-b"}
    assert await get(names["c"], "10.42.7.1", 80) in {"pod-a", "pod-b"}
    await proxy.sync([lb], [endpoint_slice()])
    with pytest.raises(ConnectionRefusedError):
        await get(names["c"], "10.42.7.1", 80)


async def test_a_service_leads_to_an_endpoint_beyond_the_pod_network(
        names: dict[str, str], cluster: tuple[proxier.ServiceProxy, dict[str, str]]) -> None:
    """As the `kubernetes` Service leads to the server's node address: a pod reaches that
    address through the ClusterIP, while the guard still drops the pod's direct traffic
    to it (egress masquerade is off)."""
    proxy, ips = cluster
    far = names["node"] + "-far"
    podnet_test.make_netns(far)
    try:
        podnet_test.sh("ip", "-n", names["node"], "link", "add", "kubelite-far", "type", "veth",
                       "peer", "name", "eth0", "netns", far)
        podnet_test.sh("ip", "-n", names["node"], "addr", "add", "10.45.9.1/24",
                       "dev", "kubelite-far")
        podnet_test.sh("ip", "-n", names["node"], "link", "set", "kubelite-far", "up")
        podnet_test.sh("ip", "-n", far, "addr", "add", "10.45.9.2/24", "dev", "eth0")
        podnet_test.sh("ip", "-n", far, "link", "set", "eth0", "up")
        podnet_test.sh("ip", "-n", far, "route", "add", "10.42.0.0/16", "via", "10.45.9.1")
        server = await serve(far, "10.45.9.2", "far")
        try:
            await proxy.sync([service()], [endpoint_slice("10.45.9.2")])
            assert await get(names["c"], VIP, 80) == "far"
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(get(names["c"], "10.45.9.2", 8080), 1)
        finally:
            server.close()
    finally:
        podnet_test.drop_netns(far)


def udp_socket(ns: str, bind: tuple[str, int]) -> socket.socket:
    sock = rtnl.run_in_netns(f"/run/netns/{ns}",
                             lambda: socket.socket(socket.AF_INET, socket.SOCK_DGRAM))
    sock.bind(bind)
    sock.settimeout(2)
    return sock


async def test_udp_flows_leave_a_removed_endpoint(
        names: dict[str, str], cluster: tuple[proxier.ServiceProxy, dict[str, str]]) -> None:
    """A client sending from one port keeps its conntrack entry; when its endpoint goes
    the entry must go too, or it would keep talking to the old endpoint."""
    proxy, ips = cluster
    servers = {p: udp_socket(names[p], (ips[p], 5353)) for p in "ab"}
    client = udp_socket(names["c"], (ips["c"], 40000))

    def ask() -> str:
        client.sendto(b"?", (VIP, 53))
        [srv], _w, _x = select.select(list(servers.values()), [], [], 2)
        _data, peer = srv.recvfrom(16)         # whoever got it answers with its name
        srv.sendto(next(n for n, s in servers.items() if s is srv).encode(), peer)
        return client.recv(16).decode()
    svc = {"metadata": {"namespace": "default", "name": "web"}, "spec": {
        "clusterIP": VIP, "ports": [{"name": "dns", "port": 53, "protocol": "UDP"}]}}
    sl = endpoint_slice(ips["a"], ips["b"])
    sl["ports"] = [{"name": "dns", "port": 5353, "protocol": "UDP"}]
    try:
        await proxy.sync([svc], [sl])
        first = await asyncio.to_thread(ask)
        other = "a" if first == "b" else "b"
        sl["endpoints"] = [e for e in sl["endpoints"] if e["addresses"] == [ips[other]]]
        await proxy.sync([svc], [sl])
        assert await asyncio.to_thread(ask) == other
    finally:
        for sock in (*servers.values(), client):
            sock.close()


async def test_stop_restores_node_namespace(names: dict[str, str],
                                            tmp_path: pathlib.Path) -> None:
    node = names["node"]
    before = [await sysctl.read(k, node) for k in proxier.SYSCTLS]
    proxy = proxier.ServiceProxy(None, netns=node, node_addresses=["127.0.0.1"],
                                 cluster_cidr="10.42.0.0/16", service_cidr="10.43.0.0/16")
    await proxy.start()
    assert await sysctl.read("net.ipv4.ip_forward", node) == "1"
    assert "ip kubelite" in await apply.tables(node)
    await proxy.stop()
    assert [await sysctl.read(k, node) for k in proxier.SYSCTLS] == before
    assert await apply.tables(node) == []


async def test_a_crashed_proxys_sysctls_are_restored_by_the_next(
        names: dict[str, str], tmp_path: pathlib.Path) -> None:
    node, state = names["node"], str(tmp_path / "proxy-sysctls.json")
    before = [await sysctl.read(k, node) for k in proxier.SYSCTLS]

    def new() -> proxier.ServiceProxy:
        return proxier.ServiceProxy(None, netns=node, node_addresses=["127.0.0.1"],
                                    cluster_cidr="10.42.0.0/16", service_cidr="10.43.0.0/16",
                                    state_file=state)
    await new().start()                     # and never stopped: a crash
    assert await sysctl.read("net.ipv4.ip_forward", node) == "1"
    again = new()
    await again.start()
    await again.stop()
    assert [await sysctl.read(k, node) for k in proxier.SYSCTLS] == before
    assert not pathlib.Path(state).exists()


async def test_a_node_that_already_forwards_keeps_its_routing(names: dict[str, str]) -> None:
    node = names["node"]
    await sysctl.write("net.ipv4.ip_forward", "1", node)
    proxy = proxier.ServiceProxy(None, netns=node, node_addresses=["127.0.0.1"],
                                 cluster_cidr="10.42.0.0/16", service_cidr="10.43.0.0/16")
    await proxy.start()
    guard = (await apply.nft("list", "chain", "ip", "kubelite", "filter-forward", netns=node))
    assert 'iifname "kubelite0" ip daddr != { 10.42.0.0/15 } drop' in guard
    await proxy.stop()
    assert await sysctl.read("net.ipv4.ip_forward", node) == "1"


@pytest.fixture
def api(tmp_path: pathlib.Path) -> Iterator[e2e_cluster.Cluster]:
    c = e2e_cluster.start(str(tmp_path / "data"), str(tmp_path / "home"), "--disable", "agent")
    yield c
    c.stop()


async def test_run_follows_the_api(names: dict[str, str], api: e2e_cluster.Cluster,
                                   pods: dict[str, str]) -> None:
    """Services and EndpointSlices written through the API reach the data plane."""
    ips = pods
    client = rest.Client.from_kubeconfig(api.kubeconfig)
    svc_rt = client.resource("v1", "Service")
    slice_rt = client.resource("discovery.k8s.io/v1", "EndpointSlice")
    svc = service()                                  # no selector: we own its slice
    svc["spec"]["ports"][0].pop("nodePort")
    svc = await client.create(svc_rt, svc, "default")
    vip, node_port = svc["spec"]["clusterIP"], svc["spec"]["ports"][0]["nodePort"]
    sl = endpoint_slice(ips["a"], ips["b"])
    await client.create(slice_rt, sl, "default")
    proxy = proxier.ServiceProxy(client, netns=names["node"], node_addresses=["127.0.0.1"],
                                 cluster_cidr="10.42.0.0/16", service_cidr="10.43.0.0/16")
    task = asyncio.create_task(proxy.run())
    try:
        await asyncio.wait_for(proxy.wait_applied(lambda t: ips["b"] in t), 10)
        answers = {await get(names["c"], vip, 80) for _ in range(40)}
        assert answers == {"pod-a", "pod-b"}
        assert await get(names["node"], "127.0.0.1", node_port) in answers
        began = time.monotonic()
        await client.patch(slice_rt, "web-abc", {"endpoints": sl["endpoints"][:1]},
                           namespace="default")
        await asyncio.wait_for(proxy.wait_applied(lambda t: ips["b"] not in t), 5)
        print(f"API endpoint removal -> rules applied: {(time.monotonic() - began) * 1000:.1f} ms")
        assert time.monotonic() - began < 1.0
        assert {await get(names["c"], vip, 80) for _ in range(20)} == {"pod-a"}
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await client.close()
    assert await apply.tables(names["node"]) == []
    assert await sysctl.read("net.ipv4.ip_forward", names["node"]) == "0"
    assert "10.43.0.0/16" not in podnet_test.sh("ip", "-n", names["node"], "route")
