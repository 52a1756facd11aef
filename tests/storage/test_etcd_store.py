"""What only the etcd backend needs: endpoint lists, failover, and compaction done by
another client (several API servers share one etcd)."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from kubelite import storage
from kubelite.storage import etcd, protocol
from tests.storage import etcd_server

pytestmark = pytest.mark.etcd
CM = "/registry/core/configmaps/"


@pytest.fixture
def etcd_url(tmp_path: Path) -> Iterator[str]:
    with etcd_server.running(str(tmp_path / "etcd")) as url:
        yield url


def _dead_port() -> int:
    """A port that was free a moment ago: nothing listens there."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_open_store_parses_endpoint_lists(tmp_path: Path) -> None:
    assert etcd.parse_endpoints("etcd://10.0.0.1:2379,10.0.0.2:2379").urls == \
        ("http://10.0.0.1:2379", "http://10.0.0.2:2379")
    assert isinstance(storage.open_store("etcd://127.0.0.1:2379", str(tmp_path)), etcd.EtcdStore)


async def test_a_dead_endpoint_is_skipped(etcd_url: str) -> None:
    url = f"etcd://127.0.0.1:{_dead_port()}," + etcd_url.removeprefix("etcd://")
    s = etcd.EtcdStore(etcd.parse_endpoints(url), compact_interval=0)
    await s.start()
    try:
        kv = await s.create(CM + "ns/a", b"1")
        assert await s.get(kv.key) == kv
        watch = s.watch(CM, kv.mod_revision - 1)
        assert (await asyncio.wait_for(anext(watch), 10)).kv == kv
    finally:
        await s.close()


async def test_compaction_by_another_server_is_seen(etcd_url: str) -> None:
    one = etcd.EtcdStore(etcd.parse_endpoints(etcd_url), compact_interval=0)
    two = etcd.EtcdStore(etcd.parse_endpoints(etcd_url), compact_interval=0)
    await one.start()
    await two.start()
    try:
        kv = await one.create(CM + "ns/a", b"0")
        for i in range(3):
            kv = await one.update(kv.key, str(i).encode(), kv.mod_revision)
        assert await two.compacted_revision() == 0
        await one.compact(kv.mod_revision)
        assert await two.compacted_revision() == kv.mod_revision
        with pytest.raises(protocol.Compacted) as gone:
            await two.list(CM, revision=kv.mod_revision - 1)
        assert gone.value.compacted == kv.mod_revision
    finally:
        await one.close()
        await two.close()


async def _next(it: AsyncIterator[protocol.Event]) -> protocol.Event:
    return await anext(it)


async def test_a_watch_resumes_after_etcd_restarts(tmp_path: Path) -> None:
    data = str(tmp_path / "etcd")
    with etcd_server.running(data) as url:
        s = etcd.EtcdStore(etcd.parse_endpoints(url), compact_interval=0)
        await s.start()
        before = await s.create(CM + "ns/before", b"1")
        watch = s.watch(CM, before.mod_revision - 1)
        assert (await asyncio.wait_for(anext(watch), 10)).kv == before
        pending = asyncio.create_task(_next(watch))
        await asyncio.sleep(0)                     # the watch now waits on its stream
    with etcd_server.running(data, client=int(url.rsplit(":", 1)[1]), peer=_dead_port()):
        try:
            after = await asyncio.wait_for(s.create(CM + "ns/after", b"2"), 10)
            assert (await asyncio.wait_for(pending, 10)).kv == after
        finally:
            await s.close()
