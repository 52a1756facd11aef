"""The embedded store: a revision log in SQLite, in the manner of k3s's kine.

Every change is one row; the row id is the revision. A key's value is its newest row
unless that row records a deletion. The database runs in WAL mode with
synchronous=NORMAL: a committed transaction is in the WAL file before the call returns,
so an acknowledged write survives `kill -9` of the process.

One process owns the database. Calls run directly on the event loop (each is tens of
microseconds), which also makes every compare-and-swap atomic without locks. Watches are
fed in-process right after each commit; replay from the log covers the gap between a
watch's start revision and the moment it subscribed.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sqlite3
from typing import AsyncIterator

from kubelite.storage import protocol
from kubelite.storage.protocol import Event, KeyValue, ListResult

log = logging.getLogger(__name__)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS kine (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    created INTEGER NOT NULL,
    deleted INTEGER NOT NULL,
    create_revision INTEGER NOT NULL,
    prev_revision INTEGER NOT NULL,
    value BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS kine_name_id ON kine (name, id);
CREATE TABLE IF NOT EXISTS kine_meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
"""
_COLUMNS = "id, name, created, deleted, create_revision, prev_revision, value"
WATCH_QUEUE = 100_000


def _prefix_end(prefix: str) -> str:
    return prefix[:-1] + chr(ord(prefix[-1]) + 1) if prefix else "\U0010ffff"


def _kv(row: tuple) -> KeyValue:  # type: ignore[type-arg]
    rid, name, _created, _deleted, create_rev, _prev, value = row
    return KeyValue(name, bytes(value), create_rev, rid)


class WatchOverflow(protocol.Compacted):
    """A watcher fell too far behind; it must relist (the API server answers 410)."""


class _Subscriber:
    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.queue: asyncio.Queue[Event | None] = asyncio.Queue()
        self.overflow = False

    def offer(self, event: Event) -> None:
        if self.overflow:
            return
        if self.queue.qsize() >= WATCH_QUEUE:
            self.overflow = True
            self.queue.put_nowait(None)
            return
        self.queue.put_nowait(event)


