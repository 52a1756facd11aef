"""DNS over UDP and TCP: cluster names answered from a `records.Zone`, others forwarded.

Packets are parsed and built with dnslib. Packed in-zone replies are cached by the query's
bytes after its ID (so flags, EDNS and the asker's letter case all key the entry) until the
zone's generation moves: a repeated question costs one dict lookup. Names outside the zone go
to the upstream resolvers in order; with none configured they are REFUSED at once, so
nothing ever leaves the machine unless asked to.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import struct
import typing
from dataclasses import dataclass
from typing import Any

import dnslib

from kubelite.agent.network.dns import answers, forward, records

log = logging.getLogger(__name__)

CACHE_MAX = 20000
UDP_PAYLOAD = 1232  # our EDNS buffer size (the DNS flag day 2020 figure)


@dataclass(frozen=True)
class Config:
    upstreams: tuple[tuple[str, int], ...] = ()
    forward_timeout: float = 2.0


class Resolver:
    """Turns query packets into reply packets; one per server, shared by UDP and TCP."""

    def __init__(self, zone: records.Zone, config: Config) -> None:
        self.zone = zone
        self.config = config
        self._cache: dict[bytes, bytes] = {}
        self._generation = -1

    def cached(self, data: bytes) -> bytes | None:
        """A cached UDP reply to this exact query (under its ID), if the zone has not moved."""
        if self._generation != self.zone.generation:
            self._cache.clear()
            self._generation = self.zone.generation
            return None
        hit = self._cache.get(data[2:])
        return None if hit is None else data[:2] + hit

    async def resolve(self, data: bytes, *, tcp: bool) -> bytes | None:
        """The reply to one query packet, or None if it is not worth answering."""
        reply = self.answer(data, tcp=tcp)
        if isinstance(reply, dnslib.DNSRecord):
            return await self.forward(reply, data, tcp=tcp)
        return reply

    def answer(self, data: bytes, *, tcp: bool) -> bytes | dnslib.DNSRecord | None:
        """The reply if it needs no I/O, else the parsed request to forward (None: drop it).

        Split from `resolve` so the UDP server answers cluster names without a task each.
        """
        hit = None if tcp else self.cached(data)
        if hit is not None:
            return hit
        try:
            request = dnslib.DNSRecord.parse(data)
        except (dnslib.DNSError, struct.error, IndexError, ValueError):
            return None
        if request.header.qr or len(request.questions) != 1:
            return bytes(_error(request, dnslib.RCODE.FORMERR).pack())
        q = request.q
        answer = self.zone.lookup(str(q.qname), dnslib.QTYPE.get(q.qtype, str(q.qtype)))
        if not answer.in_zone and self.config.upstreams:
            return request
        reply = bytes(_pack(request, answer, tcp) if answer.in_zone else
                      _error(request, dnslib.RCODE.REFUSED).pack())
        if not tcp:
            if len(self._cache) >= CACHE_MAX:
                self._cache.clear()  # crude but O(1) amortised: a flood of unique names can't pin it
            self._cache[bytes(data[2:])] = reply[2:]
        return reply

    async def forward(self, request: dnslib.DNSRecord, data: bytes, *, tcp: bool) -> bytes:
        """The upstreams' reply to a query outside the zone (REFUSED when there are none)."""
        if not self.config.upstreams:
            return bytes(_error(request, dnslib.RCODE.REFUSED).pack())
        for host, port in self.config.upstreams:
            try:
                return await forward.query(data, host, port, tcp=tcp,
                                           timeout=self.config.forward_timeout)
            except (TimeoutError, OSError, EOFError) as e:
                log.debug("upstream failed upstream=%s:%d error=%r", host, port, e)
        return bytes(_error(request, dnslib.RCODE.SERVFAIL).pack())


def _error(request: dnslib.DNSRecord, rcode: int) -> dnslib.DNSRecord:
    reply = request.reply(ra=1, aa=0)
    reply.header.rcode = rcode
    return reply


