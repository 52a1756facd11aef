"""The API server's write pipeline over a real SQLite store, for admission tests."""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from kubelite.api import registry
from kubelite.apiserver import context, objects, params, watchcache
from kubelite.apiserver.handlers import write
from kubelite.storage import sqlite

OPTS = params.WriteOptions(False, "test", "Strict", False)
Obj = dict[str, Any]


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


async def update(c: context.Context, resource: tuple[str, str, str], name: str,
                 change: Callable[[Obj], Any], namespace: str = "default") -> Obj:
    """Update an object through the write pipeline: `change` edits a copy of what is stored."""
    rt = c.registry.lookup(*resource)
    assert rt is not None
    info = type("Info", (), {"namespace": namespace, "name": name, "subresource": ""})()

    async def mutate(current: Obj) -> Obj:
        new = copy.deepcopy(current)
        change(new)
        return new
    stored, _ = await write.update_object(c, rt, info, mutate, OPTS)  # type: ignore[arg-type]
    return stored
