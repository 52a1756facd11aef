"""Port forwarding over the WebSocket channel protocol (`v4.channel.k8s.io`).

Port i of the request owns channel 2i (data, both ways) and 2i+1 (error, to the client).
Each channel first carries the port number as 2 little-endian bytes, as the kubelet sends
it. Every port gets one connection into the pod when the WebSocket opens; the session ends
when all of them are done or the client goes away.
"""

from __future__ import annotations

import asyncio
import contextlib
import struct
from typing import Any

from aiohttp import WSMsgType, web

from kubelite.agent.nodeapi import portforward


class _Port:
    def __init__(self, index: int, port: int) -> None:
        self.port = port
        self.data_channel = bytes([2 * index])
        self.error_channel = bytes([2 * index + 1])
        self.inbound = asyncio.StreamReader()


async def _forward(ws: web.WebSocketResponse, pod: portforward.PodNetwork, p: _Port,
                   gone: asyncio.Event) -> None:
    async def send(data: bytes) -> None:
        if not ws.closed:
            await ws.send_bytes(p.data_channel + data)

    with contextlib.suppress(ConnectionError):   # the client went away mid-write
        message = await portforward.pipe(pod, p.port, p.inbound, send, gone.is_set)
        if message and not ws.closed:
            await ws.send_bytes(p.error_channel + message.encode())


async def _receive(ws: web.WebSocketResponse, ports: list[_Port], gone: asyncio.Event) -> None:
    """Client data to each port's inbound reader; everything ends when the client leaves."""
    try:
        async for msg in ws:
            if msg.type != WSMsgType.BINARY or not msg.data:
                continue
            channel, body = msg.data[0], msg.data[1:]
            if channel % 2 == 0 and channel // 2 < len(ports) and body:
                ports[channel // 2].inbound.feed_data(body)
    finally:
        gone.set()
        for p in ports:
            p.inbound.feed_eof()


async def serve(ws: web.WebSocketResponse, pod: portforward.PodNetwork, ports: list[int]) -> None:
    """Forward every port over the prepared WebSocket; close it when all are done."""
    state = [_Port(i, port) for i, port in enumerate(ports)]
    for p in state:
        prefix = struct.pack("<H", p.port)
        await ws.send_bytes(p.data_channel + prefix)
        await ws.send_bytes(p.error_channel + prefix)
    gone = asyncio.Event()
    receiving = asyncio.create_task(_receive(ws, state, gone))
    try:
        forwards: asyncio.Future[Any] = asyncio.gather(
            *(_forward(ws, pod, p, gone) for p in state))
        waiting: list[asyncio.Future[Any]] = [forwards, receiving]
        await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
        if not forwards.done():
            forwards.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await forwards
        await ws.close()
    finally:
        receiving.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await receiving
