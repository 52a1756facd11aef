"""One metadata-only informer per resource type that can own or be owned.

The set of types comes from discovery (every top-level resource with list, watch and
delete) and is refreshed periodically, so custom resources are covered soon after their
definition is served. Events are never garbage collected (as upstream) and not watched.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from kubelite.api import errors, registry
from kubelite.client import discovery, informer, rest

log = logging.getLogger(__name__)

Obj = dict[str, Any]
IGNORED = frozenset({("", "events"), ("events.k8s.io", "events")})
_META_FIELDS = ("name", "namespace", "uid", "resourceVersion", "ownerReferences", "finalizers",
                "deletionTimestamp")
REFRESH_DEBOUNCE = 0.2   # seconds to wait after a CRD change before re-reading discovery
REFRESH_MIN_GAP = 2.0    # seconds between discoveries forced by an unknown owner kind


def metadata_only(obj: Obj) -> Obj:
    """What the collector keeps of an object: identity, owners and deletion state."""
    meta = obj.get("metadata") or {}
    return {"apiVersion": obj.get("apiVersion", ""), "kind": obj.get("kind", ""),
            "metadata": {k: meta[k] for k in _META_FIELDS if k in meta}}


def group_of(api_version: str) -> str:
    return api_version.rpartition("/")[0]


def monitored(types: list[registry.ResourceType]) -> list[registry.ResourceType]:
    return [rt for rt in discovery.with_verbs(types, "list", "watch", "delete")
            if (rt.group, rt.plural) not in IGNORED]


class Monitors:
    def __init__(self, client: rest.Client, handlers: informer.Handlers) -> None:
        self.client = client
        self.handlers = handlers
        self._kinds: dict[tuple[str, str], registry.ResourceType] = {}
        self._running: dict[tuple[str, str], tuple[informer.Informer, asyncio.Task[None]]] = {}
        self._last_refresh = 0.0
        self._wake = asyncio.Event()

    def resource_for(self, api_version: str, kind: str) -> registry.ResourceType | None:
        """The served type of a kind (any version of its group), if discovery knows it."""
        return self._kinds.get((group_of(api_version), kind))

    async def resolve(self, api_version: str, kind: str) -> registry.ResourceType:
        """Like resource_for, re-reading discovery once (rate-limited) for an unknown kind."""
        rt = self.resource_for(api_version, kind)
        if rt is None and time.monotonic() - self._last_refresh > REFRESH_MIN_GAP:
            await self.refresh()
            rt = self.resource_for(api_version, kind)
        if rt is None:
            raise errors.NotFound(group_of(api_version), kind, "",
                                  f"no resource of kind {kind} in {api_version} is served")
        return rt

    async def refresh(self) -> None:
        """Re-read discovery; start informers for new types and stop vanished ones."""
        self._last_refresh = time.monotonic()
        types = await discovery.server_types(self.client)
        self._kinds = {(rt.group, rt.kind): rt for rt in types}
        wanted = {(rt.group, rt.plural): rt for rt in monitored(types)}
        for key in [k for k in self._running if k not in wanted]:
            inf, task = self._running.pop(key)
            task.cancel()
            log.info("stopped monitoring resource=%s", inf.rt.plural)
        for key, rt in wanted.items():
            if key not in self._running:
                inf = informer.Informer(self.client, rt, transform=metadata_only)
                inf.add_handlers(self.handlers)
                task = asyncio.create_task(inf.run(), name=f"gc-monitor-{rt.plural}")
                self._running[key] = (inf, task)

    def informers(self) -> list[informer.Informer]:
        return [inf for inf, _ in self._running.values()]

    async def wait_synced(self, timeout: float) -> bool:
        """Wait for every monitor's first list; False when some did not finish in time."""
        waits = [inf.wait_synced() for inf in self.informers()]
        try:
            await asyncio.wait_for(asyncio.gather(*waits), timeout)
            return True
        except TimeoutError:
            return False

    def request_refresh(self) -> None:
        """Re-read discovery soon (a CustomResourceDefinition changed)."""
        self._wake.set()

    async def run(self, period: float) -> None:
        """Refresh discovery every `period` seconds, or soon after a request, until
        cancelled."""
        try:
            while True:
                try:
                    await asyncio.wait_for(self._wake.wait(), period)
                    await asyncio.sleep(REFRESH_DEBOUNCE)   # let a burst of changes settle
                except TimeoutError:
                    pass
                self._wake.clear()
                try:
                    await self.refresh()
                except errors.APIError as e:
                    log.warning("garbage collector discovery failed error=%s", e)
        finally:
            await self.stop()

    async def stop(self) -> None:
        tasks = [task for _, task in self._running.values()]
        self._running.clear()
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
