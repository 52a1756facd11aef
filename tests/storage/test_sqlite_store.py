"""What only the SQLite backend promises: kill -9 durability, bounded watch buffers,
compaction that frees rows, background compaction, and the open_store factory."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from kubelite import storage
from kubelite.storage import protocol, sqlite

CM = "/registry/core/configmaps/"


@pytest.fixture
async def small_queue(tmp_path: Path) -> AsyncIterator[sqlite.SQLiteStore]:
    s = sqlite.SQLiteStore(str(tmp_path / "state.db"), compact_interval=0, watch_queue=5)
    await s.start()
    yield s
    await s.close()


async def test_a_watcher_that_falls_behind_ends_with_watch_overflow(
        small_queue: sqlite.SQLiteStore) -> None:
    first = await small_queue.create(CM + "ns/k0", b"v")
    slow = small_queue.watch(CM, 0)
    assert (await anext(slow)).kv == first            # subscribed, now not reading
    fast = small_queue.watch(CM, first.mod_revision)
    fast_events = asyncio.create_task(_take(fast, 10))
    for i in range(1, 11):
        await small_queue.create(f"{CM}ns/k{i}", b"v")
    assert [e.kv.key for e in await asyncio.wait_for(fast_events, 5)] == \
        [f"{CM}ns/k{i}" for i in range(1, 11)]          # a reading watcher is unaffected
    buffered = [await anext(slow) for _ in range(5)]
    assert [e.kv.mod_revision for e in buffered] == list(range(2, 7))
    with pytest.raises(protocol.WatchOverflow) as overflow:
        await anext(slow)
    assert isinstance(overflow.value, protocol.Compacted)     # the API server's 410 path
    assert overflow.value.requested == 6                      # relist, then resume from there


async def _take(it: AsyncIterator[protocol.Event], n: int) -> list[protocol.Event]:
    return [await anext(it) for _ in range(n)]


def _rows(path: str) -> int:
    with sqlite3.connect(path) as db:
        return int(db.execute("SELECT COUNT(*) FROM kine").fetchone()[0])


async def test_compaction_drops_superseded_and_deleted_rows(tmp_path: Path) -> None:
    path = str(tmp_path / "state.db")
    s = sqlite.SQLiteStore(path, compact_interval=0)
    await s.start()
    kv = await s.create(CM + "ns/live", b"0")
    for i in range(5):
        kv = await s.update(kv.key, str(i).encode(), kv.mod_revision)
    gone = await s.create(CM + "ns/gone", b"x")
    await s.delete(gone.key)
    assert _rows(path) == 8
    await s.compact(await s.current_revision())
    assert _rows(path) == 1                    # only the live key's newest row is left
    await s.close()
    again = sqlite.SQLiteStore(path, compact_interval=0)
    await again.start()
    assert await again.compacted_revision() == 8
    assert await again.get(kv.key) == kv
    await again.close()


async def test_background_compaction_keeps_the_newest_revisions(tmp_path: Path) -> None:
    s = sqlite.SQLiteStore(str(tmp_path / "state.db"), compact_interval=0.01, compact_keep=3)
    await s.start()
    kv = await s.create(CM + "ns/a", b"0")
    for i in range(9):
        kv = await s.update(kv.key, str(i).encode(), kv.mod_revision)
    async with asyncio.timeout(5):
        while await s.compacted_revision() == 0:
            await asyncio.sleep(0.01)
    assert await s.compacted_revision() == kv.mod_revision - 3
    await s.close()


WRITER = textwrap.dedent("""\
    import asyncio, sys
    from kubelite.storage import sqlite

    async def main():
        s = sqlite.SQLiteStore(sys.argv[1], compact_interval=0)
        await s.start()
        async def writer(w):
            i = w
            while True:
                await s.create(f"/registry/core/configmaps/ns/k{i}", b"v")
                print(i, flush=True)   # acknowledged
                i += 4
        await asyncio.gather(*(writer(w) for w in range(4)))

    asyncio.run(main())
    """)


def _write_until_killed(path: str, acks: int) -> set[int]:
    """Run WRITER on path, SIGKILL it once it acknowledged `acks` creates; the acked ids."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    proc = subprocess.Popen([sys.executable, "-c", WRITER, path], stdout=subprocess.PIPE,
                            text=True, env=env)
    assert proc.stdout is not None
    acked: set[int] = set()
    for line in proc.stdout:
        acked.add(int(line))
        if len(acked) >= acks:
            break
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    proc.stdout.close()
    return acked


async def test_acknowledged_writes_survive_kill_9(tmp_path: Path) -> None:
    path = str(tmp_path / "state.db")
    acked = _write_until_killed(path, 2000)
    assert len(acked) == 2000
    s = sqlite.SQLiteStore(path, compact_interval=0)
    await s.start()
    listed = await s.list(CM + "ns/")
    names = {kv.key.rsplit("/", 1)[1] for kv in listed.items}
    assert {f"k{i}" for i in acked} <= names
    assert await s.current_revision() >= len(acked)
    await s.close()


@pytest.mark.parametrize(("url", "where"), [
    ("sqlite", "{data}/db/state.db"),
    ("", "{data}/db/state.db"),
    ("sqlite://{data}/elsewhere.db", "{data}/elsewhere.db"),
], ids=["sqlite", "default", "sqlite-path"])
def test_open_store_sqlite(tmp_path: Path, url: str, where: str) -> None:
    store = storage.open_store(url.format(data=tmp_path), str(tmp_path))
    assert isinstance(store, sqlite.SQLiteStore)
    assert store.path == where.format(data=tmp_path)


@pytest.mark.parametrize("url", ["mysql://x", "sqlite://", "etcd://", "etcd://h:1/path"],
                         ids=["unknown", "sqlite-no-path", "etcd-no-host", "etcd-path"])
def test_open_store_rejects_bad_urls(tmp_path: Path, url: str) -> None:
    with pytest.raises(ValueError):
        storage.open_store(url, str(tmp_path))
