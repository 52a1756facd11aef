"""Port forwarding into a pod: connect to 127.0.0.1:<port> inside its network namespace.

Two wire protocols reach the same copying core (`pipe`):
- SPDY/3.1 tunnelled in WebSocket binary messages (kubectl, subprotocol
  `SPDY/3.1+portforward.k8s.io`): each forwarded connection is a pair of client-opened
  streams, "error" and "data", tied by the `requestID` header and naming the `port`.
- the WebSocket channel protocol (`v4.channel.k8s.io`, the Python client): ports come from
  the `port` query; port i owns channels 2i (data) and 2i+1 (error); we first send each
  channel the port as 2 little-endian bytes, then one TCP connection per port lives as long
  as the WebSocket.
A failure to connect is reported on that connection's error stream as the kubelet words it
("error forwarding port P to pod S, uid : ..."); other connections go on.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from dataclasses import dataclass
from typing import Any

from aiohttp import WSMsgType, web

from kubelite.agent.kubelet import netns
from kubelite.agent.nodeapi import spdysession

log = logging.getLogger(__name__)

SPDY_PROTOCOL = "SPDY/3.1+portforward.k8s.io"
CHANNEL_PROTOCOL = "v4.channel.k8s.io"
STREAM_CREATION_TIMEOUT = 30.0
CLOSE_GRACE = 1.0   # after the pod closes, how long the client's last bytes may still flow
CHUNK = 32 * 1024


class InvalidRequest(ValueError):
    """The request names no usable port (HTTP 400)."""


@dataclass(frozen=True)
class PodNetwork:
    """Where to connect: the pod's sandbox (named in errors) and its network namespace."""

    sandbox_id: str
    netns_path: str

    async def dial(self, port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        sock = netns.socket_in(self.netns_path)
        try:
            await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", port))
        except BaseException:
            sock.close()
            raise
        return await asyncio.open_connection(sock=sock)

    def error(self, port: int, e: OSError) -> str:
        reason = (os.strerror(e.errno) if e.errno else str(e)).lower()
        return (f"error forwarding port {port} to pod {self.sandbox_id}, uid : failed to connect "
                f'to localhost:{port} inside namespace "{self.sandbox_id}", IPv4: dial tcp4 '
                f"127.0.0.1:{port}: connect: {reason}")


def parse_port(text: str) -> int:
    """A port as upstream accepts it: 1..65535."""
    try:
        port = int(text, 10)
    except ValueError:
        raise InvalidRequest(f'unable to parse "{text}" as a port') from None
    if not 0 < port < 65536:
        raise InvalidRequest(f'port "{text}" must be > 0 and < 65536')
    return port


def query_ports(values: list[str]) -> list[int]:
    """The `port` query values of a channel-protocol request (each may list several)."""
    ports = [parse_port(p) for v in values for p in v.split(",")]
    if not ports:
        raise InvalidRequest('query parameter "port" is required')
    return ports


def negotiate(offered: str) -> str:
    """SPDY_PROTOCOL or CHANNEL_PROTOCOL, or "" when the client speaks neither."""
    names = [p.strip() for p in offered.split(",") if p.strip()]
    if SPDY_PROTOCOL in names:
        return SPDY_PROTOCOL
    if CHANNEL_PROTOCOL in names or not names:
        return CHANNEL_PROTOCOL
    return ""


async def pipe(pod: PodNetwork, port: int, inbound: asyncio.StreamReader,
               send: Callable[[bytes], Awaitable[None]], aborted: Callable[[], bool]) -> str:
    """Copy between the client and the pod's port until the pod closes or the client aborts.

    Returns "" or the error to report. The client's EOF half-closes the TCP connection;
    `aborted()` (checked at the client's EOF) says the client dropped the stream instead.
    """
    try:
        reader, writer = await pod.dial(port)
    except OSError as e:
        return pod.error(port, e)
    upload = asyncio.create_task(_upload(inbound, writer, aborted))
    try:
        while data := await reader.read(CHUNK):
            await send(data)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(upload), CLOSE_GRACE)
    finally:
        upload.cancel()
        with contextlib.suppress(asyncio.CancelledError, ConnectionError):
            await upload
        writer.close()
    return ""


