"""The Ingress process's event loop reaches the API server's loopback listener, an abstract
Unix socket, as the other components do on asyncio's loop."""

from __future__ import annotations

import asyncio
import secrets

import aiohttp
import pytest
from aiohttp import web

from kubelite.ingress import eventloop


async def test_runs_on_uvloop() -> None:
    assert isinstance(asyncio.get_running_loop(), eventloop.Loop)


async def test_http_over_an_abstract_unix_socket() -> None:
    async def hello(_: web.Request) -> web.Response:
        return web.Response(text="hello")
    app = web.Application()
    app.router.add_get("/", hello)
    runner = web.AppRunner(app)
    await runner.setup()
    name = "\0kubelite-test-" + secrets.token_hex(6)
    await web.UnixSite(runner, name).start()
    try:
        async with aiohttp.ClientSession(connector=aiohttp.UnixConnector(name)) as s, \
                s.get("http://localhost/") as r:
            assert (r.status, await r.text()) == (200, "hello")
    finally:
        await runner.cleanup()


async def test_a_missing_abstract_socket_is_refused() -> None:
    name = "\0kubelite-test-" + secrets.token_hex(6)
    with pytest.raises(ConnectionRefusedError):
        await asyncio.get_running_loop().create_unix_connection(asyncio.Protocol, name)
