"""The proxy's HTTP/1.x handling as a client sees it on the wire: framing (HEAD, 204, 304,
chunked, close-delimited), keep-alive and pipelining, HTTP/1.0 clients, bad requests,
timeouts, responses cut short, WebSocket and TLS."""

from __future__ import annotations

import asyncio
import json
import ssl
from collections.abc import AsyncIterator

import aiohttp
import pytest

from kubelite.ingress import tls
from tests.ingress import proxied


@pytest.fixture
async def served() -> AsyncIterator[proxied.Served]:
    async with proxied.serving(read_timeout=0.5) as s:
        yield s


def split(raw: bytes) -> tuple[bytes, dict[bytes, bytes], bytes]:
    """(status line, headers by lower-case name, the rest) of one response."""
    head, _, rest = raw.partition(b"\r\n\r\n")
    first, *lines = head.split(b"\r\n")
    fields = dict(line.split(b": ", 1) for line in lines)
    return first, {k.lower(): v for k, v in fields.items()}, rest


@pytest.mark.parametrize("request_line,status", [
    (b"HEAD /echo/x HTTP/1.1", b"200"),
    (b"GET /status/204 HTTP/1.1", b"204"),
    (b"GET /status/304 HTTP/1.1", b"304"),
], ids=["head", "no-content", "not-modified"])
async def test_bodyless_responses_keep_the_connection_in_step(
        served: proxied.Served, request_line: bytes, status: bytes) -> None:
    """No body follows (whatever Content-Length says), so the next request on the same
    connection gets its own response."""
    raw = await proxied.exchange(served.port, request_line + b"\r\nHost: h\r\n\r\n"
                                 b"GET /echo/next HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n")
    first, _, rest = split(raw)
    assert first.split(b" ")[1] == status
    second, _, body = split(rest)
    assert second.startswith(b"HTTP/1.1 200") and json.loads(body)["path"] == "/echo/next"


async def test_pipelined_requests_are_answered_in_order(served: proxied.Served) -> None:
    requests = b"".join(b"GET /echo/%d HTTP/1.1\r\nHost: h\r\n\r\n" % i for i in range(3))
    raw = await proxied.exchange(served.port, requests + b"GET /echo/last HTTP/1.1\r\n"
                                 b"Host: h\r\nConnection: close\r\n\r\n")
    paths = []
    while raw:
        _, headers, rest = split(raw)
        length = int(headers[b"content-length"])
        paths.append(json.loads(rest[:length])["path"])
        raw = rest[length:]
    assert paths == ["/echo/0", "/echo/1", "/echo/2", "/echo/last"]


async def test_backend_connections_are_reused(served: proxied.Served) -> None:
    async with aiohttp.ClientSession() as s:
        ports = set()
        for _ in range(3):
            async with s.get(f"{served.base}/echo/x") as r:
                ports.add((await r.json())["peer_port"])
    assert len(ports) == 1


async def test_http10_client_without_host(served: proxied.Served) -> None:
    raw = await proxied.exchange(served.port, b"GET /echo/old HTTP/1.0\r\n\r\n")
    first, headers, body = split(raw)
    assert first.startswith(b"HTTP/1.1 200") and headers[b"connection"] == b"close"
    seen = json.loads(body)["headers"]
    assert seen["Host"].startswith("127.0.0.1:") and seen["X-Forwarded-Host"] == ""


@pytest.mark.parametrize("version,framing", [(b"1.1", b"chunked"), (b"1.0", b"close")],
                         ids=["http11-chunked", "http10-until-close"])
async def test_streamed_response_framing(served: proxied.Served, version: bytes,
                                         framing: bytes) -> None:
    raw = await proxied.exchange(served.port, b"GET /stream HTTP/%s\r\nHost: h\r\n"
                                 b"Connection: close\r\n\r\n" % version)
    _, headers, body = split(raw)
    if framing == b"chunked":
        assert headers[b"transfer-encoding"] == b"chunked"
        assert body.endswith(b"\r\n0\r\n\r\n")
    else:
        assert b"transfer-encoding" not in headers and len(body) == 64 * 16384


async def test_bad_request_is_400_and_closed(served: proxied.Served) -> None:
    raw = await proxied.exchange(served.port, b"NOT HTTP AT ALL\r\n\r\n")
    assert raw.startswith(b"HTTP/1.1 400 ") and split(raw)[1][b"connection"] == b"close"


async def test_silent_backend_is_504(served: proxied.Served) -> None:
    raw = await proxied.exchange(served.port, b"GET /silent HTTP/1.1\r\nHost: h\r\n\r\n",
                                 until_close=False)
    assert raw.startswith(b"HTTP/1.1 504 ") and b"gateway timeout" in raw


async def test_response_cut_short_cuts_the_client(served: proxied.Served) -> None:
    raw = await proxied.exchange(served.port, b"GET /cut HTTP/1.1\r\nHost: h\r\n\r\n")
    _, headers, body = split(raw)
    assert headers[b"content-length"] == b"%d" % (1 << 20) and len(body) < 1 << 20


async def test_expect_continue_to_no_route_closes(served: proxied.Served) -> None:
    """The client waits for a 100 that a 503 replaces: its body never comes, so the
    connection cannot carry another request."""
    raw = await proxied.exchange(served.port, b"POST /missing HTTP/1.1\r\nHost: h\r\n"
                                 b"Content-Length: 3\r\nExpect: 100-continue\r\n\r\n")
    first, headers, _ = split(raw)
    assert first.startswith(b"HTTP/1.1 503 ") and headers[b"connection"] == b"close"


async def test_websocket_relays_messages_subprotocol_and_close_code(
        served: proxied.Served) -> None:
    async with aiohttp.ClientSession() as s, s.ws_connect(
            f"{served.base}/ws", protocols=["echo.v1"]) as ws:
        assert ws.protocol == "echo.v1"
        await ws.send_str("hello")
        assert await ws.receive_str(timeout=5) == "echo: hello"
        await ws.send_bytes(b"\x01\x02\x03")
        assert await ws.receive_bytes(timeout=5) == b"\x03\x02\x01"
        await ws.send_str("bye")
        msg = await ws.receive(timeout=5)
        assert (msg.type, msg.data) == (aiohttp.WSMsgType.CLOSE, 4001)


async def test_https_listener_forwards_proto() -> None:
    store = tls.Store()
    context = store.server_context(lambda: tls.Certificates(fallback=store.fallback))
    async with proxied.serving(scheme="https", tls_context=context) as s:
        client = ssl.create_default_context()
        client.check_hostname, client.verify_mode = False, ssl.CERT_NONE
        raw = await proxied.exchange(s.port, b"GET /echo/x HTTP/1.1\r\nHost: secure.test\r\n"
                                     b"Connection: close\r\n\r\n", tls=client)
    seen = json.loads(split(raw)[2])["headers"]
    assert (seen["X-Forwarded-Proto"], seen["Host"]) == ("https", "secure.test")
    await asyncio.sleep(0)
