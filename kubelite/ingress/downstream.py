"""The client side of the proxy: one asyncio Protocol per accepted connection.

Requests are parsed with llhttp (httptools). Each, once its head is complete, is handed to
the proxy's `serve` callback, one at a time in arrival order: pipelined requests wait
(reading pauses while they do), and so a connection's responses go out in order. A body
reaches the request's `relay` (the exchange with a backend) as it arrives; before one is
attached it is buffered, and reading pauses past BUFFER_LIMIT. After a 101 the connection
becomes a byte tunnel to the backend.

The connection stays open for the next request unless the client, the response framing or
an error asked to close; idle, it is closed after IDLE_TIMEOUT (as aiohttp's server did).
"""

from __future__ import annotations

import asyncio
import collections
import logging
import urllib.parse
from collections.abc import Callable
from typing import Protocol, cast

import httptools

from kubelite.ingress import http1

log = logging.getLogger(__name__)

BUFFER_LIMIT = 256 * 1024
IDLE_TIMEOUT = 75.0


class Relay(Protocol):
    """Where a request's body and the client's events go while an exchange runs."""
    def body(self, data: bytes) -> None: ...
    def body_end(self) -> None: ...
    def client_writable(self, writable: bool) -> None: ...
    def client_lost(self) -> None: ...
    def client_data(self, data: bytes) -> None: ...  # tunnel bytes, after a 101


class Request:
    """A parsed request head, and its body so far while no relay takes it."""
    __slots__ = ("buffered", "buffered_size", "complete", "headers", "keep_alive", "method",
                 "relay", "target", "upgrade", "version")

    def __init__(self) -> None:
        self.method = b""
        self.target = b""
        self.headers: http1.Headers = []
        self.version = "1.1"
        self.keep_alive = True
        self.upgrade = False
        self.complete = False  # the whole body has been read
        self.buffered: list[bytes] = []
        self.buffered_size = 0
        self.relay: Relay | None = None

    def header(self, name: bytes) -> bytes | None:
        return http1.get(self.headers, name)

    @property
    def origin_target(self) -> bytes:
        """The target in origin form (path?query), as a backend expects it."""
        if self.target[:1] == b"/" or self.target == b"*":
            return self.target
        url = httptools.parse_url(self.target)
        return (url.path or b"/") + (b"?" + url.query if url.query else b"")

    @property
    def path(self) -> str:
        """The decoded path, what Ingress rules match."""
        path = self.origin_target.split(b"?", 1)[0].decode("utf-8", "replace")
        return urllib.parse.unquote(path) if "%" in path else path


Serve = Callable[["ClientConnection", Request], None]


