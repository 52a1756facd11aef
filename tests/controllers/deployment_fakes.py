"""A recording in-memory client and hand-fed informer caches for deployment controller tests.

`FakeCluster.sync(key)` plays one reconcile: informers are refreshed from the fake store
(as a watch would), the controller syncs, and its writes land in the store.
"""

from __future__ import annotations

import copy
import itertools
from typing import Any

from kubelite.api import errors
from kubelite.client import factory, informer, rest
from kubelite.controllers.deployment import controller as deployment_controller

Obj = dict[str, Any]


class FakeClient(rest.Client):
    """Objects by (plural, namespace, name); writes are compare-and-swap like the server."""

    def __init__(self) -> None:
        super().__init__("https://127.0.0.1:1")
        self.store: dict[tuple[str, str, str], Obj] = {}
        self.calls: list[tuple[str, str, str]] = []
        self._rv = itertools.count(1)
        self._clock = itertools.count(0)

    def _key(self, rt: Any, ns: str, name: str) -> tuple[str, str, str]:
        return (rt.plural, ns, name)

    async def get(self, rt: Any, name: str, namespace: str = "") -> Obj:
        obj = self.store.get(self._key(rt, namespace, name))
        if obj is None:
            raise errors.NotFound(rt.group, rt.plural, name)
        return copy.deepcopy(obj)

    async def create(self, rt: Any, obj: Obj, namespace: str = "") -> Obj:
        obj = copy.deepcopy(obj)
        meta = obj["metadata"]
        ns = namespace or meta.get("namespace", "")
        key = self._key(rt, ns, meta["name"])
        self.calls.append(("create", rt.plural, meta["name"]))
        if key in self.store:
            raise errors.AlreadyExists(rt.group, rt.plural, meta["name"])
        tick = next(self._clock)
        meta.update(namespace=ns, uid=f"uid-{meta['name']}-{tick}", generation=1,
                    resourceVersion=str(next(self._rv)),
                    creationTimestamp=f"2024-01-01T00:{tick // 60:02d}:{tick % 60:02d}Z")
        obj.setdefault("apiVersion", rt.api_version)
        obj.setdefault("kind", rt.kind)
        self.store[key] = obj
        return copy.deepcopy(obj)

    async def update(self, rt: Any, obj: Obj, subresource: str = "") -> Obj:
        meta = obj["metadata"]
        key = self._key(rt, meta.get("namespace", ""), meta["name"])
        self.calls.append(("update" + (f"/{subresource}" if subresource else ""), rt.plural,
                           meta["name"]))
        old = self.store.get(key)
        if old is None:
            raise errors.NotFound(rt.group, rt.plural, meta["name"])
        if meta.get("resourceVersion") != old["metadata"]["resourceVersion"]:
            raise errors.Conflict(rt.group, rt.plural, meta["name"], "modified")
        new = copy.deepcopy(obj)
        if subresource == "status":
            new["spec"] = copy.deepcopy(old.get("spec"))
        else:
            new["status"] = copy.deepcopy(old.get("status"))
            if new.get("spec") != old.get("spec"):
                new["metadata"]["generation"] = old["metadata"].get("generation", 1) + 1
        new["metadata"]["resourceVersion"] = str(next(self._rv))
        self.store[key] = new
        return copy.deepcopy(new)

    async def update_status(self, rt: Any, obj: Obj) -> Obj:
        return await self.update(rt, obj, "status")

    async def patch(self, rt: Any, name: str, patch: Any, *, namespace: str = "",
                    **_: Any) -> Obj:
        """Only the ownerReferences patches of adopt/release (set, or `$patch: delete`)."""
        self.calls.append(("patch", rt.plural, name))
        obj = copy.deepcopy(await self.get(rt, name, namespace))
        refs = patch["metadata"]["ownerReferences"]
        if refs and refs[0].get("$patch") == "delete":
            gone = {r["uid"] for r in refs}
            refs = [r for r in obj["metadata"].get("ownerReferences") or []
                    if r["uid"] not in gone]
        obj["metadata"]["ownerReferences"] = refs
        self.put(rt.plural, obj)
        return copy.deepcopy(obj)

    async def delete(self, rt: Any, name: str, namespace: str = "", **_: Any) -> Obj:
        self.calls.append(("delete", rt.plural, name))
        obj = self.store.pop(self._key(rt, namespace, name), None)
        if obj is None:
            raise errors.NotFound(rt.group, rt.plural, name)
        return obj

    def put(self, plural: str, obj: Obj) -> None:
        """Change an object as another component would (bumping its resourceVersion)."""
        obj["metadata"]["resourceVersion"] = str(next(self._rv))
        self.store[(plural, obj["metadata"]["namespace"], obj["metadata"]["name"])] = obj

    def objects(self, plural: str) -> list[Obj]:
        return [o for (p, _, _), o in sorted(self.store.items()) if p == plural]


