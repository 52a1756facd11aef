"""The event loop the Ingress controller's process runs on: uvloop.

The proxy's data path is mostly event-loop work (accepting, reading, writing, closing two
connections per request), and on libuv that costs about half of what it does on asyncio's
own loop in Python. The controller's API client rides along on the same loop.

uvloop cannot connect to an abstract Unix socket by name (the server's loopback listener
is one); such connects go through a socket connected here first.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Coroutine
from typing import Any

import uvloop


class Loop(uvloop.Loop):
    async def create_unix_connection(self, protocol_factory: Any, path: str | None = None,
                                     **kwargs: Any) -> Any:
        if isinstance(path, str) and path.startswith("\0") and kwargs.get("sock") is None:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.setblocking(False)
            try:
                await self.sock_connect(sock, path)
            except BaseException:
                sock.close()
                raise
            return await super().create_unix_connection(protocol_factory, sock=sock, **kwargs)
        return await super().create_unix_connection(protocol_factory, path, **kwargs)


def run(main: Coroutine[Any, Any, None]) -> None:
    """asyncio.run, on this loop."""
    with asyncio.Runner(loop_factory=Loop) as runner:
        runner.run(main)
