"""The ReplicaSet controller (and ReplicationController, the same loop with a map selector).

Keeps `spec.replicas` active pods matching the selector: adopts matching orphans,
releases owned pods that stop matching, creates or deletes the difference, and reports
replicas, readyReplicas, availableReplicas and observedGeneration in status.
"""

from __future__ import annotations

import asyncio
import copy
import logging
from typing import Any

from kubelite.api import errors, labels
from kubelite.client import events, factory, informer, rest
from kubelite.controllers import controller, dependents, expectations, ownership, pods

log = logging.getLogger(__name__)

Obj = dict[str, Any]
BURST = 500          # pods created or deleted per sync at most (upstream's burstReplicas)


def selector_of(rs: Obj) -> labels.Selector:
    sel = (rs.get("spec") or {}).get("selector")
    if rs.get("kind") == "ReplicationController":
        sel = {"matchLabels": sel or ((rs["spec"].get("template") or {}).get("metadata") or {}
                                      ).get("labels") or {}}
    return labels.from_label_selector(sel or {})


def pod_from_template(rs: Obj) -> Obj:
    template = copy.deepcopy(rs["spec"].get("template") or {})
    meta = template.get("metadata") or {}
    pod_meta: Obj = {"generateName": rs["metadata"]["name"] + "-",
                     "namespace": rs["metadata"]["namespace"],
                     "ownerReferences": [ownership.owner_reference(rs)]}
    for f in ("labels", "annotations", "finalizers"):
        if meta.get(f):
            pod_meta[f] = meta[f]
    return {"apiVersion": "v1", "kind": "Pod", "metadata": pod_meta,
            "spec": template.get("spec") or {}}


class ReplicaSetController(controller.Controller):
    def __init__(self, client: rest.Client, informers: factory.InformerFactory, *,
                 kind: str = "ReplicaSet") -> None:
        super().__init__(client, informers)
        self.kind = kind
        self.name = "replicaset-controller" if kind == "ReplicaSet" else \
            "replicationcontroller-controller"
        api_version = "apps/v1" if kind == "ReplicaSet" else "v1"
        self.rs_rt = client.resource(api_version, kind)
        self.pod_rt = client.resource("v1", "Pod")
        self.rs_informer = informers.informer(api_version, kind)
        self.pod_informer = informers.informer("v1", "Pod", controller=informer.by_controller)
        self.expectations = expectations.Expectations()
        self.recorder = events.Recorder(client, self.name)
        self.rs_informer.add_handlers(self.enqueue_handlers())
        self.dependents = dependents.Dependents(
            kind, self.queue, self.expectations,
            lambda ns: self.rs_informer.by_index("namespace", ns),
            lambda rs, found: selector_of(rs).matches(found))
        self.pod_informer.add_handlers(self.dependents.handlers())

    # -- reconcile ---------------------------------------------------------------------------

    async def sync(self, key: str) -> None:
        rs = self.rs_informer.get(key)
        if rs is None:
            self.expectations.forget(key)
            return
        owned = await self._claim(rs)
        active = [p for p in owned if pods.is_active(p)]
        failure = None
        if self.expectations.satisfied(key) and not rs["metadata"].get("deletionTimestamp"):
            failure = await self._manage(key, rs, active)
        await self._update_status(rs, active, failure)

    async def _claim(self, rs: Obj) -> list[Obj]:
        """Owned pods that match, after adopting orphans and releasing mismatches."""
        selector = selector_of(rs)
        return await ownership.claim(
            self.client, self.pod_rt, rs,
            self.pod_informer.by_index("namespace", rs["metadata"]["namespace"]),
            lambda pod: selector.matches(pod["metadata"].get("labels") or {}))

    async def _manage(self, key: str, rs: Obj, active: list[Obj]) -> str | None:
        want = int(rs["spec"].get("replicas", 1))
        diff = len(active) - want
        if diff < 0:
            return await self._create(key, rs, min(-diff, BURST))
        if diff > 0:
            await self._delete(key, rs, sorted(active, key=pods.deletion_rank)[:min(diff, BURST)])
        return None

    async def _create(self, key: str, rs: Obj, count: int) -> str | None:
        """Create in growing batches (1, 2, 4...) so a broken template fails fast."""
        self.expectations.expect(key, adds=count)
        created, batch = 0, 1
        while created < count:
            n = min(batch, count - created)
            results = await asyncio.gather(*(self._create_one(rs) for _ in range(n)),
                                           return_exceptions=True)
            failures = [r for r in results if isinstance(r, BaseException)]
            for _ in failures:
                self.expectations.observed_add(key)
            created += n
            if failures:
                for _ in range(count - created):
                    self.expectations.observed_add(key)
                err = failures[0]
                self.recorder.event(rs, "Warning", "FailedCreate",
                                    f"Error creating: {err}")
                return str(err)
            batch *= 2
        return None

    async def _create_one(self, rs: Obj) -> None:
        pod = await self.client.create(self.pod_rt, pod_from_template(rs),
                                       rs["metadata"]["namespace"])
        self.recorder.event(rs, "Normal", "SuccessfulCreate",
                            f"Created pod: {pod['metadata']['name']}")

    async def _delete(self, key: str, rs: Obj, victims: list[Obj]) -> None:
        self.expectations.expect(key, deletes=len(victims))

        async def one(pod: Obj) -> None:
            name = pod["metadata"]["name"]
            try:
                await self.client.delete(self.pod_rt, name, pod["metadata"]["namespace"])
                self.recorder.event(rs, "Normal", "SuccessfulDelete", f"Deleted pod: {name}")
            except errors.APIError as e:
                self.expectations.observed_delete(key)
                if not errors.is_not_found(e):
                    raise

        await asyncio.gather(*(one(p) for p in victims))

    async def _update_status(self, rs: Obj, active: list[Obj], failure: str | None) -> None:
        now = events.now_datetime()
        min_ready = int(rs["spec"].get("minReadySeconds", 0))
        template_labels = ((rs["spec"].get("template") or {}).get("metadata") or {}).get(
            "labels") or {}
        status: Obj = {
            "replicas": len(active),
            "fullyLabeledReplicas": sum(
                1 for p in active
                if all((p["metadata"].get("labels") or {}).get(k) == v
                       for k, v in template_labels.items())),
            "readyReplicas": sum(1 for p in active if pods.is_ready(p)),
            "availableReplicas": sum(1 for p in active if pods.is_available(p, min_ready, now)),
            "observedGeneration": rs["metadata"].get("generation", 1),
        }
        conditions = [c for c in (rs.get("status") or {}).get("conditions") or []
                      if c.get("type") != "ReplicaFailure"]
        if failure:
            conditions.append({"type": "ReplicaFailure", "status": "True",
                               "reason": "FailedCreate", "message": failure,
                               "lastTransitionTime": events.now()})
        if conditions:
            status["conditions"] = conditions
        status = {k: v for k, v in status.items() if v or k == "replicas"}
        if status != {k: v for k, v in (rs.get("status") or {}).items()}:
            updated = dict(rs)
            updated["status"] = status
            try:
                await self.client.update_status(self.rs_rt, updated)
            except errors.APIError as e:
                if not errors.is_not_found(e):
                    raise
        if min_ready and status.get("readyReplicas", 0) > status.get("availableReplicas", 0):
            self.queue.add_after(informer.key_of(rs), float(min_ready))
