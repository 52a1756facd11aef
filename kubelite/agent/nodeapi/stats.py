"""GET /stats/summary: the kubelet's Summary API (node and pod CPU and memory usage).

The Summary document (kubelet stats/v1alpha1) is served rather than the Prometheus text
of /metrics/resource because it carries the CPU rate (usageNanoCores) the node computed
over its own sampling window: a metrics reader gets usage from a single scrape and needs
no samples of its own. Only CPU and memory are reported, so `only_cpu_and_memory` is
accepted and changes nothing.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Protocol

import orjson
from aiohttp import web


class Provider(Protocol):
    async def summary(self) -> dict[str, Any]: ...


def handler(provider: Provider | None) -> Callable[[web.Request], Awaitable[web.Response]]:
    """The route handler; 503 while the node has no stats provider (cannot run pods)."""
    async def summary(request: web.Request) -> web.Response:
        if request.query.get("only_cpu_and_memory", "true") not in ("true", "false", "1", "0"):
            return web.Response(status=400, text="only_cpu_and_memory must be true or false\n")
        if provider is None:
            return web.Response(status=503, text="node stats are not available on this node\n")
        body = orjson.dumps(await provider.summary())
        return web.Response(body=body, content_type="application/json")
    return summary
