"""The in-memory watch cache: current objects and recent history, fed by one store watch.

Lists and watches are served from here, never from the store on every request. Each
object is kept as its encoded JSON (with resourceVersion set) so a list or a watch event
is assembled by concatenating bytes; labels and selectable fields are kept beside it for
filtering. All mutation happens on the event loop, so a watcher registered in the same
synchronous step as a history snapshot can never miss or duplicate an event.
"""

from __future__ import annotations

import asyncio
import bisect
import collections
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import orjson

from kubelite.api import errors
from kubelite.storage import protocol

log = logging.getLogger(__name__)

HISTORY = 20000          # events kept for watches that resume from a resourceVersion
WATCHER_BUFFER = 10000   # events a slow watcher may lag before it is told to relist


@dataclass(slots=True)
class Entry:
    """One object as cached: its bytes plus what selectors look at."""

    key: str
    namespace: str
    name: str
    rv: int
    raw: bytes
    labels: dict[str, str]
    fields: dict[str, str]

    def decode(self) -> dict[str, Any]:
        obj: dict[str, Any] = orjson.loads(self.raw)
        return obj


@dataclass(slots=True)
class Change:
    rv: int
    prefix: str
    type: str             # "ADDED" | "MODIFIED" | "DELETED"
    entry: Entry
    prev: Entry | None


FieldsFn = Callable[[dict[str, Any]], dict[str, str]]


def _prefix_of(key: str) -> str:
    """`/registry/<group>/<plural>/` of a key."""
    parts = key.split("/", 4)
    return "/".join(parts[:4]) + "/"


def make_entry(key: str, value: bytes, rv: int, fields_fn: FieldsFn | None) -> Entry:
    obj = orjson.loads(value)
    meta = obj.setdefault("metadata", {})
    meta["resourceVersion"] = str(rv)
    # orjson returns its growth buffer (kilobytes for a small object): keep an exact copy.
    raw = bytes(memoryview(orjson.dumps(obj)))
    return Entry(
        key=key, namespace=meta.get("namespace", ""), name=meta.get("name", ""), rv=rv,
        raw=raw, labels=meta.get("labels") or {},
        fields=fields_fn(obj) if fields_fn else {},
    )


@dataclass
class Bucket:
    """The objects of one resource (one store prefix)."""

    prefix: str
    entries: dict[str, Entry] = field(default_factory=dict)
    _sorted: list[str] | None = None
    watchers: set[Watcher] = field(default_factory=set)

    def sorted_keys(self) -> list[str]:
        if self._sorted is None:
            self._sorted = sorted(self.entries)
        return self._sorted

    def put(self, entry: Entry) -> Entry | None:
        prev = self.entries.get(entry.key)
        if prev is None:
            self._sorted = None
        self.entries[entry.key] = entry
        return prev

    def remove(self, key: str) -> Entry | None:
        prev = self.entries.pop(key, None)
        if prev is not None:
            self._sorted = None
        return prev

    def scan(self, namespace: str = "", start_after: str = "") -> list[Entry]:
        """Entries in key order, within a namespace, strictly after a key."""
        keys = self.sorted_keys()
        lo_key = self.prefix + namespace + "/" if namespace else self.prefix
        lo = bisect.bisect_left(keys, max(lo_key, start_after))
        if start_after and lo < len(keys) and keys[lo] == start_after:
            lo += 1
        hi = bisect.bisect_left(keys, lo_key[:-1] + "0") if namespace else len(keys)
        entries = self.entries
        return [entries[k] for k in keys[lo:hi]]


Predicate = Callable[[Entry], bool]


class Watcher:
    """One watch stream's queue of changes, filtered by its predicate."""

    def __init__(self, cache: Cache, bucket: Bucket, predicate: Predicate) -> None:
        self._cache = cache
        self._bucket = bucket
        self.predicate = predicate
        self.queue: asyncio.Queue[tuple[str, Entry] | None] = asyncio.Queue()
        self.overflowed = False

    def offer(self, change: Change) -> None:
        """Translate a change through the predicate (labels may start/stop matching)."""
        now = self.predicate(change.entry)
        before = change.prev is not None and self.predicate(change.prev)
        if change.type == "DELETED":
            kind = "DELETED" if before or now else ""
        elif now:
            kind = "MODIFIED" if before else "ADDED"
        else:
            kind = "DELETED" if before else ""
        if kind:
            self._put((kind, change.entry))

    def _put(self, item: tuple[str, Entry]) -> None:
        if self.queue.qsize() >= WATCHER_BUFFER:
            self.overflowed = True
            self.stop()
            return
        self.queue.put_nowait(item)

    def stop(self) -> None:
        self._bucket.watchers.discard(self)
        self.queue.put_nowait(None)

    def drain(self, limit: int) -> Iterator[tuple[str, Entry] | None]:
        """Up to `limit` events that are already queued, without waiting, taken one at a
        time: a caller that stops early leaves the rest queued. A None means the watch
        ended (and stays ended for next())."""
        for _ in range(limit):
            if self.queue.empty():
                return
            item = self.queue.get_nowait()
            if item is None:
                self.queue.put_nowait(None)
                yield None
                return
            yield item

    async def next(self) -> tuple[str, Entry] | None:
        """The next event; None when the watch ended. Safe to cancel (queue.get is)."""
        item = await self.queue.get()
        if item is None:
            self.queue.put_nowait(None)  # stay ended for any later call
            if self.overflowed:
                raise errors.Gone("watch fell behind; relist and watch again")
        return item


