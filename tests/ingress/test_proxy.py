"""The proxy through its real listener, against a real aiohttp backend: what backends see,
bodies and errors."""

from __future__ import annotations

import asyncio
import gzip
import io
import socket
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
import yarl

from kubelite.ingress import endpoints, listeners, proxy
from tests.ingress import proxied
from tests.ingress.proxied import free_port

Served = tuple[str, dict[str, Any]]  # (proxy base URL, the services the test may edit)


@pytest.fixture
async def served() -> AsyncIterator[Served]:
    async with proxied.serving() as s:
        yield s.base, s.services


async def test_forwards_path_query_and_headers(served: Served) -> None:
    base, _ = served
    url = yarl.URL(f"{base}/echo/a%20b?x=1&y=%2F", encoded=True)  # sent exactly so
    headers = {"Host": "web.test", "X-Custom": "v", "Connection": "keep-alive, X-Drop",
               "X-Drop": "hop"}
    async with aiohttp.ClientSession() as s, s.get(url, headers=headers) as r:
        got = await r.json()
    assert got["path"] == "/echo/a%20b?x=1&y=%2F"
    h = got["headers"]
    assert (h["Host"], h["X-Custom"], h["X-Forwarded-Host"]) == ("web.test", "v", "web.test")
    assert (h["X-Forwarded-For"], h["X-Real-IP"], h["X-Forwarded-Proto"]) == (
        "127.0.0.1", "127.0.0.1", "http")
    assert "X-Drop" not in h  # named by Connection: hop-by-hop


async def test_adds_no_headers_the_client_did_not_send(served: Served) -> None:
    base, _ = served
    bare = ("Accept", "Accept-Encoding", "User-Agent")
    async with aiohttp.ClientSession(skip_auto_headers=bare) as s, \
            s.get(f"{base}/echo/") as r:
        h = (await r.json())["headers"]
    # An Accept-Encoding the client never sent would get it a gzip body it cannot read.
    assert not [name for name in bare if name in h], h


async def test_bodies_pass_through_untouched(served: Served) -> None:
    base, _ = served
    async with aiohttp.ClientSession(auto_decompress=False) as s:
        async with s.get(f"{base}/gz") as r:
            assert r.headers["Content-Encoding"] == "gzip"
            assert gzip.decompress(await r.read()) == b"zipped"
        async with s.get(f"{base}/stream") as r:
            body = await r.read()
    assert len(body) == 64 * 16384 and body[-1] == 63


@pytest.mark.parametrize("route,status,words", [
    ("/missing", 503, "service ns/nope not found"),
    ("/idle", 503, "service ns/idle has no ready endpoints"),
    ("/refused", 502, "bad gateway"),
], ids=["no-service", "no-endpoints", "endpoint-refuses"])
async def test_errors_answer_at_once(served: Served, route: str, status: int, words: str
                                     ) -> None:
    base, _ = served
    async with aiohttp.ClientSession() as s, s.get(f"{base}{route}",
                                                   timeout=aiohttp.ClientTimeout(5)) as r:
        assert r.status == status and words in await r.text()


async def test_no_route_is_404() -> None:
    port = free_port()
    px = proxy.Proxy(endpoints.Balancer(lambda _: None, lambda _: []), lambda _: None)
    ports = listeners.Listeners("127.0.0.1", px.handler, lambda _: None)  # type: ignore
    await ports.apply({port: "http"})
    try:
        async with aiohttp.ClientSession() as s, s.get(f"http://127.0.0.1:{port}/x") as r:
            assert r.status == 404
    finally:
        await ports.close()
        await px.close()


async def test_a_port_in_use_is_skipped_not_fatal() -> None:
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        port = held.getsockname()[1]
        px = proxy.Proxy(endpoints.Balancer(lambda _: None, lambda _: []), lambda _: None)
        ports = listeners.Listeners("127.0.0.1", px.handler, lambda _: None)  # type: ignore
        await ports.apply({port: "http"})
        assert ports.ports == {}
        await ports.close()
        await px.close()
    await asyncio.sleep(0)


async def test_head_keeps_the_backends_length(served: Served) -> None:
    base, _ = served
    async with aiohttp.ClientSession() as s:
        async with s.get(f"{base}/echo/x") as r:
            length = len(await r.read())
        async with s.head(f"{base}/echo/x") as r:
            assert r.status == 200 and r.headers["Content-Length"] == str(length)


async def test_expect_continue_is_answered_here(served: Served) -> None:
    """A client asking `Expect: 100-continue` (curl does for large bodies) gets its 100 from
    the proxy; the backend, which may not speak it, never sees the header."""
    base, _ = served
    port = int(base.rsplit(":", 1)[1])
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"POST /echo/x HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n"
                 b"Expect: 100-continue\r\n\r\n")
    async with asyncio.timeout(5):
        assert (await reader.readuntil(b"\r\n\r\n")).startswith(b"HTTP/1.1 100 Continue")
        writer.write(b"abc")
        head = await reader.readuntil(b"\r\n\r\n")
    writer.close()
    assert head.startswith(b"HTTP/1.1 405")  # the backend's answer: its GET-only route


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
async def test_request_bodies_stream_with_their_framing(served: Served, chunked: bool) -> None:
    base, _ = served
    body = bytes(range(256)) * 16384  # 4 MiB

    async def pieces() -> AsyncIterator[bytes]:
        for i in range(0, len(body), 65536):
            yield body[i:i + 65536]
    data: Any = pieces() if chunked else io.BytesIO(body)
    async with aiohttp.ClientSession() as s, s.post(f"{base}/upload", data=data) as r:
        got = await r.json()
    assert (got["size"], got["sum"]) == (len(body), sum(body) % 251)
    assert bool(got["chunked"]) == chunked and bool(got["length"]) != chunked
