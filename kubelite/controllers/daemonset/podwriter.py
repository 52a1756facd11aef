"""Creating and deleting daemon pods, with expectations and upstream's events.

Creations go out in growing batches (1, 2, 4, ...) so a template the server rejects fails
after one try rather than one per node; every asked-for change is expected before the
next sync acts, so a sync never acts twice on a stale cache.
"""

from __future__ import annotations

import asyncio
from typing import Any

from kubelite.api import errors
from kubelite.client import events, rest
from kubelite.controllers import expectations, ownership
from kubelite.controllers.daemonset import placement, plan

Obj = dict[str, Any]
BURST = 250          # pods created or deleted per sync at most (upstream's burstReplicas)


class PodWriter:
    def __init__(self, client: rest.Client, recorder: events.Recorder,
                 expected: expectations.Expectations) -> None:
        self.client = client
        self.recorder = recorder
        self.expectations = expected
        self.rt = client.resource("v1", "Pod")

    async def sync_nodes(self, key: str, ds: Obj, acts: plan.Actions, hash_: str) -> None:
        create_on, victims = acts.create_on[:BURST], acts.delete[:BURST]
        if not create_on and not victims:
            return
        self.expectations.expect(key, adds=len(create_on), deletes=len(victims))
        await asyncio.gather(self._create(key, ds, create_on, hash_),
                             *(self._delete_one(key, ds, p) for p in victims))

    async def _create(self, key: str, ds: Obj, nodes: list[str], hash_: str) -> None:
        template = placement.pod_template(ds, hash_)
        ref = ownership.owner_reference(ds)
        done, batch = 0, 1
        while done < len(nodes):
            chunk = nodes[done:done + batch]
            results = await asyncio.gather(
                *(self._create_one(ds, placement.new_pod(ds, template, n, ref)) for n in chunk),
                return_exceptions=True)
            failures = [r for r in results if isinstance(r, BaseException)]
            done += len(chunk)
            for _ in failures:
                self.expectations.observed_add(key)
            if failures:
                for _ in range(len(nodes) - done):
                    self.expectations.observed_add(key)
                self.recorder.event(ds, "Warning", "FailedCreate", f"Error creating: {failures[0]}")
                raise failures[0]
            batch *= 2

    async def _create_one(self, ds: Obj, pod: Obj) -> None:
        created = await self.client.create(self.rt, pod, ds["metadata"]["namespace"])
        self.recorder.event(ds, "Normal", "SuccessfulCreate",
                            f"Created pod: {created['metadata']['name']}")

    async def _delete_one(self, key: str, ds: Obj, pod: Obj) -> None:
        name = pod["metadata"]["name"]
        try:
            await self.client.delete(self.rt, name, pod["metadata"]["namespace"])
        except errors.APIError as e:
            self.expectations.observed_delete(key)
            if errors.is_not_found(e):
                return
            self.recorder.event(ds, "Warning", "FailedDelete", f"Error deleting: {e}")
            raise
        self.recorder.event(ds, "Normal", "SuccessfulDelete", f"Deleted pod: {name}")