class SQLiteStore:
    """Store backed by one SQLite file."""

    def __init__(self, path: str, *, compact_interval: float = 300.0,
                 compact_keep: int = 1000) -> None:
        self.path = path
        self._compact_interval = compact_interval
        self._compact_keep = compact_keep
        self._db: sqlite3.Connection | None = None
        self._subs: set[_Subscriber] = set()
        self._compacted = 0
        self._revision = 0
        self._task: asyncio.Task[None] | None = None

    # -- lifecycle ------------------------------------------------------------------------

    async def start(self) -> None:
        os.makedirs(os.path.dirname(os.path.abspath(self.path)), mode=0o700, exist_ok=True)
        db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        db.execute("PRAGMA busy_timeout=5000")
        db.executescript(_SCHEMA)
        self._db = db
        row = db.execute("SELECT value FROM kine_meta WHERE key='compact_rev'").fetchone()
        self._compacted = int(row[0]) if row else 0
        row = db.execute("SELECT seq FROM sqlite_sequence WHERE name='kine'").fetchone()
        self._revision = int(row[0]) if row else 0
        if self._compact_interval > 0:
            self._task = asyncio.create_task(self._compact_loop(), name="sqlite-compact")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
        for sub in list(self._subs):
            sub.queue.put_nowait(None)
        self._subs.clear()
        if self._db is not None:
            self._db.close()
            self._db = None

    @property
    def db(self) -> sqlite3.Connection:
        if self._db is None:
            raise protocol.StoreError("store is not open")
        return self._db

    # -- reads ----------------------------------------------------------------------------

    async def current_revision(self) -> int:
        return self._revision

    async def compacted_revision(self) -> int:
        return self._compacted

    def _check_revision(self, revision: int) -> None:
        if revision and revision < self._compacted:
            raise protocol.Compacted(revision, self._compacted)

    def _latest(self, key: str, revision: int = 0) -> tuple | None:  # type: ignore[type-arg]
        if revision:
            return self.db.execute(  # type: ignore[no-any-return]
                f"SELECT {_COLUMNS} FROM kine WHERE name=? AND id<=? ORDER BY id DESC LIMIT 1",
                (key, revision)).fetchone()
        return self.db.execute(  # type: ignore[no-any-return]
            f"SELECT {_COLUMNS} FROM kine WHERE name=? ORDER BY id DESC LIMIT 1",
            (key,)).fetchone()

    async def get(self, key: str, *, revision: int = 0) -> KeyValue | None:
        self._check_revision(revision)
        row = self._latest(key, revision)
        return None if row is None or row[3] else _kv(row)

    async def list(self, prefix: str, *, start_after: str = "", limit: int = 0,
                   revision: int = 0) -> ListResult:
        self._check_revision(revision)
        rev = revision or self._revision
        sql = (f"SELECT {_COLUMNS} FROM kine WHERE id IN ("
               f"SELECT MAX(id) FROM kine WHERE name >= ? AND name < ? AND name > ? AND id <= ? "
               f"GROUP BY name) AND deleted = 0 ORDER BY name")
        args: list[object] = [prefix, _prefix_end(prefix), start_after, rev]
        if limit:
            sql += " LIMIT ?"
            args.append(limit + 1)
        rows = self.db.execute(sql, args).fetchall()
        more = bool(limit) and len(rows) > limit
        return ListResult([_kv(r) for r in (rows[:limit] if limit else rows)], rev, more)

    async def count(self, prefix: str) -> int:
        row = self.db.execute(
            "SELECT COUNT(*) FROM kine WHERE id IN (SELECT MAX(id) FROM kine WHERE name >= ? "
            "AND name < ? GROUP BY name) AND deleted = 0", (prefix, _prefix_end(prefix))).fetchone()
        return int(row[0])

    # -- writes ---------------------------------------------------------------------------

    def _append(self, key: str, *, created: bool, deleted: bool, create_rev: int,
                prev_rev: int, value: bytes) -> int:
        cur = self.db.execute(
            "INSERT INTO kine (name, created, deleted, create_revision, prev_revision, value) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (key, int(created), int(deleted), create_rev, prev_rev, value))
        rid = cur.lastrowid
        assert rid is not None
        if created:
            self.db.execute("UPDATE kine SET create_revision=? WHERE id=?", (rid, rid))
        return rid

    def _publish(self, event: Event) -> None:
        self._revision = event.kv.mod_revision
        for sub in list(self._subs):
            if event.kv.key.startswith(sub.prefix):
                sub.offer(event)

    async def create(self, key: str, value: bytes) -> KeyValue:
        db = self.db
        db.execute("BEGIN IMMEDIATE")
        try:
            row = self._latest(key)
            if row is not None and not row[3]:
                raise protocol.KeyExists(key)
            rid = self._append(key, created=True, deleted=False, create_rev=0,
                               prev_rev=row[0] if row else 0, value=value)
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        kv = KeyValue(key, value, rid, rid)
        self._publish(Event("PUT", kv))
        return kv

    def _current_for_write(self, key: str, expected: int) -> KeyValue:
        row = self._latest(key)
        if row is None or row[3]:
            raise protocol.KeyNotFound(key)
        current = _kv(row)
        if expected and current.mod_revision != expected:
            raise protocol.RevisionMismatch(current)
        return current

    async def update(self, key: str, value: bytes, expected_revision: int) -> KeyValue:
        db = self.db
        db.execute("BEGIN IMMEDIATE")
        try:
            prev = self._current_for_write(key, expected_revision)
            rid = self._append(key, created=False, deleted=False,
                               create_rev=prev.create_revision, prev_rev=prev.mod_revision,
                               value=value)
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        kv = KeyValue(key, value, prev.create_revision, rid)
        self._publish(Event("PUT", kv, prev))
        return kv

    async def delete(self, key: str, expected_revision: int = 0) -> KeyValue:
        db = self.db
        db.execute("BEGIN IMMEDIATE")
        try:
            prev = self._current_for_write(key, expected_revision)
            rid = self._append(key, created=False, deleted=True, create_rev=prev.create_revision,
                               prev_rev=prev.mod_revision, value=prev.value)
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        kv = KeyValue(key, prev.value, prev.create_revision, rid)
        self._publish(Event("DELETE", kv, prev))
        return kv

    # -- watch ----------------------------------------------------------------------------

    def _replay(self, prefix: str, after: int) -> list[Event]:
        rows = self.db.execute(
            f"SELECT {_COLUMNS} FROM kine WHERE id > ? AND name >= ? AND name < ? ORDER BY id",
            (after, prefix, _prefix_end(prefix))).fetchall()
        out = []
        for row in rows:
            kv = _kv(row)
            prev_row = self.db.execute(f"SELECT {_COLUMNS} FROM kine WHERE id=?",
                                       (row[5],)).fetchone() if row[5] else None
            prev = _kv(prev_row) if prev_row is not None and not prev_row[3] else None
            if row[3]:
                out.append(Event("DELETE", kv, prev))
            else:
                out.append(Event("PUT", kv, prev))
        return out

    async def watch(self, prefix: str, start_revision: int) -> AsyncIterator[Event]:
        if start_revision < self._compacted:
            raise protocol.Compacted(start_revision, self._compacted)
        sub = _Subscriber(prefix)
        self._subs.add(sub)
        try:
            last = start_revision
            for event in self._replay(prefix, start_revision):
                last = event.kv.mod_revision
                yield event
            while True:
                event = await sub.queue.get()
                if event is None:
                    if sub.overflow:
                        raise WatchOverflow(last, self._compacted)
                    return
                if event.kv.mod_revision <= last:
                    continue
                last = event.kv.mod_revision
                yield event
        finally:
            self._subs.discard(sub)

    # -- compaction -----------------------------------------------------------------------

    async def compact(self, revision: int) -> None:
        if revision <= self._compacted:
            return
        db = self.db
        db.execute("BEGIN IMMEDIATE")
        try:
            db.execute(
                "DELETE FROM kine WHERE id <= ? AND (deleted = 1 OR id NOT IN "
                "(SELECT MAX(id) FROM kine WHERE id <= ? GROUP BY name))", (revision, revision))
            db.execute("INSERT OR REPLACE INTO kine_meta (key, value) VALUES ('compact_rev', ?)",
                       (revision,))
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        self._compacted = revision

    async def _compact_loop(self) -> None:
        """Every interval, forget history older than what the previous tick had seen."""
        previous = self._revision
        while True:
            await asyncio.sleep(self._compact_interval)
            target = min(previous, self._revision - self._compact_keep)
            if target > self._compacted:
                await self.compact(target)
                log.info("compacted store revision=%d", target)
            previous = self._revision
