"""The embedded store: a revision log in one SQLite file, in the manner of k3s's kine.

One process owns the database. SQLite calls run directly on the event loop (each takes
microseconds), which also makes every compare-and-swap atomic without locks: writes go
through one writer connection in group-committed transactions (sqlite_commit), reads
through a second connection that sees only committed data (WAL snapshot). The database
runs in WAL mode with synchronous=NORMAL, so an acknowledged write survives kill -9.

Watches are fed in-process right after each commit (broadcast); a watch first
subscribes, then replays the log up to the revision committed at that moment, then
follows the live events, so there is neither a gap nor a duplicate. A watcher whose
buffer overflows ends with protocol.WatchOverflow.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sqlite3
from collections.abc import AsyncIterator, Callable
from typing import TypeVar

from kubelite.storage import broadcast, protocol, sqlite_checkpoint, sqlite_commit, sqlite_log

log = logging.getLogger(__name__)
NAME = "sqlite"
REPLAY_PAGE = 1000
COMPACT_CHUNK = 20_000      # ids per compaction transaction
_T = TypeVar("_T")


class SQLiteStore:
    """Store backed by one SQLite file; see the module docstring for the guarantees."""

    def __init__(self, path: str, *, compact_interval: float = 300.0,
                 compact_keep: int = 1000, watch_queue: int = broadcast.DEFAULT_QUEUE,
                 max_batch: int = 1000) -> None:
        """compact_interval (seconds; 0 = never) and compact_keep (revisions kept) drive
        the background compaction; watch_queue bounds each watcher's buffer."""
        self.path = path
        self._compact_interval = compact_interval
        self._compact_keep = compact_keep
        self._max_batch = max_batch
        self._bus = broadcast.Broadcaster(watch_queue)
        self._writer: sqlite3.Connection | None = None
        self._reader: sqlite3.Connection | None = None
        self._commits: sqlite_commit.GroupCommitter | None = None
        self._committed = 0      # newest committed (and published) revision
        self._tail = 0           # newest revision handed out, committed or not
        self._compacted = 0
        self._task: asyncio.Task[None] | None = None
        self._checkpoints: asyncio.Task[None] | None = None

    # -- lifecycle ------------------------------------------------------------------------

    async def start(self) -> None:
        os.makedirs(os.path.dirname(os.path.abspath(self.path)), mode=0o700, exist_ok=True)
        self._writer = sqlite_log.open_connection(self.path)
        sqlite_log.create_schema(self._writer)
        self._reader = sqlite_log.open_connection(self.path)
        for db in (self._writer, self._reader):
            sqlite_checkpoint.disable_auto(db)
        self._checkpoints = asyncio.create_task(sqlite_checkpoint.run(self.path),
                                                name="sqlite-checkpoint")
        self._committed, self._compacted = sqlite_log.read_revisions(self._writer)
        self._tail = self._committed
        self._commits = sqlite_commit.GroupCommitter(
            self._writer, publish=self._publish, on_rollback=self._forget_uncommitted,
            max_batch=self._max_batch)
        if self._compact_interval > 0:
            self._task = asyncio.create_task(self._compact_loop(), name="sqlite-compact")

    async def close(self) -> None:
        if self._checkpoints is not None:
            self._checkpoints.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._checkpoints
            self._checkpoints = None
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._commits is not None:
            self._commits.flush()
            self._commits = None
        self._bus.close()
        for db in (self._reader, self._writer):
            if db is not None:
                db.close()
        self._reader = self._writer = None

    def _open(self) -> tuple[sqlite3.Connection, sqlite3.Connection, sqlite_commit.GroupCommitter]:
        if self._writer is None or self._reader is None or self._commits is None:
            raise protocol.StoreError("store is not open")
        return self._writer, self._reader, self._commits

    def _publish(self, event: protocol.Event) -> None:
        self._committed = event.kv.mod_revision
        self._bus.publish(event)

    def _forget_uncommitted(self) -> None:
        self._tail = self._committed

    # -- reads ----------------------------------------------------------------------------

    async def current_revision(self) -> int:
        return self._committed

    async def compacted_revision(self) -> int:
        return self._compacted

    def _as_of(self, revision: int) -> int:
        if revision and revision < self._compacted:
            raise protocol.Compacted(revision, self._compacted)
        return revision or self._committed

    async def get(self, key: str, *, revision: int = 0) -> protocol.KeyValue | None:
        _, reader, _ = self._open()
        row = sqlite_log.latest(reader, key, self._as_of(revision))
        return None if row is None or row[3] else sqlite_log.to_kv(row)

    async def list(self, prefix: str, *, start_after: str = "", limit: int = 0,
                   revision: int = 0) -> protocol.ListResult:
        _, reader, _ = self._open()
        rev = self._as_of(revision)
        items = sqlite_log.list_live(reader, prefix, start_after=start_after,
                                     limit=limit + 1 if limit else -1, revision=rev)
        more = bool(limit) and len(items) > limit
        return protocol.ListResult(items[:limit] if more else items, rev, more)

    async def count(self, prefix: str) -> int:
        _, reader, _ = self._open()
        return sqlite_log.count_live(reader, prefix, self._committed)

    # -- writes ---------------------------------------------------------------------------

    def _next_revision(self) -> int:
        self._tail += 1
        return self._tail

    async def create(self, key: str, value: bytes) -> protocol.KeyValue:
        writer, _, commits = self._open()

        def op() -> protocol.Event:
            row = sqlite_log.latest(writer, key, self._tail)
            if row is not None and not row[3]:
                raise protocol.KeyExists(key)
            rev = self._next_revision()
            sqlite_log.insert(writer, (rev, key, 1, 0, rev, row[0] if row else 0, value))
            return protocol.Event("PUT", protocol.KeyValue(key, value, rev, rev))
        return await commits.run(op)

    def _current(self, db: sqlite3.Connection, key: str, expected: int) -> protocol.KeyValue:
        row = sqlite_log.latest(db, key, self._tail)
        if row is None or row[3]:
            raise protocol.KeyNotFound(key)
        current = sqlite_log.to_kv(row)
        if expected and current.mod_revision != expected:
            raise protocol.RevisionMismatch(current)
        return current

    async def update(self, key: str, value: bytes, expected_revision: int) -> protocol.KeyValue:
        writer, _, commits = self._open()

        def op() -> protocol.Event:
            prev = self._current(writer, key, expected_revision)
            rev = self._next_revision()
            sqlite_log.insert(writer, (rev, key, 0, 0, prev.create_revision, prev.mod_revision,
                                       value))
            return protocol.Event("PUT", protocol.KeyValue(key, value, prev.create_revision,
                                                           rev), prev)
        return await commits.run(op)

    async def delete(self, key: str, expected_revision: int = 0) -> protocol.KeyValue:
        writer, _, commits = self._open()

        def op() -> protocol.Event:
            prev = self._current(writer, key, expected_revision)
            rev = self._next_revision()
            sqlite_log.insert(writer, (rev, key, 0, 1, prev.create_revision, prev.mod_revision,
                                       prev.value))
            return protocol.Event("DELETE", protocol.KeyValue(key, prev.value,
                                                              prev.create_revision, rev), prev)
        return await commits.run(op)

    # -- watch ----------------------------------------------------------------------------

    async def watch(self, prefix: str, start_revision: int) -> AsyncIterator[protocol.Event]:
        if start_revision < self._compacted:
            raise protocol.Compacted(start_revision, self._compacted)
        sub = self._bus.subscribe(prefix)
        try:
            last = start_revision
            async for event in self._replay(prefix, start_revision, self._committed):
                last = event.kv.mod_revision
                yield event
            while (live := await sub.next()) is not None:
                if live.kv.mod_revision > last:
                    last = live.kv.mod_revision
                    yield live
            if sub.overflowed:
                raise protocol.WatchOverflow(last, self._compacted)
        finally:
            self._bus.unsubscribe(sub)

    async def _replay(self, prefix: str, after: int,
                      upto: int) -> AsyncIterator[protocol.Event]:
        """Logged events in (after, upto], a page at a time; a compaction between pages
        that removed rows this watcher has not seen yet ends it with Compacted."""
        while after < upto:
            if after < self._compacted:
                raise protocol.Compacted(after, self._compacted)
            _, reader, _ = self._open()
            page = sqlite_log.replay(reader, prefix, after, upto, REPLAY_PAGE)
            for event in page:
                yield event
            if len(page) < REPLAY_PAGE:
                return
            after = page[-1].kv.mod_revision

    # -- compaction -----------------------------------------------------------------------

    async def compact(self, revision: int) -> None:
        """Mark `revision` compacted at once (older reads fail from now on), then delete
        the rows it frees a chunk of ids at a time, letting other work run in between."""
        revision = min(revision, self._committed)
        if revision <= self._compacted:
            return
        self._transaction(lambda db: sqlite_log.mark_compacted(db, revision))
        self._compacted = revision
        removed = 0
        for low in range(0, revision, COMPACT_CHUNK):
            high = min(low + COMPACT_CHUNK, revision)
            removed += self._transaction(
                lambda db: sqlite_log.compact_range(db, revision, low, high))  # noqa: B023
            await asyncio.sleep(0)
        log.info("compacted revision=%d rows=%d", revision, removed)

    def _transaction(self, work: Callable[[sqlite3.Connection], _T]) -> _T:
        """Run work alone in a transaction of its own, after committing pending writes."""
        writer, _, commits = self._open()
        commits.flush()
        writer.execute("BEGIN IMMEDIATE")
        try:
            result = work(writer)
            writer.execute("COMMIT")
        except BaseException:
            writer.execute("ROLLBACK")
            raise
        return result

    async def _compact_loop(self) -> None:
        """Every interval, forget history older than the newest `compact_keep` revisions."""
        while True:
            await asyncio.sleep(self._compact_interval)
            target = self._committed - self._compact_keep
            if target > self._compacted:
                try:
                    await self.compact(target)
                except (sqlite3.Error, protocol.StoreError):
                    log.exception("compaction failed revision=%d", target)   # retried next tick

