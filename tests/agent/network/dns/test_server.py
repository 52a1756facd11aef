"""The DNS server on loopback: real UDP and TCP packets, forwarding to a fake upstream."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import dnslib
import pytest

from kubelite.agent.network.dns import forward, records, server
from tests.agent.network.dns import test_records
from tests.e2e import cluster


async def ask(port: int, qname: str, qtype: str = "A", *, tcp: bool = False,
              edns: bool = False) -> dnslib.DNSRecord:
    q = dnslib.DNSRecord.question(qname, qtype)
    if edns:
        q.add_ar(dnslib.EDNS0(udp_len=1232))
    reply = dnslib.DNSRecord.parse(await forward.query(q.pack(), "127.0.0.1", port, tcp=tcp,
                                                       timeout=5))
    assert reply.header.id == q.header.id
    return reply


async def start(zone: records.Zone, upstreams: tuple[tuple[str, int], ...] = (),
                timeout: float = 2.0) -> tuple[int, list[Any]]:
    port = cluster.free_port()
    resolver = server.Resolver(zone, server.Config(upstreams, timeout))
    return port, list(await server.serve(resolver, "127.0.0.1", port))


@pytest.fixture
async def dns() -> AsyncIterator[tuple[int, records.Zone]]:
    zone = records.Zone()
    zone.upsert_service(test_records.svc("web", ports=test_records.HTTP))
    port, closers = await start(zone)
    yield port, zone
    for c in closers:
        c.close()


class _Upstream(asyncio.DatagramProtocol):
    """A stand-in upstream resolver: every A question is 192.0.2.1."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        q = dnslib.DNSRecord.parse(data)
        reply = q.reply()
        reply.add_answer(dnslib.RR(q.q.qname, dnslib.QTYPE.A, rdata=dnslib.A("192.0.2.1"), ttl=60))
        self.transport.sendto(reply.pack(), addr)  # type: ignore[attr-defined]


@pytest.mark.parametrize("tcp", [False, True], ids=["udp", "tcp"])
async def test_answers_cluster_ip(dns: tuple[int, records.Zone], tcp: bool) -> None:
    port, _ = dns
    for _ in range(2):  # the second answer comes from the packet cache
        reply = await ask(port, "Web.Default.svc.cluster.local", tcp=tcp)
        assert reply.header.aa == 1 and reply.header.rcode == dnslib.RCODE.NOERROR
        assert [(str(r.rname), str(r.rdata), r.ttl) for r in reply.rr] == [
            ("Web.Default.svc.cluster.local.", "10.43.0.10", 5)]


async def test_srv_with_additional(dns: tuple[int, records.Zone]) -> None:
    port, _ = dns
    reply = await ask(port, "_http._tcp.web.default.svc.cluster.local", "SRV", edns=True)
    assert [str(r.rdata) for r in reply.rr] == ["0 100 80 web.default.svc.cluster.local."]
    assert [str(r.rdata) for r in reply.ar if r.rtype == dnslib.QTYPE.A] == ["10.43.0.10"]
    assert any(r.rtype == dnslib.QTYPE.OPT for r in reply.ar)


async def test_nxdomain_carries_soa_and_follows_updates(dns: tuple[int, records.Zone]) -> None:
    port, zone = dns
    reply = await ask(port, "nope.default.svc.cluster.local")
    assert reply.header.rcode == dnslib.RCODE.NXDOMAIN and not reply.rr
    assert [(str(r.rname), r.rtype) for r in reply.auth] == [("cluster.local.", dnslib.QTYPE.SOA)]
    assert (await ask(port, "web.default.svc.cluster.local")).rr
    zone.delete_service(test_records.svc("web"))
    reply = await ask(port, "web.default.svc.cluster.local")
    assert reply.header.rcode == dnslib.RCODE.NXDOMAIN


@pytest.mark.parametrize("tcp", [False, True], ids=["udp", "tcp"])
async def test_other_names_refused_without_upstream(dns: tuple[int, records.Zone], tcp: bool) -> None:
    port, _ = dns
    reply = await ask(port, "example.com", tcp=tcp)
    assert reply.header.rcode == dnslib.RCODE.REFUSED and not reply.rr


async def test_other_names_forwarded_to_upstream() -> None:
    loop = asyncio.get_running_loop()
    transport, _ = await loop.create_datagram_endpoint(_Upstream, local_addr=("127.0.0.1", 0))
    up = transport.get_extra_info("sockname")
    port, closers = await start(records.Zone(), ((up[0], up[1]),))
    try:
        reply = await ask(port, "example.com")
        assert [str(r.rdata) for r in reply.rr] == ["192.0.2.1"]
        assert reply.header.rcode == dnslib.RCODE.NOERROR
    finally:
        transport.close()
        for c in closers:
            c.close()


async def test_silent_upstream_is_servfail() -> None:
    loop = asyncio.get_running_loop()
    # A socket that receives and never answers.
    transport, _ = await loop.create_datagram_endpoint(asyncio.DatagramProtocol,
                                                       local_addr=("127.0.0.1", 0))
    up = transport.get_extra_info("sockname")
    port, closers = await start(records.Zone(), ((up[0], up[1]),), timeout=0.2)
    try:
        assert (await ask(port, "example.com")).header.rcode == dnslib.RCODE.SERVFAIL
    finally:
        transport.close()
        for c in closers:
            c.close()


async def test_big_answer_truncated_on_udp_whole_on_tcp() -> None:
    zone = records.Zone()
    zone.upsert_service(test_records.svc("big", ip="None"))
    ips = [f"10.42.{i // 250}.{i % 250 + 1}" for i in range(100)]
    zone.upsert_slice(test_records.eps("big", endpoints=[{"addresses": [ip]} for ip in ips]))
    port, closers = await start(zone)
    try:
        udp = await ask(port, "big.default.svc.cluster.local")
        assert udp.header.tc == 1 and not udp.rr
        tcp = await ask(port, "big.default.svc.cluster.local", tcp=True)
        assert sorted(str(r.rdata) for r in tcp.rr) == sorted(ips)
    finally:
        for c in closers:
            c.close()


async def test_tcp_queries_forwarded_over_tcp() -> None:
    async def upstream(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        size = int.from_bytes(await reader.readexactly(2), "big")
        q = dnslib.DNSRecord.parse(await reader.readexactly(size))
        reply = q.reply()
        reply.add_answer(dnslib.RR(q.q.qname, dnslib.QTYPE.A, rdata=dnslib.A("192.0.2.7")))
        packed = reply.pack()
        writer.write(len(packed).to_bytes(2, "big") + packed)
        await writer.drain()
        writer.close()

    up = await asyncio.start_server(upstream, "127.0.0.1", 0)
    host, up_port = up.sockets[0].getsockname()[:2]
    port, closers = await start(records.Zone(), ((host, up_port),))
    try:
        reply = await ask(port, "example.com", tcp=True)
        assert [str(r.rdata) for r in reply.rr] == ["192.0.2.7"]
    finally:
        up.close()
        for c in closers:
            c.close()
