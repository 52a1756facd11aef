"""Connections to backends: an asyncio Protocol per connection that hands what it reads to
the exchange using it, and a keep-alive pool per endpoint address.

An idle pooled connection must stay silent: bytes or EOF from one close it. Connections
idle longer than KEEPALIVE are not reused (the backend may be about to close them).
"""

from __future__ import annotations

import asyncio
from typing import Protocol, cast

Address = tuple[str, int]

KEEPALIVE = 60.0
IDLE_PER_ADDRESS = 64


class Relay(Protocol):
    """Where a backend connection's bytes and events go while an exchange uses it."""
    def backend_data(self, data: bytes) -> None: ...
    def backend_writable(self, writable: bool) -> None: ...
    def backend_lost(self) -> None: ...


class BackendConnection(asyncio.Protocol):
    def __init__(self, pool: Pool, address: Address) -> None:
        self.address = address
        self.transport: asyncio.Transport | None = None
        self.relay: Relay | None = None
        self.reused = False
        self.idle_since = 0.0
        self._pool = pool

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is no subclass

    def data_received(self, data: bytes) -> None:
        if self.relay is not None:
            self.relay.backend_data(data)
        else:
            self.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        self._pool.forget(self)
        if self.relay is not None:
            self.relay.backend_lost()

    def pause_writing(self) -> None:
        if self.relay is not None:
            self.relay.backend_writable(False)

    def resume_writing(self) -> None:
        if self.relay is not None:
            self.relay.backend_writable(True)

    def write(self, data: bytes) -> None:
        if self.transport is not None:
            self.transport.write(data)

    def close(self) -> None:
        self.relay = None
        if self.transport is not None:
            self.transport.close()


class Pool:
    def __init__(self, connect_timeout: float) -> None:
        self.connect_timeout = connect_timeout
        self._idle: dict[Address, list[BackendConnection]] = {}

    def take(self, address: Address) -> BackendConnection | None:
        """A kept-alive connection to `address`, if one is idle and fresh enough."""
        idle = self._idle.get(address)
        now = asyncio.get_running_loop().time() if idle else 0.0
        while idle:
            conn = idle.pop()
            if conn.transport is not None and now - conn.idle_since < KEEPALIVE:
                conn.reused = True
                return conn
            conn.close()
        return None

    def connect(self, address: Address) -> asyncio.Task[BackendConnection]:
        """A new connection; the task fails with OSError (refused, unreachable). The
        caller bounds it by connect_timeout."""
        return asyncio.get_running_loop().create_task(self._connect(address))

    async def _connect(self, address: Address) -> BackendConnection:
        _, conn = await asyncio.get_running_loop().create_connection(
            lambda: BackendConnection(self, address), *address)
        return conn

    def release(self, conn: BackendConnection) -> None:
        """Keep a connection whose last response ended cleanly, for the next request."""
        conn.relay = None
        transport = conn.transport
        idle = self._idle.setdefault(conn.address, [])
        if transport is None or transport.is_closing() or len(idle) >= IDLE_PER_ADDRESS:
            conn.close()
            return
        if not transport.is_reading():
            transport.resume_reading()
        conn.idle_since = asyncio.get_running_loop().time()
        idle.append(conn)

    def forget(self, conn: BackendConnection) -> None:
        idle = self._idle.get(conn.address)
        if idle and conn in idle:
            idle.remove(conn)

    def close(self) -> None:
        for idle in self._idle.values():
            for conn in idle:
                conn.close()
        self._idle.clear()
