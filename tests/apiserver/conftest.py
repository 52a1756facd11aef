"""The API server's write pipeline over a real SQLite store, for admission tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from kubelite.api import registry
from kubelite.apiserver import context, objects, params, watchcache
from kubelite.apiserver.handlers import write
from kubelite.storage import sqlite

OPTS = params.WriteOptions(False, "test", "Strict", False)


@pytest.fixture
async def ctx(tmp_path) -> AsyncIterator[context.Context]:  # type: ignore[no-untyped-def]
    """A server context with its store and watch cache, and the `default` namespace."""
    store = sqlite.SQLiteStore(str(tmp_path / "db"), compact_interval=0)
    await store.start()
    cache = watchcache.Cache(store)
    await cache.start()
    c = context.Context(registry.Registry(), objects.Objects(store, cache), cache)
    await write.create_object(c, c.namespace_type(), {"metadata": {"name": "default"}}, "", OPTS)
    yield c
    await cache.stop()
    await store.close()
