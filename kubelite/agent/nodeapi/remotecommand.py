"""The exec stream protocol over WebSocket (`v5.channel.k8s.io`, `v4.channel.k8s.io`).

Every binary message starts with a channel byte: 0 stdin, 1 stdout, 2 stderr, 3 the final
Status (JSON), 4 terminal resize (JSON {"Width", "Height"}). v5 adds the message
[0xFF, channel] meaning "this stream is closed" (the client closes stdin that way).
The session ends with the Status on channel 3 once the process has exited and its output
has been sent, then a normal close.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from aiohttp import WSMsgType, web

from kubelite.agent.runtime import protocol

log = logging.getLogger(__name__)

PROTOCOLS = ("v5.channel.k8s.io", "v4.channel.k8s.io")
STDIN, STDOUT, STDERR, ERROR, RESIZE, CLOSE = 0, 1, 2, 3, 4, 0xFF
CHUNK = 32 * 1024


class InvalidRequest(ValueError):
    """The query cannot start a session (HTTP 400)."""


@dataclass(frozen=True)
class Request:
    command: tuple[str, ...]
    stdin: bool
    stdout: bool
    stderr: bool
    tty: bool

    @classmethod
    def parse(cls, query: Mapping[str, str], commands: list[str]) -> Request:
        def flag(key: str) -> bool:
            return query.get(key, "").lower() in ("true", "1")
        req = cls(tuple(commands), flag("stdin"), flag("stdout"), flag("stderr"), flag("tty"))
        if not (req.stdin or req.stdout or req.stderr):
            raise InvalidRequest("you must specify at least 1 of stdin, stdout, stderr")
        if not req.command:
            raise InvalidRequest("you must specify a command")
        return req


def negotiate(offered: str) -> str:
    """The first protocol the client offers that we speak; "" if none."""
    for name in (p.strip() for p in offered.split(",")):
        if name in PROTOCOLS:
            return name
    return ""


def exit_status(code: int, command: tuple[str, ...]) -> dict[str, Any]:
    """The Status sent on the error channel, as the kubelet words it."""
    if code == 0:
        return {"metadata": {}, "status": "Success"}
    return {"metadata": {}, "status": "Failure",
            "message": f"command terminated with non-zero exit code: error executing command "
                       f"[{' '.join(command)}], exit code {code}",
            "reason": "NonZeroExitCode",
            "details": {"causes": [{"reason": "ExitCode", "message": str(code)}]}}


async def _pump(reader: asyncio.StreamReader, ws: web.WebSocketResponse, channel: int,
                wanted: bool) -> None:
    while data := await reader.read(CHUNK):
        if wanted and not ws.closed:
            await ws.send_bytes(bytes([channel]) + data)


def _handle(proc: protocol.ExecProcess, data: bytes) -> None:
    """One message from the client: stdin data, a resize, or a stream close."""
    if not data:
        return
    channel, body = data[0], data[1:]
    if channel == STDIN and proc.stdin is not None and body:
        proc.stdin.write(body)
    elif channel == RESIZE and body:
        size = json.loads(body)
        proc.resize(int(size.get("Width", 0)), int(size.get("Height", 0)))
    elif channel == CLOSE and body[:1] == bytes([STDIN]) and proc.stdin is not None:
        proc.stdin.close()


async def _receive(ws: web.WebSocketResponse, proc: protocol.ExecProcess) -> None:
    """Feed the client's messages to the process; if the client goes away, kill it."""
    async for msg in ws:
        if msg.type == WSMsgType.BINARY:
            _handle(proc, msg.data)
            if proc.stdin is not None and not proc.stdin.is_closing():
                with contextlib.suppress(ConnectionError):
                    await proc.stdin.drain()
    proc.kill()


async def _stop(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def serve(ws: web.WebSocketResponse, proc: protocol.ExecProcess, req: Request) -> None:
    """Bridge the prepared WebSocket and the process until it exits; then send its Status."""
    receiving = asyncio.create_task(_receive(ws, proc))
    try:
        pumps = [_pump(proc.stdout, ws, STDOUT, req.stdout)]
        if proc.stderr is not None:
            pumps.append(_pump(proc.stderr, ws, STDERR, req.stderr))
        await asyncio.gather(*pumps)
        code = await proc.wait()
        # No reader may be left when closing: close() then waits for the client's close
        # reply, instead of dropping the connection under it (a peer across a real link
        # would see close code 1006).
        await _stop(receiving)
        if not ws.closed:
            await ws.send_bytes(bytes([ERROR]) + json.dumps(exit_status(code, req.command)).encode())
            await ws.close()
    finally:
        await _stop(receiving)
        if proc.stdin is not None:
            proc.stdin.close()
