"""Waiting on the event loop until a file descriptor is readable, without a thread: a
pidfd becomes readable when its process exits, a socket when data arrives."""

from __future__ import annotations

import asyncio
from typing import Any


async def readable(fd: Any, timeout: float | None = None) -> bool:
    """Wait until `fd` (a descriptor or an object with fileno()) is readable; False if
    `timeout` seconds passed first."""
    loop = asyncio.get_running_loop()
    ready: asyncio.Future[None] = loop.create_future()
    loop.add_reader(fd, _resolve, ready)
    try:
        await asyncio.wait_for(ready, timeout)
        return True
    except TimeoutError:
        return False
    finally:
        loop.remove_reader(fd)


def _resolve(fut: asyncio.Future[None]) -> None:
    if not fut.done():
        fut.set_result(None)