class FakeRecorder:
    def __init__(self) -> None:
        self.events: list[tuple[str, str, str]] = []

    def event(self, obj: Obj, type_: str, reason: str, message: str) -> None:
        self.events.append((type_, reason, message))


class FakeCluster:
    """A deployment controller over a fake store, with the ReplicaSet controller's effect
    (pods all ready) applied on demand by `settle_replicasets`."""

    def __init__(self) -> None:
        self.client = FakeClient()
        self.informers = factory.InformerFactory(self.client)
        self.controller = deployment_controller.DeploymentController(self.client, self.informers)
        self.recorder = FakeRecorder()
        self.controller.recorder = self.recorder  # type: ignore[assignment]
        self.controller.writer.recorder = self.recorder  # type: ignore[assignment]
        self.rt = {"deployments": self.client.resource("apps/v1", "Deployment"),
                   "replicasets": self.client.resource("apps/v1", "ReplicaSet"),
                   "pods": self.client.resource("v1", "Pod")}
        self.by_plural: dict[str, informer.Informer] = {
            "deployments": self.controller.d_informer,
            "replicasets": self.controller.rs_informer, "pods": self.controller.pod_informer}

    def refresh(self) -> None:
        """Bring the informer caches in line with the store, as a watch would."""
        for plural, inf in self.by_plural.items():
            live = {informer.key_of(o): o for o in self.client.objects(plural)}
            for key in [k for k in list(inf._items) if k not in live]:
                inf._remove(inf._items[key])
            for key, obj in live.items():
                cached = inf.get(key)
                if cached is None or cached["metadata"]["resourceVersion"] != obj["metadata"][
                        "resourceVersion"]:
                    inf._upsert(copy.deepcopy(obj))

    async def create(self, plural: str, obj: Obj) -> Obj:
        return await self.client.create(self.rt[plural], obj, obj["metadata"]["namespace"])

    async def sync(self, name: str = "web", ns: str = "default") -> None:
        self.refresh()
        await self.controller.sync(f"{ns}/{name}")
        self.refresh()

    def deployment(self, name: str = "web", ns: str = "default") -> Obj:
        return self.client.store[("deployments", ns, name)]

    def replicasets(self) -> list[Obj]:
        return sorted(self.client.objects("replicasets"),
                      key=lambda rs: rs["metadata"]["creationTimestamp"])

    def settle_replicasets(self, *, ready: bool = True) -> None:
        """What the ReplicaSet controller and kubelets would report: every pod running."""
        for rs in self.client.objects("replicasets"):
            n = rs["spec"]["replicas"]
            rs["status"] = {"replicas": n, "readyReplicas": n if ready else 0,
                            "availableReplicas": n if ready else 0,
                            "observedGeneration": rs["metadata"]["generation"]}
            self.client.put("replicasets", rs)

    async def edit(self, mutate: Any, name: str = "web") -> None:
        """A user update of the deployment (spec changes bump generation)."""
        d = copy.deepcopy(self.deployment(name))
        mutate(d)
        await self.client.update(self.rt["deployments"], d)


def deployment(name: str = "web", *, replicas: int = 3, image: str = "nginx:1",
               strategy: Obj | None = None, **spec: Any) -> Obj:
    """A Deployment as the API server stores it after defaulting."""
    body: Obj = {
        "replicas": replicas, "selector": {"matchLabels": {"app": name}},
        "template": {"metadata": {"labels": {"app": name}},
                     "spec": {"containers": [{"name": "nginx", "image": image}]}},
        "strategy": strategy or {"type": "RollingUpdate",
                                 "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}},
        "revisionHistoryLimit": 10, "progressDeadlineSeconds": 600,
    }
    body.update(spec)
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": name, "namespace": "default"}, "spec": body}
