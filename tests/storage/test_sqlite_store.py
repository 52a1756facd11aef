"""The Store contract against the real SQLite backend."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
from typing import AsyncIterator

import pytest

from kubelite.storage import protocol, sqlite


@pytest.fixture
async def store(tmp_path) -> AsyncIterator[sqlite.SQLiteStore]:  # type: ignore[no-untyped-def]
    s = sqlite.SQLiteStore(str(tmp_path / "state.db"), compact_interval=0)
    await s.start()
    yield s
    await s.close()


async def test_create_get_update_delete(store: sqlite.SQLiteStore) -> None:
    kv = await store.create("/registry/core/configmaps/ns/a", b"v1")
    assert kv.create_revision == kv.mod_revision == 1
    with pytest.raises(protocol.KeyExists):
        await store.create("/registry/core/configmaps/ns/a", b"again")
    got = await store.get("/registry/core/configmaps/ns/a")
    assert got == kv
    kv2 = await store.update(kv.key, b"v2", kv.mod_revision)
    assert (kv2.create_revision, kv2.mod_revision, kv2.value) == (1, 2, b"v2")
    with pytest.raises(protocol.RevisionMismatch) as mismatch:
        await store.update(kv.key, b"stale", kv.mod_revision)
    assert mismatch.value.current.mod_revision == 2
    gone = await store.delete(kv.key, 2)
    assert gone.mod_revision == 3 and gone.value == b"v2"
    assert await store.get(kv.key) is None
    with pytest.raises(protocol.KeyNotFound):
        await store.update(kv.key, b"x", 0)
    assert await store.get(kv.key, revision=2) == kv2        # history is readable
    assert await store.current_revision() == 3


async def test_list_prefix_pagination_and_history(store: sqlite.SQLiteStore) -> None:
    for name in ("c", "a", "b"):
        await store.create(f"/registry/core/pods/ns1/{name}", name.encode())
    await store.create("/registry/core/pods/ns2/z", b"z")
    await store.create("/registry/core/podtemplates/ns1/t", b"t")     # not under the prefix
    page = await store.list("/registry/core/pods/ns1/", limit=2)
    assert [kv.key.rsplit("/", 1)[1] for kv in page.items] == ["a", "b"] and page.more
    rest = await store.list("/registry/core/pods/ns1/", start_after=page.items[-1].key, limit=2)
    assert [kv.value for kv in rest.items] == [b"c"] and not rest.more
    assert await store.count("/registry/core/pods/") == 4
    before = await store.current_revision()
    await store.delete("/registry/core/pods/ns1/a")
    now = await store.list("/registry/core/pods/ns1/")
    then = await store.list("/registry/core/pods/ns1/", revision=before)
    assert len(now.items) == 2 and len(then.items) == 3


async def _collect(it: AsyncIterator[protocol.Event], n: int) -> list[protocol.Event]:
    out = []
    async for ev in it:
        out.append(ev)
        if len(out) == n:
            break
    return out


async def test_watch_replays_then_follows_without_gaps(store: sqlite.SQLiteStore) -> None:
    a = await store.create("/registry/core/configmaps/ns/a", b"1")
    await store.update(a.key, b"2", a.mod_revision)
    watch = store.watch("/registry/core/configmaps/", 0)
    task = asyncio.create_task(_collect(watch, 40))
    await asyncio.sleep(0)   # let the watch subscribe before concurrent writers start

    async def writer(i: int) -> None:
        kv = await store.create(f"/registry/core/configmaps/ns/w{i}", b"x")
        for _ in range(3):
            kv = await store.update(kv.key, b"y", kv.mod_revision)
    await asyncio.gather(*(writer(i) for i in range(10)))
    await store.delete(a.key)
    events = await asyncio.wait_for(task, 5)
    revisions = [e.kv.mod_revision for e in events]
    assert revisions == sorted(set(revisions))                  # in order, no duplicates
    assert revisions == list(range(1, 41))                       # no gaps
    assert events[0].type == "PUT" and events[0].created
    assert events[1].prev is not None and events[1].prev.value == b"1"


async def test_delete_event_carries_last_value(store: sqlite.SQLiteStore) -> None:
    kv = await store.create("/registry/core/secrets/ns/s", b"secret")
    watch = store.watch("/registry/core/secrets/", kv.mod_revision)
    task = asyncio.create_task(_collect(watch, 1))
    await asyncio.sleep(0)
    await store.delete(kv.key)
    (event,) = await asyncio.wait_for(task, 5)
    assert event.type == "DELETE" and event.kv.value == b"secret"
    assert event.prev is not None and event.prev.mod_revision == kv.mod_revision


async def test_compaction_expires_old_watches_and_lists(store: sqlite.SQLiteStore) -> None:
    kv = await store.create("/registry/core/configmaps/ns/c", b"0")
    for i in range(5):
        kv = await store.update(kv.key, str(i).encode(), kv.mod_revision)
    await store.create("/registry/core/configmaps/ns/d", b"d")
    await store.delete("/registry/core/configmaps/ns/d")
    await store.compact(kv.mod_revision)
    assert await store.compacted_revision() == kv.mod_revision
    with pytest.raises(protocol.Compacted):
        await _collect(store.watch("/registry/core/configmaps/", 2), 1)
    with pytest.raises(protocol.Compacted):
        await store.list("/registry/core/configmaps/", revision=2)
    assert (await store.get(kv.key)).value == b"4"          # type: ignore[union-attr]
    assert await store.get("/registry/core/configmaps/ns/d") is None


async def test_restart_keeps_data(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = str(tmp_path / "state.db")
    s = sqlite.SQLiteStore(path, compact_interval=0)
    await s.start()
    await s.create("/registry/core/namespaces/keep", b"me")
    await s.close()
    s2 = sqlite.SQLiteStore(path, compact_interval=0)
    await s2.start()
    assert (await s2.get("/registry/core/namespaces/keep")).value == b"me"  # type: ignore[union-attr]
    nxt = await s2.create("/registry/core/namespaces/next", b"")
    assert nxt.mod_revision == 2
    await s2.close()


WRITER = textwrap.dedent("""\
    import asyncio, sys
    from kubelite.storage import sqlite

    async def main():
        s = sqlite.SQLiteStore(sys.argv[1], compact_interval=0)
        await s.start()
        i = 0
        while True:
            await s.create(f"/registry/core/configmaps/ns/k{i}", b"v")
            print(i, flush=True)   # acknowledged
            i += 1

    asyncio.run(main())
    """)


async def test_acknowledged_writes_survive_kill_9(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = str(tmp_path / "state.db")
    proc = subprocess.Popen([sys.executable, "-c", WRITER, path], stdout=subprocess.PIPE,
                            text=True, env=dict(os.environ, PYTHONPATH=os.getcwd()))
    assert proc.stdout is not None
    acked = -1
    for line in proc.stdout:
        acked = int(line)
        if acked >= 300:
            break
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    proc.stdout.close()
    s = sqlite.SQLiteStore(path, compact_interval=0)
    await s.start()
    listed = await s.list("/registry/core/configmaps/ns/")
    names = {kv.key.rsplit("/", 1)[1] for kv in listed.items}
    assert {f"k{i}" for i in range(acked + 1)} <= names
    await s.close()
