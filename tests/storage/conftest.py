"""Fixtures: the same contract suite runs against every backend."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest

from kubelite.storage import etcd, protocol, sqlite
from tests.storage import etcd_server

Opener = Callable[[], protocol.Store]


@pytest.fixture(params=["sqlite", pytest.param("etcd", marks=pytest.mark.etcd)])
def open_backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Opener]:
    """A function that opens a (new, not yet started) store over the same data."""
    if request.param == "sqlite":
        path = str(tmp_path / "db" / "state.db")
        yield lambda: sqlite.SQLiteStore(path, compact_interval=0)
        return
    with etcd_server.running(str(tmp_path / "etcd")) as url:
        yield lambda: etcd.EtcdStore(etcd.parse_endpoints(url), compact_interval=0)


@pytest.fixture
async def store(open_backend: Opener) -> AsyncIterator[protocol.Store]:
    s = open_backend()
    await s.start()
    yield s
    await s.close()
