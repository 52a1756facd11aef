"""A proxy in the test's process: a real aiohttp backend on loopback behind a real
listener, with the routing table and endpoints given directly (no API server)."""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import socket
import ssl
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import aiohttp
from aiohttp import web

from kubelite.ingress import endpoints, listeners, proxy, routes
from tests.ingress.builders import ingress, path

Obj = dict[str, Any]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _echo(request: web.Request) -> web.Response:
    peer = request.transport.get_extra_info("peername") if request.transport else None
    return web.json_response({"headers": dict(request.headers), "path": request.raw_path,
                              "peer_port": peer[1] if peer else 0})


async def _gz(_: web.Request) -> web.Response:
    return web.Response(body=gzip.compress(b"zipped"), headers={"Content-Encoding": "gzip"})


async def _stream(request: web.Request) -> web.StreamResponse:
    resp = web.StreamResponse()
    await resp.prepare(request)
    for i in range(64):
        await resp.write(bytes([i]) * 16384)
    await resp.write_eof()
    return resp


async def _upload(request: web.Request) -> web.Response:
    body = await request.read()
    return web.json_response({"size": len(body), "sum": sum(body) % 251,
                              "chunked": request.headers.get("Transfer-Encoding", ""),
                              "length": request.headers.get("Content-Length", "")})


async def _status(request: web.Request) -> web.Response:
    code = int(request.match_info["code"])
    return web.Response(status=code, headers={"ETag": '"v1"', "X-Status": str(code)})


async def _cut(request: web.Request) -> web.StreamResponse:
    """Promises 1 MiB, sends 1 KiB, then drops the connection."""
    resp = web.StreamResponse(headers={"Content-Length": str(1 << 20)})
    await resp.prepare(request)
    await resp.write(b"x" * 1024)
    assert request.transport is not None
    request.transport.abort()
    return resp


async def _ws(request: web.Request) -> web.WebSocketResponse:
    ws = web.WebSocketResponse(protocols=["echo.v1"])
    await ws.prepare(request)
    async for msg in ws:
        if msg.type == aiohttp.WSMsgType.TEXT and msg.data == "bye":
            await ws.close(code=4001, message=b"bye")
        elif msg.type == aiohttp.WSMsgType.TEXT:
            await ws.send_str(f"echo: {msg.data}")
        elif msg.type == aiohttp.WSMsgType.BINARY:
            await ws.send_bytes(msg.data[::-1])
    return ws


def backend_app() -> web.Application:
    app = web.Application(client_max_size=64 * 1024 * 1024)
    app.router.add_post("/upload", _upload)
    app.router.add_get("/echo/{tail:.*}", _echo)
    app.router.add_get("/gz", _gz)
    app.router.add_get("/stream", _stream)
    app.router.add_get("/status/{code}", _status)
    app.router.add_get("/cut", _cut)
    app.router.add_get("/ws", _ws)
    return app


@dataclass
class Served:
    base: str                   # the proxy's URL
    port: int
    services: dict[str, Obj]    # what the balancer resolves; tests may edit


async def exchange(port: int, data: bytes, *, until_close: bool = True,
                   tls: ssl.SSLContext | None = None) -> bytes:
    """Send raw bytes to the proxy; what comes back until it closes (or one read)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port, ssl=tls)
    try:
        writer.write(data)
        async with asyncio.timeout(10):
            return await (reader.read() if until_close else reader.read(65536))
    finally:
        writer.close()


@contextlib.asynccontextmanager
async def serving(*, read_timeout: float = 60.0, scheme: str = "http",
                  tls_context: ssl.SSLContext | None = None) -> AsyncIterator[Served]:
    runner = web.AppRunner(backend_app())
    await runner.setup()
    backend_port = free_port()
    await web.TCPSite(runner, "127.0.0.1", backend_port).start()
    # A backend that accepts and reads but never answers.
    silent = await asyncio.get_running_loop().create_server(asyncio.Protocol, "127.0.0.1", 0)
    http_port = {"name": "http", "port": 80}
    services: dict[str, Obj] = {f"ns/{name}": {"spec": {"ports": [http_port]}}
                                for name in ("web", "idle", "refusing", "silent")}
    slices = {"ns/web": backend_port, "ns/refusing": free_port(),
              "ns/silent": silent.sockets[0].getsockname()[1]}
    balancer = endpoints.Balancer(services.get, lambda key: [
        {"metadata": {"name": key}, "ports": [{"name": "http", "port": slices[key]}],
         "endpoints": [{"addresses": ["127.0.0.1"]}]}] if key in slices else [])
    table = routes.build([ingress("i", ("", [path("/", "Prefix", "web", "http"),
                                             path("/missing", "Prefix", "nope"),
                                             path("/idle", "Prefix", "idle"),
                                             path("/refused", "Prefix", "refusing"),
                                             path("/silent", "Prefix", "silent")]),
                                  namespace="ns")])
    port = free_port()
    px = proxy.Proxy(balancer, {port: table}.get, read_timeout=read_timeout)
    ports = listeners.Listeners("127.0.0.1", px.handler,
                                lambda _: tls_context)  # type: ignore[arg-type,return-value]
    await ports.apply({port: scheme})
    try:
        yield Served(f"{scheme}://127.0.0.1:{port}", port, services)
    finally:
        await ports.close()
        await px.close()
        silent.close()
        await runner.cleanup()
