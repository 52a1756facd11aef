"""WAL checkpoints off the event loop.

In WAL mode with synchronous=NORMAL a commit only appends to the WAL (no fsync); the
fsyncs happen when the WAL is checkpointed into the database file. SQLite would do that
inside whichever commit crosses its threshold, stalling the event loop on the disk. We
turn automatic checkpoints off on the serving connections and checkpoint from a worker
thread on a connection of its own instead.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3

from kubelite.storage import sqlite_log

log = logging.getLogger(__name__)

INTERVAL = 1.0


def disable_auto(db: sqlite3.Connection) -> None:
    db.execute("PRAGMA wal_autocheckpoint=0")


async def run(path: str, interval: float = INTERVAL) -> None:
    """Checkpoint every `interval` seconds until cancelled."""
    db = sqlite_log.open_connection(path)
    disable_auto(db)
    try:
        while True:
            await asyncio.sleep(interval)
            try:
                await asyncio.to_thread(db.execute, "PRAGMA wal_checkpoint(PASSIVE)")
            except sqlite3.Error as e:
                log.warning("wal checkpoint failed: %s", e)
    finally:
        await asyncio.to_thread(db.close)
