"""The open ports: one asyncio server per port the classes ask for, opened and closed as
IngressClasses come and go. A port that cannot be bound (in use, or below 1024 without
privilege) is logged with what to do and retried at the next reconcile; it never stops
the other ports.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import Callable
from dataclasses import dataclass, field

from kubelite.ingress import downstream, proxy

log = logging.getLogger(__name__)


@dataclass
class _Open:
    scheme: str
    server: asyncio.Server | None = None
    # Its connected clients, closed with it (asyncio's Server leaves them open); held
    # strongly, so one whose reading is paused is not collected unclosed. One the server
    # accepted just before closing connects a moment later: it closes as it connects.
    conns: set[downstream.ClientConnection] = field(default_factory=set)
    closed: bool = False

    async def close(self) -> None:
        self.closed = True
        if self.server is not None:
            self.server.close()
        for conn in list(self.conns):
            conn.close()
        if self.server is not None:
            await self.server.wait_closed()


class Listeners:
    def __init__(self, bind: str, handler: Callable[[int, str], proxy.Handler],
                 tls_context: Callable[[int], ssl.SSLContext]) -> None:
        self.bind = bind
        self._handler = handler
        self._tls_context = tls_context
        self._open: dict[int, _Open] = {}
        self._failed: dict[int, str] = {}

    @property
    def ports(self) -> dict[int, str]:
        """Port -> scheme of the ports now listening."""
        return {port: o.scheme for port, o in self._open.items()}

    async def apply(self, wanted: dict[int, str]) -> None:
        """Listen on exactly the wanted ports (port -> "http" | "https")."""
        for port in [p for p, o in self._open.items() if wanted.get(p) != o.scheme]:
            await self._open.pop(port).close()
            log.info("ingress listener closed port=%d", port)
        for port, scheme in wanted.items():
            if port not in self._open:
                await self._listen(port, scheme)

    async def _listen(self, port: int, scheme: str) -> None:
        # No access log: a line per proxied request would cost more than proxying it
        # (Traefik, too, keeps access logs off by default).
        opened = _Open(scheme)
        factory = self._handler(port, scheme)

        def accept() -> asyncio.Protocol:
            conn = factory()
            conn.registry = opened.conns
            if opened.closed:
                conn.close()
            return conn
        ctx = self._tls_context(port) if scheme == "https" else None
        try:
            opened.server = await asyncio.get_running_loop().create_server(
                accept, self.bind, port, ssl=ctx, backlog=1024, reuse_address=True)
        except OSError as e:
            if self._failed.get(port) != str(e):
                log.warning("ingress cannot listen address=%s:%d scheme=%s error=%s; choose "
                            "other ports (--ingress-http-port, --ingress-https-port or the "
                            "class's annotations) or --disable ingress",
                            self.bind, port, scheme, e.strerror or e)
            self._failed[port] = str(e)
            return
        self._failed.pop(port, None)
        self._open[port] = opened
        log.info("ingress listening address=%s:%d scheme=%s", self.bind, port, scheme)

    async def close(self) -> None:
        await self.apply({})
