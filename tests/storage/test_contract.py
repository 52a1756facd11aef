"""The Store contract (protocol.py), run against every backend (see conftest)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from kubelite.storage import protocol
from tests.storage.conftest import Opener

CM = "/registry/core/configmaps/"


async def collect(it: AsyncIterator[protocol.Event], n: int) -> list[protocol.Event]:
    out: list[protocol.Event] = []
    async for ev in it:
        out.append(ev)
        if len(out) == n:
            break
    return out


async def test_create_get_update_delete_with_cas(store: protocol.Store) -> None:
    base = await store.current_revision()
    kv = await store.create(CM + "ns/a", b"v1")
    assert kv == protocol.KeyValue(CM + "ns/a", b"v1", base + 1, base + 1)
    with pytest.raises(protocol.KeyExists):
        await store.create(CM + "ns/a", b"again")
    assert await store.get(CM + "ns/a") == kv
    kv2 = await store.update(kv.key, b"v2", kv.mod_revision)
    assert kv2 == protocol.KeyValue(kv.key, b"v2", base + 1, base + 2)
    with pytest.raises(protocol.RevisionMismatch) as mismatch:
        await store.update(kv.key, b"stale", kv.mod_revision)
    assert mismatch.value.current == kv2
    with pytest.raises(protocol.RevisionMismatch):
        await store.delete(kv.key, kv.mod_revision)
    gone = await store.delete(kv.key, kv2.mod_revision)
    assert gone == protocol.KeyValue(kv.key, b"v2", base + 1, base + 3)
    assert await store.get(kv.key) is None
    assert await store.current_revision() == base + 3


@pytest.mark.parametrize("verb", ["update", "update-unguarded", "delete", "delete-unguarded"])
async def test_writes_to_a_missing_key_say_not_found(store: protocol.Store, verb: str) -> None:
    await store.create(CM + "ns/other", b"x")
    expected = 0 if verb.endswith("unguarded") else 1
    with pytest.raises(protocol.KeyNotFound):
        if verb.startswith("update"):
            await store.update(CM + "ns/missing", b"x", expected)
        else:
            await store.delete(CM + "ns/missing", expected)


async def test_unguarded_update_and_delete(store: protocol.Store) -> None:
    kv = await store.create(CM + "ns/u", b"1")
    kv2 = await store.update(kv.key, b"2", 0)
    assert kv2.value == b"2" and kv2.mod_revision > kv.mod_revision
    gone = await store.delete(kv.key)
    assert gone.value == b"2" and gone.mod_revision > kv2.mod_revision


async def test_recreate_after_delete_starts_a_new_life(store: protocol.Store) -> None:
    kv = await store.create(CM + "ns/r", b"1")
    await store.delete(kv.key)
    again = await store.create(kv.key, b"2")
    assert again.create_revision == again.mod_revision > kv.create_revision


async def test_concurrent_updates_with_one_revision_let_exactly_one_win(
        store: protocol.Store) -> None:
    kv = await store.create(CM + "ns/race", b"0")
    results = await asyncio.gather(
        *(store.update(kv.key, str(i).encode(), kv.mod_revision) for i in range(10)),
        return_exceptions=True)
    winners = [r for r in results if isinstance(r, protocol.KeyValue)]
    assert len(winners) == 1
    assert all(isinstance(r, protocol.RevisionMismatch) for r in results if r not in winners)
    assert await store.get(kv.key) == winners[0]


async def test_concurrent_creates_get_distinct_consecutive_revisions(
        store: protocol.Store) -> None:
    base = await store.current_revision()
    kvs = await asyncio.gather(*(store.create(f"{CM}ns/c{i}", b"x") for i in range(50)))
    assert sorted(kv.mod_revision for kv in kvs) == list(range(base + 1, base + 51))
    assert await store.current_revision() == base + 50


async def test_list_prefix_pagination_and_count(store: protocol.Store) -> None:
    for name in ("c", "a", "b"):
        await store.create(f"/registry/core/pods/ns1/{name}", name.encode())
    await store.create("/registry/core/pods/ns2/z", b"z")
    await store.create("/registry/core/podtemplates/ns1/t", b"t")     # a sibling prefix
    page = await store.list("/registry/core/pods/ns1/", limit=2)
    assert [kv.value for kv in page.items] == [b"a", b"b"] and page.more
    assert page.revision == await store.current_revision()
    rest = await store.list("/registry/core/pods/ns1/", start_after=page.items[-1].key, limit=2)
    assert [kv.value for kv in rest.items] == [b"c"] and not rest.more
    whole = await store.list("/registry/core/pods/")
    assert [kv.value for kv in whole.items] == [b"a", b"b", b"c", b"z"] and not whole.more
    assert await store.count("/registry/core/pods/") == 4
    assert await store.count("/registry/core/pods/ns1/") == 3
    assert await store.count("/registry/apps/") == 0


async def test_list_and_get_at_a_past_revision(store: protocol.Store) -> None:
    a = await store.create(CM + "ns/a", b"a1")
    await store.create(CM + "ns/b", b"b1")
    before = await store.current_revision()
    await store.update(a.key, b"a2", a.mod_revision)
    await store.delete(CM + "ns/b")
    await store.create(CM + "ns/c", b"c1")
    then = await store.list(CM, revision=before)
    assert [(kv.key, kv.value) for kv in then.items] == [(CM + "ns/a", b"a1"), (CM + "ns/b", b"b1")]
    assert then.revision == before
    page = await store.list(CM, revision=before, limit=1)
    assert [kv.value for kv in page.items] == [b"a1"] and page.more
    now = await store.list(CM)
    assert [kv.value for kv in now.items] == [b"a2", b"c1"]
    assert await store.get(a.key, revision=a.mod_revision) == a
    assert await store.get(CM + "ns/c", revision=before) is None


async def test_watch_replays_then_follows_concurrent_writers_without_gaps(
        store: protocol.Store) -> None:
    base = await store.current_revision()
    first = await store.create(CM + "ns/a", b"1")
    await store.update(first.key, b"2", first.mod_revision)
    await store.create("/registry/core/secrets/ns/s", b"not watched")
    total = 2 + 10 * 4 + 1
    task = asyncio.create_task(collect(store.watch(CM, base), total))

    async def writer(i: int) -> None:
        kv = await store.create(f"{CM}ns/w{i}", b"x")
        for n in range(3):
            kv = await store.update(kv.key, str(n).encode(), kv.mod_revision)

    await asyncio.gather(*(writer(i) for i in range(10)))
    await store.delete(first.key)
    events = await asyncio.wait_for(task, 10)
    revisions = [e.kv.mod_revision for e in events]
    skipped = base + 3                               # the secret, outside the prefix
    assert revisions == [r for r in range(base + 1, base + total + 2) if r != skipped]
    assert all(e.kv.key.startswith(CM) for e in events)
    assert events[0].type == "PUT" and events[0].created and events[0].prev is None
    assert not events[1].created and events[1].prev == first
    assert events[-1].type == "DELETE" and events[-1].kv.value == b"2"


async def test_watch_from_now_sees_only_later_changes(store: protocol.Store) -> None:
    old = await store.create(CM + "ns/old", b"old")
    watch = store.watch(CM, old.mod_revision)
    task = asyncio.create_task(collect(watch, 2))
    new = await store.create(CM + "ns/new", b"new")
    gone = await store.delete(old.key, old.mod_revision)
    put, delete = await asyncio.wait_for(task, 10)
    assert put == protocol.Event("PUT", new, None)
    assert delete.type == "DELETE" and delete.kv == gone and delete.prev == old


async def test_compaction_expires_old_revisions_but_keeps_current_state(
        store: protocol.Store) -> None:
    kv = await store.create(CM + "ns/c", b"0")
    old = kv.mod_revision
    for i in range(1, 5):
        kv = await store.update(kv.key, str(i).encode(), kv.mod_revision)
    d = await store.create(CM + "ns/d", b"d")
    await store.delete(d.key)
    mark = await store.create(CM + "ns/e", b"e")
    await store.compact(mark.mod_revision)
    assert await store.compacted_revision() == mark.mod_revision
    with pytest.raises(protocol.Compacted):
        await collect(store.watch(CM, old), 1)
    with pytest.raises(protocol.Compacted):
        await store.list(CM, revision=old)
    with pytest.raises(protocol.Compacted):
        await store.get(kv.key, revision=old)
    at_mark = await store.list(CM, revision=mark.mod_revision)
    assert [(x.key, x.value) for x in at_mark.items] == [(kv.key, b"4"), (mark.key, b"e")]
    assert await store.get(kv.key) == kv
    assert await store.get(d.key) is None
    task = asyncio.create_task(collect(store.watch(CM, mark.mod_revision), 1))
    later = await store.update(mark.key, b"e2", mark.mod_revision)
    (event,) = await asyncio.wait_for(task, 10)
    assert event.kv == later


async def test_restart_keeps_data_and_revisions(open_backend: Opener) -> None:
    first = open_backend()
    await first.start()
    kv = await first.create("/registry/core/namespaces/keep", b"me")
    await first.create("/registry/core/namespaces/gone", b"x")
    await first.delete("/registry/core/namespaces/gone")
    revision = await first.current_revision()
    await first.close()
    second = open_backend()
    await second.start()
    try:
        assert await second.get(kv.key) == kv
        assert await second.get("/registry/core/namespaces/gone") is None
        assert await second.current_revision() == revision
        nxt = await second.create("/registry/core/namespaces/next", b"")
        assert nxt.mod_revision == revision + 1
    finally:
        await second.close()


async def test_close_ends_watches(open_backend: Opener) -> None:
    s = open_backend()
    await s.start()
    kv = await s.create(CM + "ns/a", b"1")
    watch = s.watch(CM, kv.mod_revision - 1)
    assert (await anext(watch)).kv == kv
    pending = asyncio.create_task(anext(watch, None))
    await asyncio.sleep(0)        # let the watch wait for live events
    await s.close()
    assert await asyncio.wait_for(pending, 10) is None
