"""GET /stats/summary on the node API: the provider's document, and its refusals."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from aiohttp.test_utils import make_mocked_request

from kubelite.agent.nodeapi import stats


class Provider:
    async def summary(self) -> dict[str, Any]:
        return {"node": {"nodeName": "n1"}, "pods": []}


@pytest.mark.parametrize(("provider", "query", "status", "body"), [
    (Provider(), "", 200, b'{"node":{"nodeName":"n1"},"pods":[]}'),
    (Provider(), "?only_cpu_and_memory=true", 200, b'{"node":{"nodeName":"n1"},"pods":[]}'),
    (Provider(), "?only_cpu_and_memory=maybe", 400,
     b"only_cpu_and_memory must be true or false\n"),
    (None, "", 503, b"node stats are not available on this node\n"),
], ids=["summary", "only-cpu-and-memory", "bad-flag", "no-provider"])
async def test_summary(provider: stats.Provider | None, query: str, status: int,
                       body: bytes) -> None:
    resp = await stats.handler(provider)(make_mocked_request("GET", "/stats/summary" + query))
    assert (resp.status, resp.body) == (status, body)
    if status == 200:
        assert resp.content_type == "application/json"
        assert orjson.loads(body)["node"]["nodeName"] == "n1"
