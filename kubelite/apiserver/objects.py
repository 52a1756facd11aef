"""Object-level storage: dicts in, dicts out, over the byte-level Store and the watch cache.

This is the only module that turns objects into store keys and values. It owns
resourceVersion (the store's mod_revision, never persisted in the value) and turns store
errors into API errors. Reads come from the watch cache after it has caught up with the
store (read-your-writes); compare-and-swap writes go to the store.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import orjson

from kubelite.api import errors, registry
from kubelite.apiserver import watchcache
from kubelite.storage import protocol

Obj = dict[str, Any]
Mutator = Callable[[Obj], Awaitable[Obj | None]]
MAX_CAS_RETRIES = 20


def encode(obj: Obj) -> bytes:
    meta = obj.get("metadata") or {}
    if "resourceVersion" in meta or "selfLink" in meta:
        obj = dict(obj)
        obj["metadata"] = {k: v for k, v in meta.items() if k not in ("resourceVersion", "selfLink")}
    return orjson.dumps(obj)


def decode(kv: protocol.KeyValue) -> Obj:
    obj: Obj = orjson.loads(kv.value)
    obj.setdefault("metadata", {})["resourceVersion"] = str(kv.mod_revision)
    return obj


def parse_rv(value: Any, *, what: str = "resourceVersion") -> int:
    """A resourceVersion string as an int; 400 when it is not one."""
    try:
        rv = int(value)
        if rv < 0:
            raise ValueError
        return rv
    except (TypeError, ValueError):
        raise errors.BadRequest(f'invalid {what}: "{value}"') from None


class Objects:
    """CRUD on objects of registered types."""

    def __init__(self, store: protocol.Store, cache: watchcache.Cache) -> None:
        self.store = store
        self.cache = cache

    async def get(self, rt: registry.ResourceType, namespace: str, name: str) -> Obj:
        await self.cache.wait_fresh()
        entry = self.cache.get(rt.key_prefix(), rt.key(namespace, name))
        if entry is None:
            raise errors.NotFound(rt.group, rt.plural, name)
        return entry.decode()

    async def get_entry(self, rt: registry.ResourceType, namespace: str,
                        name: str) -> watchcache.Entry | None:
        await self.cache.wait_fresh()
        return self.cache.get(rt.key_prefix(), rt.key(namespace, name))

    async def create(self, rt: registry.ResourceType, obj: Obj, *, dry_run: bool = False) -> Obj:
        meta = obj["metadata"]
        key = rt.key(meta.get("namespace", ""), meta["name"])
        if dry_run:
            if await self.store.get(key) is not None:
                raise errors.AlreadyExists(rt.group, rt.plural, meta["name"])
            return obj
        try:
            kv = await self.store.create(key, encode(obj))
        except protocol.KeyExists:
            raise errors.AlreadyExists(rt.group, rt.plural, meta["name"]) from None
        meta["resourceVersion"] = str(kv.mod_revision)
        return obj

    async def read_current(self, rt: registry.ResourceType, namespace: str,
                           name: str) -> protocol.KeyValue:
        kv = await self.store.get(rt.key(namespace, name))
        if kv is None:
            raise errors.NotFound(rt.group, rt.plural, name)
        return kv

    async def update(self, rt: registry.ResourceType, obj: Obj, expected: int, *,
                     dry_run: bool = False) -> Obj:
        """Write `obj` if the stored revision is still `expected` (409 Conflict otherwise)."""
        meta = obj["metadata"]
        key = rt.key(meta.get("namespace", ""), meta["name"])
        if dry_run:
            meta["resourceVersion"] = str(expected)
            return obj
        try:
            kv = await self.store.update(key, encode(obj), expected)
        except protocol.KeyNotFound:
            raise errors.NotFound(rt.group, rt.plural, meta["name"]) from None
        except protocol.RevisionMismatch:
            raise conflict(rt, meta["name"]) from None
        meta["resourceVersion"] = str(kv.mod_revision)
        return obj

    async def guaranteed_update(self, rt: registry.ResourceType, namespace: str, name: str,
                                mutate: Mutator, *, dry_run: bool = False) -> Obj:
        """Read, mutate, CAS-write; retry on a concurrent change. `mutate` returning None
        means "nothing to write" and the current object is returned unchanged."""
        for attempt in range(MAX_CAS_RETRIES):
            raw, revision = await self._read_for_update(rt, namespace, name, cached=attempt == 0)
            new = await mutate(orjson.loads(raw))
            if new is None:
                return orjson.loads(raw)  # type: ignore[no-any-return]
            try:
                return await self.update(rt, new, revision, dry_run=dry_run)
            except errors.Conflict:
                await settle()
        raise conflict(rt, name)

    async def _read_for_update(self, rt: registry.ResourceType, namespace: str, name: str, *,
                               cached: bool) -> tuple[bytes, int]:
        """The object's bytes and revision. A first attempt reads the caught-up watch cache
        (as fresh as a store read, without the query); a retry after a lost compare-and-swap
        reads the store itself."""
        if cached:
            await self.cache.wait_fresh()
            entry = self.cache.get(rt.key_prefix(), rt.key(namespace, name))
            if entry is not None:
                return entry.raw, entry.rv
        kv = await self.read_current(rt, namespace, name)
        return orjson.dumps(decode(kv)), kv.mod_revision

    async def delete(self, rt: registry.ResourceType, namespace: str, name: str,
                     expected: int = 0, *, dry_run: bool = False) -> Obj:
        key = rt.key(namespace, name)
        if dry_run:
            return decode(await self.read_current(rt, namespace, name))
        try:
            kv = await self.store.delete(key, expected)
        except protocol.KeyNotFound:
            raise errors.NotFound(rt.group, rt.plural, name) from None
        except protocol.RevisionMismatch:
            raise conflict(rt, name) from None
        return decode(kv)


async def settle() -> None:
    """Let the event loop run before retrying a lost compare-and-swap: the write we lost
    to may still be committing, and reads only see committed data."""
    await asyncio.sleep(0)


def conflict(rt: registry.ResourceType, name: str) -> errors.Conflict:
    return errors.Conflict(
        rt.group, rt.plural, name,
        "the object has been modified; please apply your changes to the latest version and try again",
    )
