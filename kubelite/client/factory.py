"""Shared informers: one list+watch per resource however many controllers read it."""

from __future__ import annotations

import asyncio
from typing import Any

from kubelite.client import informer, rest


class InformerFactory:
    def __init__(self, client: rest.Client) -> None:
        self.client = client
        self._informers: dict[tuple[str, str, str], informer.Informer] = {}
        self._tasks: list[asyncio.Task[None]] = []

    def informer(self, api_version: str, kind: str, **indexers: Any) -> informer.Informer:
        """The shared informer of a kind (created on first request); indexers are merged."""
        rt = self.client.resource(api_version, kind)
        key = (rt.group, rt.version, rt.plural)
        inf = self._informers.get(key)
        if inf is None:
            inf = self._informers[key] = informer.Informer(
                self.client, rt, indexers={"namespace": informer.by_namespace},
                transform=informer.strip_managed_fields)
        for name, fn in indexers.items():
            if name not in inf.indexers:
                inf.add_indexer(name, fn)
        return inf

    def start(self) -> None:
        for inf in self._informers.values():
            self._tasks.append(asyncio.create_task(inf.run(), name=f"informer-{inf.rt.plural}"))

    async def wait_synced(self) -> None:
        await asyncio.gather(*(inf.wait_synced() for inf in self._informers.values()))

    async def stop(self) -> None:
        for t in self._tasks:
            t.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
