"""The watch cache over a real SQLite store: lists, watches, history and selectors."""

from __future__ import annotations

import asyncio
from typing import AsyncIterator

import orjson
import pytest

from kubelite.api import errors, labels
from kubelite.apiserver import watchcache
from kubelite.storage import sqlite

PREFIX = "/registry/core/configmaps/"


@pytest.fixture
async def env(tmp_path) -> AsyncIterator[tuple[sqlite.SQLiteStore, watchcache.Cache]]:  # type: ignore[no-untyped-def]
    store = sqlite.SQLiteStore(str(tmp_path / "db"), compact_interval=0)
    await store.start()
    cache = watchcache.Cache(store)
    await cache.start()
    yield store, cache
    await cache.stop()
    await store.close()


def cm(name: str, ns: str = "a", **lbl: str) -> bytes:
    return orjson.dumps({"apiVersion": "v1", "kind": "ConfigMap",
                         "metadata": {"name": name, "namespace": ns, "labels": lbl}})


async def test_reads_follow_writes_and_scan_by_namespace(env) -> None:  # type: ignore[no-untyped-def]
    store, cache = env
    for ns, name in (("b", "x"), ("a", "z"), ("a", "y"), ("ab", "w")):
        await store.create(f"{PREFIX}{ns}/{name}", cm(name, ns))
    await cache.wait_fresh()
    bucket = cache.bucket(PREFIX)
    assert [e.name for e in bucket.scan("a")] == ["y", "z"]
    assert [e.name for e in bucket.scan()] == ["y", "z", "w", "x"]
    first = bucket.scan("a")[0]
    assert [e.name for e in bucket.scan("a", first.key)] == ["z"]
    assert first.decode()["metadata"]["resourceVersion"] == str(first.rv)


async def test_watch_from_revision_and_label_transitions(env) -> None:  # type: ignore[no-untyped-def]
    store, cache = env
    kv = await store.create(f"{PREFIX}a/one", cm("one", app="web"))
    await cache.wait_fresh()
    sel = labels.parse("app=web")
    watcher = cache.watch(PREFIX, lambda e: sel.matches(e.labels), kv.mod_revision)
    kv = await store.update(kv.key, cm("one", app="db"), kv.mod_revision)    # stops matching
    kv = await store.update(kv.key, cm("one", app="web"), kv.mod_revision)   # matches again
    await store.create(f"{PREFIX}a/two", cm("two", app="db"))                # never matches
    await store.delete(kv.key)
    got = [await asyncio.wait_for(watcher.next(), 5) for _ in range(3)]
    assert [(t, e.name) for t, e in got] == [("DELETED", "one"), ("ADDED", "one"),
                                             ("DELETED", "one")]
    watcher.stop()


async def test_initial_state_then_changes(env) -> None:  # type: ignore[no-untyped-def]
    store, cache = env
    await store.create(f"{PREFIX}a/old", cm("old"))
    await cache.wait_fresh()
    watcher = cache.watch(PREFIX, lambda e: True, None)
    await store.create(f"{PREFIX}a/new", cm("new"))
    got = [await asyncio.wait_for(watcher.next(), 5) for _ in range(2)]
    assert [(t, e.name) for t, e in got] == [("ADDED", "old"), ("ADDED", "new")]
    watcher.stop()


async def test_too_old_revision_is_gone(env, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    store, cache = env
    import collections

    cache._history = collections.deque(maxlen=5)
    kv = await store.create(f"{PREFIX}a/c", cm("c"))
    for _ in range(10):
        kv = await store.update(kv.key, cm("c"), kv.mod_revision)
    await cache.wait_fresh()
    with pytest.raises(errors.Gone) as gone:
        cache.watch(PREFIX, lambda e: True, 1)
    assert "too old resource version: 1" in str(gone.value)
    recent = cache.watch(PREFIX, lambda e: True, kv.mod_revision - 2)
    got = [await asyncio.wait_for(recent.next(), 5) for _ in range(2)]
    assert [e.rv for _, e in got] == [kv.mod_revision - 1, kv.mod_revision]
    recent.stop()


async def test_waiting_for_a_future_revision_times_out(env) -> None:  # type: ignore[no-untyped-def]
    _, cache = env
    with pytest.raises(errors.Timeout):
        await cache.wait_for_revision(cache.revision + 100, timeout=0.2)
