"""The HTTP reverse proxy: route a request by the port's table, pick a ready endpoint
round-robin, and relay the request and response as streams over a keep-alive pool.

What a backend sees: the client's method, path, query, body and headers (hop-by-hop ones
dropped), the original Host, and X-Forwarded-For/-Proto/-Host/-Port plus X-Real-IP.
WebSocket upgrades are relayed frame by frame. Nothing matched: 404; a Service or port that
does not exist, or no ready endpoint: 503 at once; the endpoint refuses or fails: 502;
it does not answer in time: 504.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

import aiohttp
import yarl
from aiohttp import web
from multidict import CIMultiDict

from kubelite.ingress import endpoints, routes
from kubelite.ingress import websocket as ws_relay

log = logging.getLogger(__name__)

HOP_BY_HOP = frozenset(h.lower() for h in (
    "Connection", "Keep-Alive", "Proxy-Authenticate", "Proxy-Authorization", "TE", "Trailer",
    "Transfer-Encoding", "Upgrade", "Proxy-Connection"))
SMALL_BODY = 256 * 1024  # responses up to this size with a known length are sent in one piece
Handler = Callable[[web.BaseRequest], Awaitable[web.StreamResponse]]


def end_to_end(headers: CIMultiDict[str] | object) -> CIMultiDict[str]:
    """A copy without hop-by-hop headers (and those the Connection header names)."""
    src: CIMultiDict[str] = headers  # type: ignore[assignment]
    connection = src.getall("Connection", ())
    if not connection and not any(k.lower() in HOP_BY_HOP for k in src):
        return CIMultiDict(src)  # the common request: a copy in C, one lower() per header
    drop = HOP_BY_HOP.union(t.strip().lower() for v in connection for t in v.split(","))
    return CIMultiDict([(k, v) for k, v in src.items() if k.lower() not in drop])


def forwarded_headers(request: web.BaseRequest, scheme: str, port: int) -> CIMultiDict[str]:
    headers = end_to_end(request.headers)
    headers.pop("Expect", None)  # answered here (Proxy._forward)
    peer = request.remote or ""
    prior = request.headers.get("X-Forwarded-For")
    headers["X-Forwarded-For"] = f"{prior}, {peer}" if prior else peer
    headers["X-Forwarded-Proto"] = scheme
    headers["X-Forwarded-Host"] = request.headers.get("Host", "")
    headers["X-Forwarded-Port"] = str(port)
    headers["X-Real-IP"] = peer
    return headers


def text(status: int, message: str) -> web.Response:
    return web.Response(status=status, text=message + "\n")


class Proxy:
    """Serves every listener; `table_of(port)` gives the routing table a port uses now."""

    def __init__(self, balancer: endpoints.Balancer,
                 table_of: Callable[[int], routes.Table | None], *,
                 connect_timeout: float = 5.0, read_timeout: float = 60.0) -> None:
        self._balancer = balancer
        self._table_of = table_of
        self._timeout = aiohttp.ClientTimeout(total=None, sock_connect=connect_timeout,
                                              sock_read=read_timeout)
        self._session: aiohttp.ClientSession | None = None

    def session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(limit=0, limit_per_host=256, keepalive_timeout=60,
                                             use_dns_cache=False, happy_eyeballs_delay=None)
            # auto_decompress off: bodies pass through exactly as the backend sent them.
            # No headers the client did not send: no User-Agent, and no Accept-Encoding
            # that would get it a gzip body it never asked for.
            self._session = aiohttp.ClientSession(
                connector=connector, auto_decompress=False, timeout=self._timeout,
                cookie_jar=aiohttp.DummyCookieJar(),
                skip_auto_headers=("User-Agent", "Accept", "Accept-Encoding"))
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    def handler(self, port: int, scheme: str) -> Handler:
        async def handle(request: web.BaseRequest) -> web.StreamResponse:
            return await self.serve(request, port, scheme)
        return handle

    async def serve(self, request: web.BaseRequest, port: int, scheme: str
                    ) -> web.StreamResponse:
        table = self._table_of(port)
        # The Host header itself: aiohttp's request.host would look up this machine's
        # name (a DNS query) when a client sends none, as HTTP/1.0 clients may.
        host = request.headers.get("Host", "")
        backend = table.match(host, request.path) if table is not None else None
        if backend is None:
            return text(404, "404 page not found")
        resolved, address = self._balancer.pick(backend)
        if address is None:
            return text(503, f"503 service unavailable: {resolved.problem}")
        headers = forwarded_headers(request, scheme, port)
        if request.headers.get("Upgrade", "").lower() == "websocket":
            return await ws_relay.relay(request, self.session(), address, headers)
        return await self._forward(request, address, headers)

    async def _forward(self, request: web.BaseRequest, address: endpoints.Address,
                       headers: CIMultiDict[str]) -> web.StreamResponse:
        # Already encoded as the client sent it: passed on as is, not parsed again.
        url = yarl.URL(f"http://{address[0]}:{address[1]}{request.raw_path}", encoded=True)
        body = request.content if request.body_exists else None
        if body is not None and request.headers.get("Expect", "").lower() == "100-continue":
            # The low-level server leaves Expect to the handler; the backend gets the body
            # without being asked (forwarded_headers drops the header).
            await request.writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        try:
            async with self.session().request(request.method, url, headers=headers, data=body,
                                              allow_redirects=False) as up:
                return await _relay_response(request, up)
        except TimeoutError:
            return text(504, f"504 gateway timeout: {address[0]}:{address[1]}")
        except aiohttp.ClientError as e:
            log.info("backend failed address=%s:%d error=%r", address[0], address[1], e)
            return text(502, f"502 bad gateway: {address[0]}:{address[1]}")


async def _relay_response(request: web.BaseRequest, up: aiohttp.ClientResponse
                          ) -> web.StreamResponse:
    headers = end_to_end(up.headers)
    length = up.content_length
    if request.method == "HEAD" or up.status in (204, 304):
        # No body follows, but the headers (Content-Length included) say what a GET gets.
        resp = web.StreamResponse(status=up.status, reason=up.reason, headers=headers)
        await resp.prepare(request)
        await resp.write_eof()
        return resp
    if length is not None and length <= SMALL_BODY:
        headers.pop("Content-Length", None)
        return web.Response(status=up.status, reason=up.reason, headers=headers,
                            body=await up.read())
    resp = web.StreamResponse(status=up.status, reason=up.reason, headers=headers)
    if length is not None:
        resp.content_length = length
    await resp.prepare(request)
    async for chunk in up.content.iter_any():
        await resp.write(chunk)
    await resp.write_eof()
    return resp
