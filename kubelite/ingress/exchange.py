"""One request relayed to a backend and its response relayed back, as bytes through
asyncio transports with flow control both ways (a side whose write buffer fills pauses
reading on the other).

The request head is written as built by the proxy, then the body as the client sends it
(re-chunked when the client sent it chunked). The response is parsed only for its framing:
its body is passed on as it arrives, with the backend's Content-Length when it gave one,
else chunked for an HTTP/1.1 client, else until the connection closes. 1xx answers other
than 101 are dropped (the proxy answers `Expect: 100-continue` itself). A 101 to an
Upgrade request turns both connections into one byte tunnel (WebSocket and the like).

What one read from the backend yields for the client (a head and its body, say) goes out
in one write: a segment and a wakeup of the client fewer per response.

Failures before the response head is sent become the proxy's own 502 (refused, reset,
malformed) or 504 (no connection or no byte within the timeouts); after it, the client
connection is cut, as the response can no longer be completed honestly.
"""

from __future__ import annotations

import asyncio
import logging

import httptools

from kubelite.ingress import downstream, http1, upstream

log = logging.getLogger(__name__)


class Exchange:
    def __init__(self, client: downstream.ClientConnection, req: downstream.Request, *,
                 chunked_body: bool, read_timeout: float) -> None:
        self.client = client
        self.req = req
        self._loop = asyncio.get_running_loop()
        self._pool: upstream.Pool | None = None
        self._address: upstream.Address = ("", 0)
        self._head = b""
        self._connecting: asyncio.Task[upstream.BackendConnection] | None = None
        self._backend: upstream.BackendConnection | None = None
        self._parser = httptools.HttpResponseParser(self)
        self._chunked_body = chunked_body
        self._timeout = read_timeout
        self._timer: asyncio.TimerHandle | None = None
        self._active = False       # a byte moved since the timer last looked
        self._answered = False     # any response byte from the backend
        self._started = False      # the response head went to the client
        self._finished = False
        self._upgrading = False    # a 101 to the client's Upgrade: a tunnel follows
        self._tunnel = False
        self._skip = False         # inside a 1xx response that is dropped
        self._sent = False         # the whole request body went to the backend
        self._rechunk = False      # the response body goes to the client chunked
        self._until_eof = False    # the response body ends when the backend closes
        self._keep_client = False
        self._reason = b""
        self._headers: http1.Headers = []
        self._out: list[bytes] | None = None  # for the client, while a backend read is parsed

    def start(self, pool: upstream.Pool, address: upstream.Address, head: bytes) -> None:
        """Send the request on a kept-alive connection or a new one; the client hears
        `finished` when the response is through (or the proxy answered for it)."""
        self._pool, self._address, self._head = pool, address, head
        self.client.watch(self)
        conn = pool.take(address)
        if conn is not None:
            self._relay(conn)
        else:
            self._connect()

    def _connect(self) -> None:
        assert self._pool is not None
        self._connecting = task = self._pool.connect(self._address)
        self._timer = self._loop.call_later(self._pool.connect_timeout, task.cancel)
        task.add_done_callback(self._connected)

    def _connected(self, task: asyncio.Task[upstream.BackendConnection]) -> None:
        self._connecting = None
        if self._timer is not None:
            self._timer.cancel()
        failed = None if task.cancelled() else task.exception()
        if self._finished:  # the client left meanwhile
            if not task.cancelled() and failed is None:
                task.result().close()
        elif task.cancelled():
            self._answer(504, "504 gateway timeout")
        elif failed is not None:
            log.info("backend failed address=%s error=%r", self._where, failed)
            self._answer(502, "502 bad gateway")
        else:
            self._relay(task.result())

    @property
    def _where(self) -> str:
        return f"{self._address[0]}:{self._address[1]}"

    def _answer(self, status: int, message: str) -> None:
        self._finish(self.client.answer(self.req, status, f"{message}: {self._where}"),
                     reuse=False)

    def _retryable(self) -> bool:
        """Nothing of a body was sent, so the request can go again on a new connection."""
        return self.req.complete and self.req.header(b"content-length") in (None, b"0") \
            and not self._chunked_body

    def _relay(self, conn: upstream.BackendConnection) -> None:
        self._backend = conn
        conn.relay = self
        conn.write(self._head)
        for data in self.client.attach(self.req, self):
            self.body(data)
        if self.req.complete:
            self.body_end()
        if not self.client.writable:
            self.client_writable(False)
        self._timer = self._loop.call_later(self._timeout, self._check_timeout)

    # downstream.Relay: the client's side

    def body(self, data: bytes) -> None:
        self._active = True
        if self._backend is not None:
            self._backend.write(http1.chunk(data) if self._chunked_body else data)

    def body_end(self) -> None:
        if self._chunked_body and self._backend is not None:
            self._backend.write(http1.LAST_CHUNK)
        self._sent = True

    def client_writable(self, writable: bool) -> None:
        transport = self._backend.transport if self._backend is not None else None
        if transport is not None:
            if writable:
                transport.resume_reading()
            else:
                transport.pause_reading()

    def client_lost(self) -> None:
        self._end(False, reuse=False)

    def client_data(self, data: bytes) -> None:
        if self._backend is not None:
            self._backend.write(data)

    # upstream.Relay: the backend's side

    def backend_data(self, data: bytes) -> None:
        self._active = self._answered = True
        if self._tunnel:
            self.client.write(data)
            return
        self._out = []
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserUpgrade as e:
            self._start_tunnel(data[e.args[0]:])
        except httptools.HttpParserError as e:
            self._fail(f"malformed response: {e}")
        finally:
            self._flush()

    def backend_writable(self, writable: bool) -> None:
        self.client.pause_reading(not writable)

    def backend_lost(self) -> None:
        if self._finished:
            return
        if self._tunnel:
            self._end(False, reuse=False)
        elif self._until_eof:
            self._complete()
        elif not self._answered:
            self._finish(None, reuse=False)  # _finish retries or answers 502
        else:
            self._fail("connection closed mid-response")

    # httptools callbacks for the response

    def on_message_begin(self) -> None:
        self._reason, self._headers = b"", []

    def on_status(self, reason: bytes) -> None:
        self._reason += reason

    def on_header(self, name: bytes, value: bytes) -> None:
        self._headers.append((name, value))

    def on_headers_complete(self) -> None:
        status = self._parser.get_status_code()
        if 100 <= status < 200 and status != 101:
            self._skip = True
            return
        if self._finished:
            return
        upgrading = self._upgrading = status == 101 and self.req.upgrade
        self._send(http1.head(http1.status_line(status, self._reason),
                                     self._client_headers(status, upgrading)))
        self._started = True
        if not upgrading and (self.req.method == b"HEAD" or status in (101, 204, 304)):
            self._complete()  # no body follows, whatever Content-Length says

    def on_body(self, data: bytes) -> None:
        if not self._finished:
            self._send(http1.chunk(data) if self._rechunk else data)

    def on_message_complete(self) -> None:
        if self._skip:
            self._skip = False
        elif self._started and not self._finished and not self._upgrading:
            self._complete()

    # internals

    def _client_headers(self, status: int, upgrading: bool) -> http1.Headers:
        """The backend's end-to-end headers plus the framing and connection ones the
        client needs; decides how the body is framed for it."""
        headers = http1.end_to_end(self._headers)
        if upgrading:
            return headers + http1.upgrade_to(self._headers)
        bodyless = self.req.method == b"HEAD" or status in (101, 204, 304)
        chunked = http1.is_chunked(self._headers)
        length = http1.get(self._headers, b"content-length")
        keep = self.req.keep_alive and not self.req.upgrade
        if not bodyless and (chunked or length is None):
            self._until_eof = not chunked
            if self.req.version == "1.1":
                self._rechunk = True
                headers = http1.as_chunked(headers)
            else:
                keep = False  # an HTTP/1.0 client learns the end from the close
        if not keep:
            headers.append((b"Connection", b"close"))
        elif self.req.version == "1.0":
            headers.append((b"Connection", b"keep-alive"))
        self._keep_client = keep
        return headers

    def _start_tunnel(self, rest: bytes) -> None:
        if self._finished or not self._upgrading:
            self._fail("switched protocols unasked")
            return
        self._tunnel = True
        self._flush()
        if self._timer is not None:
            self._timer.cancel()  # a tunnel may be quiet for as long as its ends like
        if rest:
            self.client.write(rest)
        early = self.client.start_tunnel(self)
        if early and self._backend is not None:
            self._backend.write(early)

    def _complete(self) -> None:
        """The response went through whole."""
        if self._rechunk:
            self._send(http1.LAST_CHUNK)
        reuse = (self._sent and not self._until_eof and self._parser.should_keep_alive())
        self._end(self._keep_client, reuse=reuse)

    def _fail(self, why: str) -> None:
        log.info("backend failed address=%s error=%s", self._where, why)
        if self._started:
            self._out = None  # the response cannot be completed: cut, not flushed
            self.client.abort()
            self._end(False, reuse=False)
        else:
            self._answer(502, "502 bad gateway")

    def _end(self, keep: bool, *, reuse: bool) -> None:
        if self._tunnel:
            self.client.close()
            keep, reuse = False, False
        self._finish(keep, reuse=reuse)

    def _finish(self, outcome: bool | None, *, reuse: bool) -> None:
        """Release the backend and tell the client; None: the backend closed without
        answering, so a request that may go again does, once, on a new connection."""
        if self._finished:
            return
        self._flush()  # before the client hears it is finished, and maybe closes
        if self._timer is not None:
            self._timer.cancel()
        if self._connecting is not None:
            self._connecting.cancel()
        backend, self._backend = self._backend, None
        if backend is not None:
            if reuse and self._pool is not None:
                self._pool.release(backend)
            else:
                backend.close()
        if outcome is None:
            if backend is not None and backend.reused and self._retryable():
                self._parser = httptools.HttpResponseParser(self)
                self._answered = False
                self._connect()  # a kept-alive connection the backend had just closed
                return
            log.info("backend closed without answering address=%s", self._where)
            outcome = self.client.answer(self.req, 502, f"502 bad gateway: {self._where}")
        self._finished = True
        self.client.finished(self.req, outcome)

    def _send(self, data: bytes) -> None:
        if self._out is not None:
            self._out.append(data)
        else:
            self.client.write(data)

    def _flush(self) -> None:
        out, self._out = self._out, None
        if out:
            self.client.write(out[0] if len(out) == 1 else b"".join(out))

    def _check_timeout(self) -> None:
        if self._finished or self._tunnel:
            return
        if self._active:
            self._active = False
            self._timer = self._loop.call_later(self._timeout, self._check_timeout)
            return
        log.info("backend timed out address=%s", self._where)
        if self._started:
            self.client.abort()
            self._finish(False, reuse=False)
        else:
            self._answer(504, "504 gateway timeout")