def _pack(request: dnslib.DNSRecord, answer: answers.Answer, tcp: bool) -> bytes:
    reply = request.reply(ra=1, aa=1)
    reply.header.rcode = answer.rcode
    qname = request.q.qname
    asked = str(qname).strip(".").lower()
    for rec in answer.answer:
        reply.add_answer(_rr(rec, qname if rec.name == asked else None))
    for rec in answer.authority:
        reply.add_auth(_rr(rec))
    for rec in answer.additional:
        reply.add_ar(_rr(rec))
    edns = next((r for r in request.ar if r.rtype == dnslib.QTYPE.OPT), None)
    if edns is not None:
        reply.add_ar(dnslib.EDNS0(udp_len=UDP_PAYLOAD))
    packed = reply.pack()
    limit = max(512, min(edns.rclass, UDP_PAYLOAD) if edns is not None else 512)
    if not tcp and len(packed) > limit:
        # Too big for UDP: say so (TC) and let the client retry over TCP.
        short = request.reply(ra=1, aa=1)
        short.header.tc = 1
        short.header.rcode = answer.rcode
        packed = short.pack()
    return bytes(packed)


def _rr(rec: answers.Record, rname: Any = None) -> dnslib.RR:
    """The record in dnslib's form; under the asker's spelling of the name when given."""
    rr = _cached_rr(rec)
    return rr if rname is None else dnslib.RR(rname, rr.rtype, ttl=rr.ttl, rdata=rr.rdata)


@functools.lru_cache(maxsize=65536)
def _cached_rr(rec: answers.Record) -> dnslib.RR:
    # Records are immutable values and packing never mutates an RR: build each one once.
    return dnslib.RR(rec.name, getattr(dnslib.QTYPE, rec.rtype), ttl=rec.ttl, rdata=_rdata(rec))


def _rdata(rec: answers.Record) -> Any:
    if rec.rtype == "SRV":
        priority, weight, port, target = rec.data
        return dnslib.SRV(priority, weight, port, target)
    if rec.rtype == "SOA":
        # Packed once without name compression (valid anywhere in a message), as it rides
        # on every negative answer.
        mname, rname, times = rec.data
        buf = dnslib.DNSBuffer()
        buf.encode_name_nocompress(mname)
        buf.encode_name_nocompress(rname)
        buf.pack("!IIIII", *times)
        return dnslib.RD(bytes(buf.data))
    rdata_class = {"A": dnslib.A, "AAAA": dnslib.AAAA, "CNAME": dnslib.CNAME, "NS": dnslib.NS,
                   "PTR": dnslib.PTR, "TXT": dnslib.TXT}[rec.rtype]
    return rdata_class(rec.data)


class _UDP(asyncio.DatagramProtocol):
    def __init__(self, resolver: Resolver) -> None:
        self.resolver = resolver
        self.transport: asyncio.DatagramTransport | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # The selector loop's UDP transport does not subclass DatagramTransport: cast, not check.
        self.transport = typing.cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        reply = self.resolver.answer(data, tcp=False)
        if isinstance(reply, dnslib.DNSRecord):
            task = asyncio.create_task(self._forward(reply, data, addr))  # forwarding waits on I/O
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        elif reply is not None and self.transport is not None:
            self.transport.sendto(reply, addr)

    async def _forward(self, request: dnslib.DNSRecord, data: bytes, addr: tuple[str, int]) -> None:
        reply = await self.resolver.forward(request, data, tcp=False)
        if self.transport is not None:
            self.transport.sendto(reply, addr)


async def _tcp_client(resolver: Resolver, reader: asyncio.StreamReader,
                      writer: asyncio.StreamWriter) -> None:
    """Length-prefixed queries (RFC 1035 4.2.2), answered in order until the client closes."""
    try:
        while True:
            size = struct.unpack("!H", await reader.readexactly(2))[0]
            reply = await resolver.resolve(await reader.readexactly(size), tcp=True)
            if reply is None:
                break
            writer.write(struct.pack("!H", len(reply)) + reply)
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()


async def serve(resolver: Resolver, host: str, port: int) -> tuple[asyncio.BaseTransport,
                                                                   asyncio.Server]:
    """Start answering on host:port over UDP and TCP; the caller closes both."""
    loop = asyncio.get_running_loop()
    transport, _ = await loop.create_datagram_endpoint(lambda: _UDP(resolver),
                                                       local_addr=(host, port))
    tcp = await asyncio.start_server(lambda r, w: _tcp_client(resolver, r, w), host, port)
    return transport, tcp
