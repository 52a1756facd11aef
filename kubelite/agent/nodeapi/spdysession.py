"""The server side of a SPDY/3.1 connection: streams the client opens, each a byte pipe.

The client opens every stream (SYN_STREAM); we accept it with an empty SYN_REPLY or refuse
it with RST_STREAM REFUSED_STREAM, answer PINGs, and end on GOAWAY or when the transport
closes. There is no flow control: like the Go library kubectl uses, WINDOW_UPDATE and
SETTINGS are read and ignored. All frames go out through one lock, so the header
compressor sees them in wire order.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from kubelite.agent.nodeapi import spdy

log = logging.getLogger(__name__)
CHUNK = 32 * 1024

Send = Callable[[bytes], Awaitable[None]]
Check = Callable[[spdy.Headers], str]
"""Validates a new stream's headers: "" accepts it, anything else is why it is refused."""


class Stream:
    """One stream: `reader` gets the client's data (EOF on its FIN or a reset)."""

    def __init__(self, session: Session, stream_id: int, headers: spdy.Headers) -> None:
        self.session = session
        self.id = stream_id
        self.headers = headers
        self.reader = asyncio.StreamReader()
        self.was_reset = False
        self._fin_sent = False

    @property
    def writable(self) -> bool:
        return not (self.was_reset or self._fin_sent or self.session.closed)

    async def write(self, data: bytes) -> None:
        """Send data; silently dropped once the stream is closed or reset (as a peer would)."""
        for start in range(0, len(data), CHUNK):
            if not self.writable:
                return
            await self.session.send(self._data(data[start:start + CHUNK]))

    def _data(self, chunk: bytes, *, fin: bool = False) -> Callable[[spdy.Codec], bytes]:
        return lambda codec: codec.data(self.id, chunk, fin=fin)

    async def close(self) -> None:
        """Half-close: FIN on an empty data frame; we send nothing more."""
        if self.writable:
            self._fin_sent = True
            await self.session.send(self._data(b"", fin=True))

    async def reset(self, status: int = spdy.CANCEL) -> None:
        if not (self.was_reset or self.session.closed):
            self.was_reset = True
            self.reader.feed_eof()
            await self.session.send(lambda c: c.rst_stream(self.id, status))

    def _ended_by_peer(self) -> None:
        self.was_reset = True
        if not self.reader.at_eof():
            self.reader.feed_eof()


class Session:
    """Feeds received bytes in with `receive`; new accepted streams go to `on_stream`."""

    def __init__(self, send: Send, check: Check, on_stream: Callable[[Stream], None]) -> None:
        self._send = send
        self._check = check
        self._on_stream = on_stream
        self.codec = spdy.Codec()
        self.streams: dict[int, Stream] = {}
        self.closed = False
        self.done = asyncio.Event()
        self._lock = asyncio.Lock()

    async def send(self, encode: Callable[[spdy.Codec], bytes]) -> None:
        async with self._lock:
            if not self.closed:
                await self._send(encode(self.codec))

    async def receive(self, data: bytes) -> None:
        """Handle the frames `data` completes; a ProtocolError ends the session."""
        try:
            frames = self.codec.feed(data)
        except spdy.ProtocolError as e:
            log.warning("spdy protocol error, closing error=%s", e)
            await self.send(lambda c: c.goaway(self._last_id(), spdy.PROTOCOL_ERROR))
            self.close()
            return
        for frame in frames:
            await self._handle(frame)

    def _last_id(self) -> int:
        return max(self.streams, default=0)

    async def _handle(self, f: spdy.Frame) -> None:
        stream = self.streams.get(f.stream_id)
        if f.kind == spdy.DATA:
            if stream is not None and not stream.was_reset:
                if f.data:
                    stream.reader.feed_data(f.data)
                if f.fin:
                    stream.reader.feed_eof()
        elif f.kind == spdy.SYN_STREAM:
            await self._open(f)
        elif f.kind == spdy.RST_STREAM:
            if stream is not None:
                stream._ended_by_peer()
        elif f.kind == spdy.PING:
            await self.send(lambda c: c.ping(f.ping_id))
        elif f.kind == spdy.GOAWAY:
            self.close()

    async def _open(self, f: spdy.Frame) -> None:
        if f.stream_id in self.streams or f.stream_id % 2 == 0:
            await self.send(lambda c: c.rst_stream(f.stream_id, spdy.PROTOCOL_ERROR))
            return
        why = self._check(f.headers)
        if why:
            log.info("spdy stream refused id=%d reason=%s", f.stream_id, why)
            await self.send(lambda c: c.rst_stream(f.stream_id, spdy.REFUSED_STREAM))
            return
        stream = Stream(self, f.stream_id, f.headers)
        self.streams[f.stream_id] = stream
        await self.send(lambda c: c.syn_reply(f.stream_id, {}))
        if f.fin:
            stream.reader.feed_eof()
        self._on_stream(stream)

    def forget(self, stream: Stream) -> None:
        self.streams.pop(stream.id, None)

    def close(self) -> None:
        """The connection is gone: every stream's reader ends, nothing more is sent."""
        if self.closed:
            return
        self.closed = True
        for stream in self.streams.values():
            stream._ended_by_peer()
        self.done.set()
