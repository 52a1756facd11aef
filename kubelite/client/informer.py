"""Informers: list, then watch, into a local cache with indexes, calling handlers.

An informer lists once, then watches from the list's resourceVersion, resuming from the
last seen resourceVersion (bookmarks included) when a stream ends, and relisting from
scratch on 410 Gone. Handlers run on the event loop and must only enqueue keys.
"""

from __future__ import annotations

import asyncio
import builtins
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from kubelite.api import errors, registry
from kubelite.client import rest

log = logging.getLogger(__name__)

Obj = dict[str, Any]
IndexFn = Callable[[Obj], list[str]]


def strip_managed_fields(obj: Obj) -> Obj:
    """Informer caches need no managedFields (often half an object's size), as upstream's
    controller-manager and scheduler strip them too."""
    meta = obj.get("metadata")
    if meta and "managedFields" in meta:
        del meta["managedFields"]
    return obj


def key_of(obj: Obj) -> str:
    """`namespace/name`, or `name` for cluster-scoped objects (client-go's MetaNamespaceKey)."""
    meta = obj["metadata"]
    ns = meta.get("namespace")
    return f"{ns}/{meta['name']}" if ns else meta["name"]


def by_namespace(obj: Obj) -> list[str]:
    return [obj["metadata"].get("namespace", "")]


def by_controller(obj: Obj) -> list[str]:
    """The uid of the object's controller owner, if any."""
    for ref in obj["metadata"].get("ownerReferences") or []:
        if ref.get("controller"):
            return [ref["uid"]]
    return []


def by_owner(obj: Obj) -> list[str]:
    return [ref["uid"] for ref in obj["metadata"].get("ownerReferences") or []]


def by_node(obj: Obj) -> list[str]:
    node = (obj.get("spec") or {}).get("nodeName")
    return [node] if node else []


@dataclass
class Handlers:
    on_add: Callable[[Obj], None] | None = None
    on_update: Callable[[Obj, Obj], None] | None = None
    on_delete: Callable[[Obj], None] | None = None


@dataclass
class Informer:
    client: rest.Client
    rt: registry.ResourceType
    namespace: str = ""
    label_selector: str = ""
    field_selector: str = ""
    indexers: dict[str, IndexFn] = field(default_factory=dict)
    resync_period: float = 0.0
    # Applied to every object before it is cached or handed to handlers (client-go's
    # SetTransform): lets a cache that needs only metadata hold only metadata.
    transform: Callable[[Obj], Obj] | None = None

    def __post_init__(self) -> None:
        self._items: dict[str, Obj] = {}
        self._indexes: dict[str, dict[str, set[str]]] = {n: {} for n in self.indexers}
        self._handlers: list[Handlers] = []
        self._synced = asyncio.Event()
        self.resource_version = ""

    # -- reading the cache ---------------------------------------------------------------

    def get(self, key: str) -> Obj | None:
        return self._items.get(key)

    def list(self) -> list[Obj]:
        return list(self._items.values())

    def by_index(self, index: str, value: str) -> builtins.list[Obj]:
        keys = self._indexes[index].get(value, ())
        return [self._items[k] for k in keys if k in self._items]

    def add_indexer(self, name: str, fn: IndexFn) -> None:
        """Add an index before the informer runs."""
        if self._synced.is_set() or self._items:
            raise RuntimeError("indexers must be added before the informer starts")
        self.indexers[name] = fn
        self._indexes[name] = {}

    def add_handlers(self, handlers: Handlers) -> None:
        self._handlers.append(handlers)

    @property
    def has_synced(self) -> bool:
        return self._synced.is_set()

    async def wait_synced(self) -> None:
        await self._synced.wait()

    # -- keeping it current --------------------------------------------------------------

    def _index(self, key: str, obj: Obj | None, old: Obj | None) -> None:
        for name, fn in self.indexers.items():
            idx = self._indexes[name]
            for value in fn(old) if old is not None else []:
                idx.get(value, set()).discard(key)
            for value in fn(obj) if obj is not None else []:
                idx.setdefault(value, set()).add(key)

    def _upsert(self, obj: Obj) -> None:
        if self.transform is not None:
            obj = self.transform(obj)
        key = key_of(obj)
        old = self._items.get(key)
        self._items[key] = obj
        self._index(key, obj, old)
        for h in self._handlers:
            if old is None and h.on_add:
                h.on_add(obj)
            elif old is not None and h.on_update:
                h.on_update(old, obj)

    def _remove(self, obj: Obj) -> None:
        key = key_of(obj)
        old = self._items.pop(key, None)
        if old is None and self.transform is not None:
            obj = self.transform(obj)
        self._index(key, None, old)
        for h in self._handlers:
            if h.on_delete:
                h.on_delete(old or obj)

    async def _relist(self) -> None:
        items: list[Obj] = []
        token = ""
        while True:
            page = await self.client.list(self.rt, self.namespace,
                                          label_selector=self.label_selector,
                                          field_selector=self.field_selector, limit=500,
                                          continue_token=token)
            items.extend(page.get("items") or [])
            token = page["metadata"].get("continue", "")
            if not token:
                break
        fresh = {key_of(o): o for o in items}
        for key in [k for k in self._items if k not in fresh]:
            self._remove(self._items[key])
        for obj in items:
            obj.setdefault("kind", self.rt.kind)
            obj.setdefault("apiVersion", self.rt.api_version)
            old = self._items.get(key_of(obj))
            if old is None or old["metadata"].get("resourceVersion") != obj["metadata"].get(
                    "resourceVersion"):
                self._upsert(obj)
        self.resource_version = page["metadata"].get("resourceVersion", "")
        self._synced.set()

    async def _watch_once(self) -> None:
        async for event in self.client.watch(self.rt, self.namespace,
                                             resource_version=self.resource_version,
                                             label_selector=self.label_selector,
                                             field_selector=self.field_selector):
            obj = event["object"]
            rv = obj.get("metadata", {}).get("resourceVersion")
            kind = event["type"]
            if kind in ("ADDED", "MODIFIED"):
                self._upsert(obj)
            elif kind == "DELETED":
                self._remove(obj)
            if rv:
                self.resource_version = rv

    async def run(self) -> None:
        """List and watch forever (cancel to stop)."""
        backoff = 0.1
        need_list = True
        while True:
            try:
                if need_list:
                    await self._relist()
                    need_list = False
                await self._watch_once()
                backoff = 0.1
            except errors.APIError as e:
                if errors.is_gone(e):
                    log.info("watch expired; relisting resource=%s", self.rt.plural)
                    need_list = True
                    continue
                log.warning("list/watch failed resource=%s error=%s", self.rt.plural, e)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)
            except (TimeoutError, OSError, aiohttp.ClientError, ValueError) as e:
                log.warning("watch stream broke resource=%s error=%r", self.rt.plural, e)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)
