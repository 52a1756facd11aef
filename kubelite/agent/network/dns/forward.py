"""Passing a query packet, untouched, to an upstream resolver and returning its reply."""

from __future__ import annotations

import asyncio
import struct


class _Once(asyncio.DatagramProtocol):
    def __init__(self, query_id: bytes) -> None:
        self.query_id = query_id
        self.reply: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        # Ignore stray datagrams: only the reply to our ID completes the exchange.
        if data[:2] == self.query_id and not self.reply.done():
            self.reply.set_result(data)

    def error_received(self, exc: Exception) -> None:
        if not self.reply.done():
            self.reply.set_exception(exc)


async def query(packet: bytes, host: str, port: int, *, tcp: bool, timeout: float) -> bytes:
    """The upstream's reply to `packet`; raises OSError or TimeoutError when it gives none."""
    async with asyncio.timeout(timeout):
        if tcp:
            return await _tcp(packet, host, port)
        return await _udp(packet, host, port)


async def _udp(packet: bytes, host: str, port: int) -> bytes:
    loop = asyncio.get_running_loop()
    transport, proto = await loop.create_datagram_endpoint(lambda: _Once(packet[:2]),
                                                           remote_addr=(host, port))
    try:
        transport.sendto(packet)
        return await proto.reply
    finally:
        transport.close()


async def _tcp(packet: bytes, host: str, port: int) -> bytes:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        writer.write(struct.pack("!H", len(packet)) + packet)
        await writer.drain()
        size = struct.unpack("!H", await reader.readexactly(2))[0]
        return await reader.readexactly(size)
    finally:
        writer.close()
