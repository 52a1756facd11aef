"""The SQLite revision log: schema and the statements the store runs on it.

Every change is one row of table `kine`; the row id is the revision. A key's value as of
revision R is its newest row with id <= R, unless that row records a deletion. Rows keep
`prev_revision` (the key's previous row) so watch replay can report the previous entry.
Compaction at R drops every row at or before R that a newer row (<= R) supersedes, and
the rows of keys whose newest row at or before R is a deletion; R goes into `kine_meta`.

These functions are synchronous and take the connection; the caller owns transactions.
"""

from __future__ import annotations

import sqlite3

from kubelite.storage import protocol

SCHEMA = """
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
COLUMNS = "id, name, created, deleted, create_revision, prev_revision, value"
Row = tuple[int, str, int, int, int, int, bytes]

_LATEST = f"SELECT {COLUMNS} FROM kine WHERE name = ? AND id <= ? ORDER BY id DESC LIMIT 1"
_INSERT = f"INSERT INTO kine ({COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)"
_LIVE_UNDER = ("SELECT MAX(id) FROM kine WHERE name >= ? AND name < ? AND name > ? AND id <= ? "
               "GROUP BY name")
_LIST_ALL = (f"SELECT {COLUMNS} FROM kine WHERE id IN ({_LIVE_UNDER}) AND deleted = 0 "
             "ORDER BY name LIMIT ?")
# A page walks the name index in order and stops after `limit` keys instead of grouping
# the whole prefix first: milliseconds instead of a scan of every row under the prefix.
_LIST_PAGE = (f"SELECT {COLUMNS} FROM kine k WHERE name >= ? AND name < ? AND name > ? "
              "AND id = (SELECT MAX(m.id) FROM kine m WHERE m.name = k.name AND m.id <= ?) "
              "AND deleted = 0 ORDER BY name LIMIT ?")
_COUNT = f"SELECT COUNT(*) FROM kine WHERE id IN ({_LIVE_UNDER}) AND deleted = 0"
# The id range drives the replay (history is short after compaction); `+` keeps the
# planner off the name index, which would scan a whole prefix.
_REPLAY = ("SELECT k.id, k.name, k.created, k.deleted, k.create_revision, k.prev_revision, "
           "k.value, p.id, p.deleted, p.create_revision, p.value FROM kine k "
           "LEFT JOIN kine p ON p.id = k.prev_revision "
           "WHERE k.id > ? AND k.id <= ? AND +k.name >= ? AND +k.name < ? ORDER BY k.id LIMIT ?")
_COMPACT = ("DELETE FROM kine WHERE id > ?2 AND id <= ?3 AND (deleted = 1 OR EXISTS ("
            "SELECT 1 FROM kine n WHERE n.name = kine.name AND n.id > kine.id AND n.id <= ?1))")
MAX_KEY = "\U0010ffff"


def open_connection(path: str) -> sqlite3.Connection:
    """A connection in autocommit mode (we issue BEGIN/COMMIT), WAL, synchronous=NORMAL:
    a commit is written to the WAL before it returns, so it survives kill -9."""
    db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute("PRAGMA busy_timeout=5000")
    return db


def create_schema(db: sqlite3.Connection) -> None:
    db.executescript(SCHEMA)


def read_revisions(db: sqlite3.Connection) -> tuple[int, int]:
    """(current revision, compacted revision) as stored."""
    row = db.execute("SELECT seq FROM sqlite_sequence WHERE name = 'kine'").fetchone()
    current = int(row[0]) if row else 0
    row = db.execute("SELECT value FROM kine_meta WHERE key = 'compact_rev'").fetchone()
    return current, int(row[0]) if row else 0


def prefix_end(prefix: str) -> str:
    """The smallest string greater than every string that starts with `prefix`."""
    if not prefix:
        return MAX_KEY
    return prefix[:-1] + chr(ord(prefix[-1]) + 1)


def to_kv(row: Row) -> protocol.KeyValue:
    return protocol.KeyValue(row[1], bytes(row[6]), row[4], row[0])


def latest(db: sqlite3.Connection, key: str, revision: int) -> Row | None:
    """The key's newest row with id <= revision, deletion rows included."""
    rows = db.execute(_LATEST, (key, revision)).fetchall()   # run to the end: no open read
    return rows[0] if rows else None


def insert(db: sqlite3.Connection, row: Row) -> None:
    db.execute(_INSERT, row)


def list_live(db: sqlite3.Connection, prefix: str, *, start_after: str, limit: int,
              revision: int) -> list[protocol.KeyValue]:
    """Live entries under prefix as of revision, in key order; limit < 0 means all."""
    sql = _LIST_ALL if limit < 0 else _LIST_PAGE
    rows = db.execute(sql, (prefix, prefix_end(prefix), start_after, revision, limit))
    return [to_kv(r) for r in rows.fetchall()]


def count_live(db: sqlite3.Connection, prefix: str, revision: int) -> int:
    row = db.execute(_COUNT, (prefix, prefix_end(prefix), "", revision)).fetchone()
    return int(row[0])


def replay(db: sqlite3.Connection, prefix: str, after: int, upto: int,
           limit: int) -> list[protocol.Event]:
    """Events under prefix with after < revision <= upto, oldest first, at most limit."""
    rows = db.execute(_REPLAY, (after, upto, prefix, prefix_end(prefix), limit)).fetchall()
    return [_event(r) for r in rows]


def _event(r: tuple) -> protocol.Event:  # type: ignore[type-arg]
    rid, name, created, deleted, create_rev, _prev_rev, value, pid, pdel, pcreate, pvalue = r
    kv = protocol.KeyValue(name, bytes(value), create_rev, rid)
    prev = None
    if pid is not None and not pdel and not created:
        prev = protocol.KeyValue(name, bytes(pvalue), pcreate, pid)
    return protocol.Event("DELETE" if deleted else "PUT", kv, prev)


def mark_compacted(db: sqlite3.Connection, revision: int) -> None:
    db.execute("INSERT OR REPLACE INTO kine_meta (key, value) VALUES ('compact_rev', ?)",
               (revision,))


def compact_range(db: sqlite3.Connection, revision: int, low: int, high: int) -> int:
    """Drop the rows with low < id <= high that compaction at revision makes unreadable
    (high <= revision); returns how many went."""
    return db.execute(_COMPACT, (revision, low, high)).rowcount
