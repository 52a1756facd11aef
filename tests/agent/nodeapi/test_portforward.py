"""Port forwarding's SPDY side against a real TCP server on loopback (our own network
namespace stands in for the pod's, entered with setns like a pod's would be)."""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import AsyncIterator

import pytest

from kubelite.agent.nodeapi import portforward, spdy, spdysession

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="setns needs root")
POD = portforward.PodNetwork("sandbox1", "/proc/self/ns/net")


@pytest.fixture
async def upper() -> AsyncIterator[int]:
    """A server that answers everything it read, uppercased, once the client half-closes."""
    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write((await reader.read()).upper())
        await writer.drain()
        writer.close()
    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    async with server:
        yield server.sockets[0].getsockname()[1]


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Client:
    def __init__(self, tasks: asyncio.TaskGroup) -> None:
        self.codec, self.decoder = spdy.Codec(), spdy.Codec()
        self.received: dict[int, bytes] = {}
        self.finished: dict[int, asyncio.Event] = {}
        self.forwarder = portforward.SpdyForwarder(POD, tasks)
        self.session = spdysession.Session(self._from_server, portforward.check_stream,
                                           self.forwarder.on_stream)

    async def _from_server(self, data: bytes) -> None:
        for f in self.decoder.feed(data):
            if f.kind == spdy.DATA:
                self.received[f.stream_id] = self.received.get(f.stream_id, b"") + f.data
                if f.fin:
                    self.finished.setdefault(f.stream_id, asyncio.Event()).set()

    async def forward(self, port: int, rid: str, first_id: int, payload: bytes) -> tuple[bytes, str]:
        """One connection: error stream first_id, data stream first_id + 2, like kubectl."""
        headers = {"streamType": "error", "port": str(port), "requestID": rid}
        await self.session.receive(self.codec.syn_stream(first_id, headers, fin=True))
        headers["streamType"] = "data"
        await self.session.receive(self.codec.syn_stream(first_id + 2, headers) +
                                   self.codec.data(first_id + 2, payload, fin=True))
        for sid in (first_id, first_id + 2):
            await asyncio.wait_for(self.finished.setdefault(sid, asyncio.Event()).wait(), 10)
        return self.received.get(first_id + 2, b""), self.received.get(first_id, b"").decode()


async def test_spdy_pairs_forward_and_a_refused_port_does_not_stop_others(upper: int) -> None:
    async with asyncio.TaskGroup() as tasks:
        client = Client(tasks)
        refused = closed_port()
        (data, error), (bad_data, bad_error) = await asyncio.gather(
            client.forward(upper, "0", 1, b"hello"), client.forward(refused, "1", 5, b"x"))
        client.forwarder.stop()
    assert (data, error) == (b"HELLO", "")
    assert bad_data == b""
    assert bad_error.startswith(f"error forwarding port {refused} to pod sandbox1, uid : ")
    assert bad_error.endswith("connect: connection refused")


@pytest.mark.parametrize(("headers", "why"), [
    ({"streamtype": "data"}, '"port" header is required'),
    ({"port": "0", "streamtype": "data"}, 'port "0" must be > 0 and < 65536'),
    ({"port": "x", "streamtype": "data"}, 'unable to parse "x" as a port'),
    ({"port": "80"}, '"streamType" header is required'),
    ({"port": "80", "streamtype": "video"}, 'invalid stream type "video"'),
    ({"port": "80", "streamtype": "error"}, ""),
], ids=["no-port", "port-0", "port-text", "no-type", "bad-type", "ok"])
def test_stream_headers_are_checked(headers: dict[str, str], why: str) -> None:
    assert portforward.check_stream(headers) == why


@pytest.mark.parametrize(("offered", "chosen"), [
    ("SPDY/3.1+portforward.k8s.io", portforward.SPDY_PROTOCOL),
    ("v4.channel.k8s.io", portforward.CHANNEL_PROTOCOL),
    ("", portforward.CHANNEL_PROTOCOL),
    ("v5.channel.k8s.io", ""),
], ids=["spdy-tunnel", "v4", "none", "unknown"])
def test_negotiation(offered: str, chosen: str) -> None:
    assert portforward.negotiate(offered) == chosen


def test_query_ports() -> None:
    assert portforward.query_ports(["80,81", "82"]) == [80, 81, 82]
    with pytest.raises(portforward.InvalidRequest, match='"port" is required'):
        portforward.query_ports([])
