"""A watcher that reads slowly still gets every event, in order, once.

The server queues events for a watcher whose connection is full and sends them in
batches when it drains; a batch cut short by its size must leave the rest queued.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from kubelite.client import rest
from tests.e2e import cluster as cluster_mod

pytestmark = pytest.mark.e2e

OBJECTS = 200
VALUE = "x" * 100_000   # 200 objects of ~100 kB: more than the socket buffers hold


def test_slow_watcher_gets_every_event(cluster: cluster_mod.Cluster, ns: str) -> None:
    async def run() -> list[str]:
        client = rest.Client.from_kubeconfig(cluster.kubeconfig, user_agent="slow-watcher")
        cm = client.resource("v1", "ConfigMap")
        try:
            rv = (await client.list(cm, ns))["metadata"]["resourceVersion"]
            events = client.watch(cm, ns, resource_version=rv, bookmarks=False)
            first: asyncio.Future[dict[str, Any]] = asyncio.ensure_future(anext(events))   # the stream is open; not read on
            for i in range(OBJECTS):
                await client.create(cm, {"apiVersion": "v1", "kind": "ConfigMap",
                                         "metadata": {"name": f"big-{i}"},
                                         "data": {"v": VALUE}}, ns)
            seen = [(await asyncio.wait_for(first, 30))["object"]["metadata"]["name"]]
            async with asyncio.timeout(60):
                while len(seen) < OBJECTS:
                    event = await anext(events)
                    assert event["type"] == "ADDED"
                    seen.append(event["object"]["metadata"]["name"])
            await events.aclose()  # type: ignore[attr-defined]
            return seen
        finally:
            await client.close()

    assert asyncio.run(run()) == [f"big-{i}" for i in range(OBJECTS)]