class ClientConnection(asyncio.Protocol):
    """One client connection; `serve(conn, request)` starts answering a request and
    calls `conn.finished(request, keep)` when done, keep saying whether the connection
    may carry another."""

    def __init__(self, serve: Serve, port: int, scheme: str) -> None:
        self.port = port
        self.scheme = scheme
        self.peer = ""
        self.transport: asyncio.Transport | None = None
        self.writable = True
        self._serve = serve
        self._parser = httptools.HttpRequestParser(self)
        self._req: Request | None = None           # the one being parsed
        self._queue: collections.deque[Request] = collections.deque()  # [0] is being served
        self._current: Relay | None = None         # the exchange serving _queue[0]
        self._paused: set[str] = set()
        self._tunnel: Relay | None = None
        self._upgraded = False                       # the parser is done: a tunnel may follow
        self._early = bytearray()                    # bytes after an upgrade request
        self._idle: asyncio.TimerHandle | None = None
        self._eof = False
        self._closing = False
        self._close_on_connect = False  # closed before asyncio had connected it
        # The listener's register of open connections: in it from connection_made to
        # connection_lost (a TLS handshake that fails never enters it).
        self.registry: set[ClientConnection] | None = None

    # asyncio.Protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is no subclass
        if self._close_on_connect:
            transport.close()
            return
        if self.registry is not None:
            self.registry.add(self)
        peer = transport.get_extra_info("peername")
        self.peer = peer[0] if isinstance(peer, tuple) else ""
        self._wait_idle()

    def data_received(self, data: bytes) -> None:
        if self._tunnel is not None:
            self._tunnel.client_data(data)
        elif self._upgraded:
            self._early += data
        else:
            try:
                self._parser.feed_data(data)
            except httptools.HttpParserUpgrade as e:
                self._upgraded = True
                self._early += data[e.args[0]:]
                self._pause("upgrade")
            except httptools.HttpParserError as e:
                self._bad_request(e)

    def eof_received(self) -> bool:
        self._eof = True
        # A client may half-close once its request is sent; it still gets the answer
        # (not over TLS, where asyncio cannot keep a half-closed connection).
        return bool(self._queue) and self._tunnel is None and self.scheme == "http"

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        if self.registry is not None:
            self.registry.discard(self)
        if self._idle is not None:
            self._idle.cancel()
        if self._current is not None:
            self._current.client_lost()

    def pause_writing(self) -> None:
        self.writable = False
        self._relay_writable(False)

    def resume_writing(self) -> None:
        self.writable = True
        self._relay_writable(True)

    # httptools callbacks

    def on_message_begin(self) -> None:
        if self._idle is not None:
            self._idle.cancel()
            self._idle = None
        self._req = Request()

    def on_url(self, url: bytes) -> None:
        assert self._req is not None
        self._req.target += url

    def on_header(self, name: bytes, value: bytes) -> None:
        assert self._req is not None
        self._req.headers.append((name, value))

    def on_headers_complete(self) -> None:
        req, p = self._req, self._parser
        assert req is not None
        req.method, req.version = p.get_method(), p.get_http_version()
        req.keep_alive, req.upgrade = p.should_keep_alive(), p.should_upgrade()
        self._queue.append(req)
        if len(self._queue) == 1:
            self._start(req)
        else:
            self._pause("queue")

    def on_body(self, data: bytes) -> None:
        req = self._req
        assert req is not None
        if req.relay is not None:
            req.relay.body(data)
            return
        req.buffered.append(data)
        req.buffered_size += len(data)
        if req.buffered_size > BUFFER_LIMIT:
            self._pause("buffer")

    def on_message_complete(self) -> None:
        req, self._req = self._req, None
        assert req is not None
        req.complete = True
        if req.relay is not None:
            req.relay.body_end()

    # used by the exchange

    def write(self, data: bytes) -> None:
        if self.transport is not None:
            self.transport.write(data)

    def answer(self, req: Request, status: int, message: str) -> bool:
        """Answer with the proxy's own short response; whether to keep the connection."""
        keep = req.keep_alive and req.complete and not req.upgrade
        self.write(http1.answer(status, message, close=not keep))
        return keep

    def respond(self, req: Request, status: int, message: str) -> None:
        """Answer `req` with the proxy's own short response, and be done with it."""
        self.finished(req, self.answer(req, status, message))

    def watch(self, relay: Relay) -> None:
        """`relay` serves the current request: it hears of flow control and loss."""
        self._current = relay

    def attach(self, req: Request, relay: Relay) -> list[bytes]:
        """From now on `relay` gets the body; returns what was buffered before."""
        req.relay = relay
        early, req.buffered, req.buffered_size = req.buffered, [], 0
        self._resume("buffer")
        return early

    def start_tunnel(self, relay: Relay) -> bytes:
        """After a 101: every byte from now on goes to `relay`; returns those already read."""
        self._tunnel = relay
        early, self._early = bytes(self._early), bytearray()
        self._resume("upgrade")
        return early

    def pause_reading(self, paused: bool) -> None:
        """Flow control from the backend side (its socket's buffer is full or drained)."""
        if paused:
            self._pause("backend")
        else:
            self._resume("backend")

    def close(self) -> None:
        """Close now; a connection accepted but not yet connected closes once it is."""
        if self.transport is not None:
            self.transport.close()
        else:
            self._close_on_connect = True

    def abort(self) -> None:
        if self.transport is not None:
            self.transport.abort()

    # internals

    def _start(self, req: Request) -> None:
        # Served once the parser is through with this read, so a body that came with
        # the head is already counted when an answer decides about keep-alive.
        asyncio.get_running_loop().call_soon(self._serve_now, req)

    def _serve_now(self, req: Request) -> None:
        if self.transport is None:
            return
        try:
            self._serve(self, req)
        except Exception:
            log.exception("ingress request failed peer=%s target=%r", self.peer, req.target)
            self.finished(req, False)

    def finished(self, req: Request, keep: bool) -> None:
        """The response to `req` is through; keep: the connection may carry another."""
        if not self._queue or self._queue[0] is not req:
            return
        self._queue.popleft()
        self._current = None
        if self.transport is None:
            return
        if not (keep and req.complete and req.keep_alive) or self._closing or self._upgraded:
            self.transport.close()
            return
        self._resume("backend")
        if len(self._queue) <= 1:
            self._resume("queue")
        if self._queue:
            self._start(self._queue[0])
        elif self._eof:
            self.transport.close()
        else:
            self._wait_idle()

    def _wait_idle(self) -> None:
        self._idle = asyncio.get_running_loop().call_later(IDLE_TIMEOUT, self.close)

    def _bad_request(self, e: Exception) -> None:
        log.debug("ingress bad request peer=%s error=%s", self.peer, e)
        self._closing = True
        self._pause("error")
        if not self._queue:
            self.write(http1.answer(400, "400 bad request", close=True))
            self.close()

    def _relay_writable(self, writable: bool) -> None:
        if self._current is not None:
            self._current.client_writable(writable)

    def _pause(self, reason: str) -> None:
        if not self._paused and self.transport is not None:
            self.transport.pause_reading()
        self._paused.add(reason)

    def _resume(self, reason: str) -> None:
        if reason in self._paused:
            self._paused.discard(reason)
            if not self._paused and self.transport is not None:
                self.transport.resume_reading()
