"""Port-forward over a plain SPDY/3.1 upgrade, for clients without the WebSocket tunnel.

kubectl 1.32 tunnels SPDY inside a WebSocket, but falls back to the older upgrade (`Upgrade:
SPDY/3.1`, `X-Stream-Protocol-Version: portforward.k8s.io`, answered with 101) when the
WebSocket is refused or KUBECTL_PORT_FORWARD_WEBSOCKETS=false; other client-go programs
use it directly. After the 101 the connection carries raw SPDY frames, which aiohttp's HTTP
parser would misread, so the connection's protocol is swapped for a byte pipe. The bytes
travel to the agent as WebSocket binary messages in its tunnelled form, where the one SPDY
implementation serves both.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any

import aiohttp
from aiohttp import web

from kubelite.api import errors

UPGRADE = "spdy/3.1"
PROTOCOL = "portforward.k8s.io"
TUNNELLED = "SPDY/3.1+portforward.k8s.io"   # what the agent speaks over a WebSocket


def requested(request: web.Request) -> bool:
    return request.headers.get("Upgrade", "").strip().lower() == UPGRADE


def check(request: web.Request) -> None:
    offered = [v.strip() for h in request.headers.getall("X-Stream-Protocol-Version", [])
               for v in h.split(",")]
    if PROTOCOL not in offered:
        raise errors.BadRequest(f"unable to upgrade: unable to negotiate protocol: client "
                                f"supports {offered}, server accepts [{PROTOCOL}]")


class _Pipe(asyncio.Protocol):
    """The upgraded connection's incoming bytes; None marks its end."""

    def __init__(self) -> None:
        self.received: asyncio.Queue[bytes | None] = asyncio.Queue()

    def data_received(self, data: bytes) -> None:
        self.received.put_nowait(data)

    def eof_received(self) -> bool:
        self.received.put_nowait(None)
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self.received.put_nowait(None)


async def _upstream(pipe: _Pipe, agent: aiohttp.ClientWebSocketResponse) -> None:
    while (data := await pipe.received.get()) is not None:
        await agent.send_bytes(data)
    await agent.close()   # the client is gone: so is the session


async def _downstream(agent: aiohttp.ClientWebSocketResponse, transport: Any) -> None:
    async for msg in agent:
        if msg.type == aiohttp.WSMsgType.BINARY and not transport.is_closing():
            transport.write(msg.data)
    transport.close()     # the agent ended the session: the client sees the connection close


async def accept(request: web.Request, agent: aiohttp.ClientWebSocketResponse
                 ) -> tuple[web.StreamResponse, list[Coroutine[Any, Any, None]]]:
    """Answer 101 and take the connection over; returns the response and the two copies
    (client to agent, agent to client) for the caller to run."""
    resp = web.StreamResponse(status=101, headers={
        "Connection": "Upgrade", "Upgrade": "SPDY/3.1", "X-Stream-Protocol-Version": PROTOCOL})
    resp.force_close()   # aiohttp closes the connection once the handler returns
    await resp.prepare(request)
    transport = request.transport
    assert transport is not None
    pipe = _Pipe()
    transport.set_protocol(pipe)
    return resp, [_upstream(pipe, agent), _downstream(agent, transport)]
