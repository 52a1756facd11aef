"""WebSocket pass-through: open the backend's WebSocket first (with the client's headers and
subprotocols), then accept the client's with the subprotocol the backend chose, and copy
frames both ways until either side closes; the close code travels across.
"""

from __future__ import annotations

import asyncio
import logging

import aiohttp
from aiohttp import web
from multidict import CIMultiDict

log = logging.getLogger(__name__)

# The handshake headers aiohttp writes itself on the backend leg.
_HANDSHAKE = frozenset(h.lower() for h in (
    "Sec-WebSocket-Key", "Sec-WebSocket-Version", "Sec-WebSocket-Extensions",
    "Sec-WebSocket-Protocol", "Content-Length"))


async def relay(request: web.BaseRequest, session: aiohttp.ClientSession,
                address: tuple[str, int], headers: CIMultiDict[str]) -> web.StreamResponse:
    protocols = [p.strip() for p in request.headers.get("Sec-WebSocket-Protocol", "").split(",")
                 if p.strip()]
    upstream_headers = CIMultiDict((k, v) for k, v in headers.items()
                                   if k.lower() not in _HANDSHAKE)
    url = f"http://{address[0]}:{address[1]}{request.raw_path}"
    try:
        upstream = await session.ws_connect(url, headers=upstream_headers, protocols=protocols,
                                            autoping=False, autoclose=False, max_msg_size=0)
    except aiohttp.WSServerHandshakeError as e:
        return web.Response(status=e.status or 502, text=f"websocket refused: {e.message}\n")
    except aiohttp.ClientError as e:
        log.info("websocket backend failed address=%s:%d error=%r", *address, e)
        return web.Response(status=502, text=f"502 bad gateway: {address[0]}:{address[1]}\n")
    client = web.WebSocketResponse(protocols=[upstream.protocol] if upstream.protocol else (),
                                   autoping=False, autoclose=False, max_msg_size=0)
    async with upstream:
        await client.prepare(request)
        to_backend = asyncio.ensure_future(_pump(client, upstream))
        to_client = asyncio.ensure_future(_pump(upstream, client))
        try:
            await asyncio.wait({to_backend, to_client}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for t in (to_backend, to_client):
                t.cancel()
            await asyncio.gather(to_backend, to_client, return_exceptions=True)
        if not client.closed:
            await client.close(code=upstream.close_code or aiohttp.WSCloseCode.OK)
    return client


async def _pump(src: web.WebSocketResponse | aiohttp.ClientWebSocketResponse,
                dst: web.WebSocketResponse | aiohttp.ClientWebSocketResponse) -> None:
    """Copy frames from src to dst; a close frame is passed on, then the pump ends."""
    while True:
        msg = await src.receive()
        if msg.type == aiohttp.WSMsgType.TEXT:
            await dst.send_str(msg.data)
        elif msg.type == aiohttp.WSMsgType.BINARY:
            await dst.send_bytes(msg.data)
        elif msg.type == aiohttp.WSMsgType.PING:
            await dst.ping(msg.data)
        elif msg.type == aiohttp.WSMsgType.PONG:
            await dst.pong(msg.data)
        elif msg.type == aiohttp.WSMsgType.CLOSE:
            await dst.close(code=msg.data or aiohttp.WSCloseCode.OK,
                            message=(msg.extra or "").encode())
            return
        else:  # CLOSING, CLOSED, ERROR: the source is gone
            if not dst.closed:
                await dst.close(code=aiohttp.WSCloseCode.GOING_AWAY)
            return