class Cache:
    """Every resource's current objects plus a bounded history of changes."""

    def __init__(self, store: protocol.Store) -> None:
        self._store = store
        self._buckets: dict[str, Bucket] = {}
        self._fields: dict[str, FieldsFn] = {}
        self._history: collections.deque[Change] = collections.deque(maxlen=HISTORY)
        self.revision = 0
        self._oldest = 0             # history covers every change after this revision
        self._advanced = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def set_fields_fn(self, prefix: str, fn: FieldsFn) -> None:
        """Register how to extract selectable fields for objects under a prefix."""
        self._fields[prefix] = fn

    def bucket(self, prefix: str) -> Bucket:
        b = self._buckets.get(prefix)
        if b is None:
            b = self._buckets[prefix] = Bucket(prefix)
        return b

    async def start(self) -> None:
        """Load everything, then follow the store's changes in a background task."""
        listed = await self._store.list("/registry/")
        for kv in listed.items:
            prefix = _prefix_of(kv.key)
            self.bucket(prefix).put(make_entry(kv.key, kv.value, kv.mod_revision,
                                               self._fields.get(prefix)))
        self.revision = self._oldest = listed.revision
        self._task = asyncio.create_task(self._follow(listed.revision), name="watchcache")

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
        for b in self._buckets.values():
            for w in list(b.watchers):
                w.stop()

    async def _follow(self, revision: int) -> None:
        while True:
            try:
                async for ev in self._store.watch("/registry/", revision):
                    self._apply(ev)
                    revision = ev.kv.mod_revision
                return
            except protocol.Compacted:
                log.warning("watch cache fell behind the store; reloading rev=%d", revision)
                await self._reload()
                revision = self.revision

    async def _reload(self) -> None:
        listed = await self._store.list("/registry/")
        seen: set[str] = set()
        for kv in listed.items:
            seen.add(kv.key)
            old = self.bucket(_prefix_of(kv.key)).entries.get(kv.key)
            if old is None or old.rv != kv.mod_revision:
                self._apply(protocol.Event("PUT", kv), revision=listed.revision)
        for b in list(self._buckets.values()):
            for key in [k for k in b.entries if k not in seen]:
                old = b.entries[key]
                kv = protocol.KeyValue(key, orjson.dumps(old.decode()), old.rv, listed.revision)
                self._apply(protocol.Event("DELETE", kv), revision=listed.revision)
        self.revision = listed.revision
        self._signal()

    def _apply(self, ev: protocol.Event, revision: int = 0) -> None:
        kv = ev.kv
        prefix = _prefix_of(kv.key)
        bucket = self.bucket(prefix)
        entry = make_entry(kv.key, kv.value, kv.mod_revision, self._fields.get(prefix))
        if ev.type == "DELETE":
            prev = bucket.remove(kv.key)
            change = Change(kv.mod_revision, prefix, "DELETED", entry, prev)
        else:
            prev = bucket.put(entry)
            change = Change(kv.mod_revision, prefix, "MODIFIED" if prev else "ADDED", entry, prev)
        if len(self._history) == self._history.maxlen:
            self._oldest = self._history[0].rv
        self._history.append(change)
        self.revision = max(self.revision, revision or kv.mod_revision)
        for w in list(bucket.watchers):
            w.offer(change)
        self._signal()

    def _signal(self) -> None:
        self._advanced.set()
        self._advanced = asyncio.Event()

    async def wait_for_revision(self, revision: int, timeout: float = 3.0) -> None:
        """Block until the cache reflects `revision`; 504 Timeout if it does not in time."""
        if self.revision >= revision:
            return
        try:
            async with asyncio.timeout(timeout):  # no extra task per wait, unlike wait_for
                while self.revision < revision:
                    await self._advanced.wait()
        except TimeoutError:
            raise errors.Timeout(f"Too large resource version: {revision}, current: "
                                 f"{self.revision}") from None

    async def wait_fresh(self) -> None:
        """Read-your-writes: catch up with everything the store has acknowledged."""
        current = await self._store.current_revision()
        if current > self.revision:
            await self.wait_for_revision(current)

    def get(self, prefix: str, key: str) -> Entry | None:
        return self.bucket(prefix).entries.get(key)

    def watch(self, prefix: str, predicate: Predicate, revision: int | None) -> Watcher:
        """Register a watcher; `revision` None = start with the current state as ADDED."""
        bucket = self.bucket(prefix)
        watcher = Watcher(self, bucket, predicate)
        if revision is None:
            for entry in bucket.scan():
                if predicate(entry):
                    watcher.queue.put_nowait(("ADDED", entry))
        else:
            if revision < self._oldest:
                raise errors.Gone(f"too old resource version: {revision} ({self._oldest})")
            for change in self._history:
                if change.rv > revision and change.prefix == prefix:
                    watcher.offer(change)
        bucket.watchers.add(watcher)
        return watcher
