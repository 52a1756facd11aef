"""Reading nodes' stats summaries for the metrics API, on demand, with a short cache.

A request for metrics scrapes only the nodes it needs, each at most once per `ttl`
seconds: concurrent requests share one scrape in flight, so `kubectl top` run in a loop
or by many users costs each node one request per `ttl`. Nodes are reached as pods/log is
(loopback addresses only, the kubelet-client certificate). A node that cannot be reached
or answers badly yields None: like metrics-server, its metrics are left out, not an error.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

import aiohttp
import orjson

from kubelite.api import errors
from kubelite.apiserver import nodeproxy

log = logging.getLogger(__name__)

Obj = dict[str, Any]


def summary_url(node: Obj) -> str:
    """The node agent's /stats/summary URL (raises ServiceUnavailable for a non-loopback
    node address)."""
    port = (((node.get("status") or {}).get("daemonEndpoints") or {})
            .get("kubeletEndpoint") or {}).get("Port") or 10250
    return f"https://{nodeproxy.node_address(node)}:{int(port)}/stats/summary"


class Scraper:
    def __init__(self, session: Callable[[], aiohttp.ClientSession], *, ttl: float = 5.0,
                 timeout: float = 5.0) -> None:
        self._session = session
        self.ttl = ttl
        self.timeout = timeout
        self._cache: dict[str, tuple[float, Obj | None]] = {}
        self._inflight: dict[str, asyncio.Task[Obj | None]] = {}

    async def summary(self, node: Obj) -> Obj | None:
        """The node's summary, at most `ttl` seconds old, or None if it has none."""
        try:
            url = summary_url(node)
        except errors.APIError as e:
            log.info("not scraping node=%s reason=%s", node["metadata"]["name"], e)
            return None
        hit = self._cache.get(url)
        if hit is not None and time.monotonic() - hit[0] < self.ttl:
            return hit[1]
        task = self._inflight.get(url)
        if task is None:
            task = asyncio.create_task(self._scrape(node["metadata"]["name"], url))
            self._inflight[url] = task
            task.add_done_callback(lambda _t: self._inflight.pop(url, None))
        return await asyncio.shield(task)

    async def _scrape(self, name: str, url: str) -> Obj | None:
        began = time.monotonic()
        result: Obj | None = None
        try:
            timeout = aiohttp.ClientTimeout(total=self.timeout)
            async with self._session().get(url, params={"only_cpu_and_memory": "true"},
                                           timeout=timeout) as resp:
                body = await resp.read()
                if resp.status != 200:
                    raise ValueError(f"status {resp.status}: {body[:200]!r}")
                parsed = orjson.loads(body)
                result = parsed if isinstance(parsed, dict) else None
                if result is None:
                    log.warning("node stats summary is not an object node=%s", name)
        except (aiohttp.ClientError, TimeoutError, ValueError) as e:
            log.warning("scraping node stats failed node=%s error=%s", name, e)
        self._cache = {u: hit for u, hit in self._cache.items() if began - hit[0] < 10 * self.ttl}
        self._cache[url] = (began, result)   # (nodes that went away drop out above)
        return result

    def forget(self) -> None:
        """Drop cached summaries (a test, or a node that changed address)."""
        self._cache.clear()
