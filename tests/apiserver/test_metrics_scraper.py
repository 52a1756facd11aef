"""Reading node summaries for the metrics API: one scrape per node per ttl, shared by
concurrent readers, and failures as "no metrics" rather than errors."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from kubelite.agent.nodeapi import tls
from kubelite.apiserver import metrics_scraper


class Agent:
    """An HTTPS /stats/summary that counts its requests and can be told to fail."""

    def __init__(self) -> None:
        self.hits = 0
        self.status = 200
        self.gate = asyncio.Event()
        self.gate.set()

    async def summary(self, request: web.Request) -> web.Response:
        self.hits += 1
        await self.gate.wait()
        if self.status != 200:
            return web.Response(status=self.status, text="broken")
        return web.json_response({"node": {"nodeName": "n1"}, "pods": [],
                                  "query": dict(request.query)})


@pytest.fixture
async def served(tmp_path) -> AsyncIterator[tuple[Agent, dict[str, Any]]]:  # type: ignore[no-untyped-def]
    agent = Agent()
    app = web.Application()
    app.router.add_get("/stats/summary", agent.summary)
    runner = web.AppRunner(app)
    await runner.setup()
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    context = tls.server_context(*tls.ensure_serving(str(tmp_path), "127.0.0.1"), "")
    await web.SockSite(runner, sock, ssl_context=context).start()
    node = {"metadata": {"name": "n1"}, "status": {
        "addresses": [{"type": "InternalIP", "address": "127.0.0.1"}],
        "daemonEndpoints": {"kubeletEndpoint": {"Port": sock.getsockname()[1]}}}}
    try:
        yield agent, node
    finally:
        await runner.cleanup()


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=False)) as s:
        yield s


async def test_one_scrape_per_ttl_shared_by_concurrent_readers(
        served: tuple[Agent, dict[str, Any]], session: aiohttp.ClientSession) -> None:
    agent, node = served
    scraper = metrics_scraper.Scraper(lambda: session, ttl=60)
    agent.gate.clear()
    readers = [asyncio.create_task(scraper.summary(node)) for _ in range(5)]
    while agent.hits == 0:
        await asyncio.sleep(0.01)
    agent.gate.set()
    got = await asyncio.gather(*readers)
    assert agent.hits == 1
    assert all(g == got[0] for g in got)
    assert got[0]["query"] == {"only_cpu_and_memory": "true"}
    assert await scraper.summary(node) == got[0] and agent.hits == 1
    scraper.forget()
    await scraper.summary(node)
    assert agent.hits == 2


async def test_a_failing_node_has_no_summary(served: tuple[Agent, dict[str, Any]],
                                             session: aiohttp.ClientSession) -> None:
    agent, node = served
    agent.status = 500
    scraper = metrics_scraper.Scraper(lambda: session, ttl=60)
    assert await scraper.summary(node) is None
    assert await scraper.summary(node) is None and agent.hits == 1   # the failure is cached too


@pytest.mark.parametrize("addresses", [[], [{"type": "InternalIP", "address": "10.1.2.3"}]],
                         ids=["no-address", "not-loopback"])
async def test_nodes_that_may_not_be_dialled(addresses: list[dict[str, str]],
                                             session: aiohttp.ClientSession) -> None:
    scraper = metrics_scraper.Scraper(lambda: session)
    node = {"metadata": {"name": "far"}, "status": {"addresses": addresses}}
    assert await scraper.summary(node) is None