async def _upload(inbound: asyncio.StreamReader, writer: asyncio.StreamWriter,
                  aborted: Callable[[], bool]) -> None:
    with contextlib.suppress(ConnectionError):
        while data := await inbound.read(CHUNK):
            writer.write(data)
            await writer.drain()
        if aborted():
            writer.close()   # the pod side's reader then ends too
        elif writer.can_write_eof():
            writer.write_eof()


# --- SPDY over WebSocket --------------------------------------------------------------------

def check_stream(headers: Mapping[str, str]) -> str:
    """Why a new stream is refused, as upstream words it; "" if it is fine."""
    if not headers.get("port"):
        return '"port" header is required'
    try:
        parse_port(headers["port"])
    except InvalidRequest as e:
        return str(e)
    kind = headers.get("streamtype", "")
    if kind not in ("error", "data"):
        return f'invalid stream type "{kind}"' if kind else '"streamType" header is required'
    return ""


class _Pair:
    def __init__(self) -> None:
        self.streams: dict[str, spdysession.Stream] = {}
        self.complete = asyncio.Event()


class SpdyForwarder:
    """Pairs the client's error/data streams by request id and forwards each pair."""

    def __init__(self, pod: PodNetwork, tasks: asyncio.TaskGroup) -> None:
        self.pod = pod
        self.tasks = tasks
        self.pairs: dict[str, _Pair] = {}
        self.running: set[asyncio.Task[None]] = set()

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = self.tasks.create_task(coro)
        self.running.add(task)
        task.add_done_callback(self.running.discard)

    def on_stream(self, stream: spdysession.Stream) -> None:
        kind = stream.headers["streamtype"]
        rid = stream.headers.get("requestid") or str(stream.id - (2 if kind == "data" else 0))
        pair = self.pairs.get(rid)
        if pair is None:
            pair = self.pairs[rid] = _Pair()
            self._spawn(self._watch(rid, pair))
        if kind in pair.streams:
            self._spawn(_say(pair.streams.get("error"), f"error processing stream for request "
                             f"{rid}: {kind} stream already assigned"))
            return
        pair.streams[kind] = stream
        if len(pair.streams) == 2:
            pair.complete.set()
            self._spawn(self._forward(pair))

    async def _watch(self, rid: str, pair: _Pair) -> None:
        try:
            await asyncio.wait_for(pair.complete.wait(), STREAM_CREATION_TIMEOUT)
        except TimeoutError:
            await _say(pair.streams.get("error"), f"(request={rid}) timed out waiting for streams")
        self.pairs.pop(rid, None)

    async def _forward(self, pair: _Pair) -> None:
        data, error = pair.streams["data"], pair.streams["error"]
        port = parse_port(data.headers["port"])
        try:
            message = await pipe(self.pod, port, data.reader, data.write, lambda: data.was_reset)
            if message:
                log.info("port forward failed %s", message)
            await _say(error, message)
            await data.close()
        except ConnectionError:    # the client went away mid-write: nothing left to tell
            pass
        finally:
            for s in (data, error):
                s.session.forget(s)

    def stop(self) -> None:
        for task in list(self.running):
            task.cancel()


async def _say(stream: spdysession.Stream | None, message: str) -> None:
    """Write `message` (if any) on an error stream and close it."""
    if stream is None:
        return
    if message:
        await stream.write(message.encode())
    await stream.close()


async def serve_spdy(ws: web.WebSocketResponse, pod: PodNetwork) -> None:
    """Run a SPDY session over the prepared WebSocket until either side ends it."""
    async with asyncio.TaskGroup() as tasks:
        forwarder = SpdyForwarder(pod, tasks)
        session = spdysession.Session(ws.send_bytes, check_stream, forwarder.on_stream)
        try:
            async for msg in ws:
                if msg.type == WSMsgType.BINARY:
                    await session.receive(msg.data)
                if session.closed:
                    break
        except ConnectionError:
            pass
        finally:
            session.close()
            forwarder.stop()
    await ws.close()
