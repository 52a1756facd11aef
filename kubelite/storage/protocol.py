"""The Store contract every backend (SQLite revision log, etcd v3) fulfils.

Keys are strings (`/registry/<group>/<plural>/<namespace>/<name>`), values are opaque
bytes. One global revision counts every change; an object's `mod_revision` is its
resourceVersion. Every write is compare-and-swap on that revision. A watch from revision
R delivers every later change under its prefix exactly once, in revision order, or
raises `Compacted` when R is older than the compacted history.

Only the API server uses a Store; every other component goes through the API.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Literal, Protocol


class StoreError(Exception):
    """Base of the storage errors; the API server maps each to a Status."""


class KeyExists(StoreError):
    """create() of a key that is present."""


class KeyNotFound(StoreError):
    """update()/delete() of a key that is absent."""


class RevisionMismatch(StoreError):
    """update()/delete() whose expected revision is not the key's current one."""

    def __init__(self, current: KeyValue) -> None:
        super().__init__(f"revision mismatch: current is {current.mod_revision}")
        self.current = current


class Compacted(StoreError):
    """A revision older than the oldest one kept (maps to 410 Gone)."""

    def __init__(self, requested: int, compacted: int) -> None:
        super().__init__(f"revision {requested} has been compacted (oldest kept {compacted})")
        self.requested = requested
        self.compacted = compacted


class WatchOverflow(Compacted):
    """A watcher fell so far behind that its bounded buffer overflowed; the watch ends.
    A Compacted (so 410 Gone): the consumer relists and watches again from the list's
    revision. `requested` is the last revision the watcher delivered."""


@dataclass(frozen=True, slots=True)
class KeyValue:
    key: str
    value: bytes
    create_revision: int
    mod_revision: int


@dataclass(frozen=True, slots=True)
class Event:
    """One change. For DELETE, `kv.value` is the last value and `kv.mod_revision` the
    revision of the deletion itself."""

    type: Literal["PUT", "DELETE"]
    kv: KeyValue
    prev: KeyValue | None = None

    @property
    def created(self) -> bool:
        return self.type == "PUT" and self.kv.create_revision == self.kv.mod_revision


@dataclass(frozen=True, slots=True)
class ListResult:
    items: list[KeyValue]
    revision: int          # the store revision the list reflects
    more: bool             # True when `limit` cut the list short


class Store(Protocol):
    async def start(self) -> None:
        """Open files/connections and start background work (compaction)."""

    async def close(self) -> None:
        """Stop background work, end all watches, release resources."""

    async def current_revision(self) -> int:
        """The newest revision (0 for an empty store)."""

    async def compacted_revision(self) -> int:
        """The oldest revision still readable; history before it is gone."""

    async def get(self, key: str, *, revision: int = 0) -> KeyValue | None:
        """The key's value at `revision` (0 = newest), or None if absent then."""

    async def list(self, prefix: str, *, start_after: str = "", limit: int = 0,
                   revision: int = 0) -> ListResult:
        """Live keys under `prefix` in key order, after `start_after`, at most `limit`
        (0 = all), as of `revision` (0 = newest; older than compacted raises Compacted)."""

    async def count(self, prefix: str) -> int:
        """Number of live keys under `prefix`."""

    async def create(self, key: str, value: bytes) -> KeyValue:
        """Insert a new key; raises KeyExists. Returns the stored entry."""

    async def update(self, key: str, value: bytes, expected_revision: int) -> KeyValue:
        """Replace the value if the key's mod_revision equals `expected_revision`;
        raises KeyNotFound or RevisionMismatch (carrying the current entry)."""

    async def delete(self, key: str, expected_revision: int = 0) -> KeyValue:
        """Delete the key (guarded by `expected_revision` unless 0); returns the deleted
        entry with mod_revision = the deletion's revision. Raises KeyNotFound/RevisionMismatch."""

    def watch(self, prefix: str, start_revision: int) -> AsyncIterator[Event]:
        """Every change under `prefix` with revision > start_revision, in order, forever
        (until the iterator is closed or the store closes). Raises Compacted before the
        first event when start_revision < compacted revision, and WatchOverflow (a
        Compacted) when the consumer falls too far behind."""

    async def compact(self, revision: int) -> None:
        """Forget history at and before `revision` (keeping each live key's newest row)."""
