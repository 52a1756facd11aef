"""The shape every controller shares (sample-controller): handlers enqueue keys, workers
pop a key, run `sync(key)`, and retry failures with backoff.

Subclasses implement `sync(key)`: level-triggered and idempotent, reading from informer
caches; they register informer handlers in `__init__` that only compute and enqueue keys.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from kubelite.api import errors
from kubelite.client import factory, informer, rest, workqueue

log = logging.getLogger(__name__)

Obj = dict[str, Any]


class Controller:
    name = "controller"

    def __init__(self, client: rest.Client, informers: factory.InformerFactory) -> None:
        self.client = client
        self.informers = informers
        self.queue: workqueue.WorkQueue[str] = workqueue.WorkQueue()

    def enqueue(self, obj: Obj) -> None:
        self.queue.add(informer.key_of(obj))

    def enqueue_handlers(self) -> informer.Handlers:
        """Handlers that enqueue the object itself on every change."""
        return informer.Handlers(on_add=self.enqueue, on_update=lambda old, new: self.enqueue(new),
                                 on_delete=self.enqueue)

    async def sync(self, key: str) -> None:
        raise NotImplementedError

    async def run(self, workers: int = 2) -> None:
        await self.informers.wait_synced()
        log.info("controller started name=%s workers=%d", self.name, workers)
        try:
            async with asyncio.TaskGroup() as tg:
                for _ in range(workers):
                    tg.create_task(self._worker())
        except* workqueue.ShutDown:
            pass

    async def _worker(self) -> None:
        while True:
            key = await self.queue.get()
            try:
                await self.sync(key)
                self.queue.forget(key)
            except errors.APIError as e:
                if errors.is_conflict(e) or errors.is_not_found(e) or e.code >= 500:
                    log.debug("retrying controller=%s key=%s error=%s", self.name, key, e)
                else:
                    log.warning("sync failed controller=%s key=%s error=%s", self.name, key, e)
                self.queue.add_rate_limited(key)
            except Exception:
                log.exception("sync crashed controller=%s key=%s", self.name, key)
                self.queue.add_rate_limited(key)
            finally:
                self.queue.done(key)
