"""Group commit: the writes of one event-loop turn share one SQLite transaction.

A write runs its compare-and-swap checks and its insert at once, on the loop, inside the
open transaction (BEGIN IMMEDIATE; one writer connection, so every check sees every
earlier write). Its caller then waits for the commit, which runs as the loop's next
callback (or at once when the batch is full). Only after COMMIT returns are the events
published, in revision order, and the callers answered: an acknowledged write is in the
WAL. Committing many writes at once is what makes concurrent writers fast.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Callable

from kubelite.storage import protocol

log = logging.getLogger(__name__)
Op = Callable[[], protocol.Event]


class GroupCommitter:
    """Runs write operations in shared transactions on one connection."""

    def __init__(self, db: sqlite3.Connection, *, publish: Callable[[protocol.Event], None],
                 on_rollback: Callable[[], None], max_batch: int = 1000) -> None:
        """`publish` gets each committed event in order; `on_rollback` undoes the caller's
        in-memory bookkeeping of the writes of a batch that could not commit."""
        self._db = db
        self._publish = publish
        self._on_rollback = on_rollback
        self._max_batch = max_batch
        self._open = False
        self._batch: list[tuple[asyncio.Future[protocol.KeyValue], protocol.Event]] = []

    async def run(self, op: Op) -> protocol.KeyValue:
        """Apply op in the current transaction and wait until it is committed; returns
        the event's entry. StoreErrors from op (failed checks) are raised at once; op
        wrote nothing then."""
        self._begin()
        try:
            event = op()
        except protocol.StoreError:
            raise
        except Exception:
            self._rollback()
            raise
        fut: asyncio.Future[protocol.KeyValue] = asyncio.get_running_loop().create_future()
        self._batch.append((fut, event))
        if len(self._batch) >= self._max_batch:
            self.flush()
        return await fut

    def _begin(self) -> None:
        if not self._open:
            self._db.execute("BEGIN IMMEDIATE")
            self._open = True
            asyncio.get_running_loop().call_soon(self.flush)

    def flush(self) -> None:
        """Commit the open transaction (if any), then publish and answer its writes."""
        if not self._open:
            return
        try:
            self._db.execute("COMMIT")
        except sqlite3.Error as e:
            log.error("commit failed batch=%d error=%s", len(self._batch), e)
            self._rollback(e)
            return
        self._open = False
        batch, self._batch = self._batch, []
        for fut, event in batch:
            self._publish(event)
            if not fut.done():
                fut.set_result(event.kv)

    def _rollback(self, cause: Exception | None = None) -> None:
        if self._db.in_transaction:
            self._db.execute("ROLLBACK")
        self._open = False
        batch, self._batch = self._batch, []
        self._on_rollback()
        for fut, _event in batch:
            if not fut.done():
                fut.set_exception(protocol.StoreError(f"write not committed: {cause}"))
