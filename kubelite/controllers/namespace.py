"""The namespace lifecycle controller: deleting a namespace deletes everything in it.

A namespace being deleted carries the `kubernetes` finalizer in spec.finalizers. This
controller deletes every namespaced object in it (every type discovery lists, custom
ones included), waits until none is left, then removes the finalizer through
namespaces/{name}/finalize, upon which the API server deletes the namespace.
"""

from __future__ import annotations

import logging
from typing import Any

from kubelite.api import errors, registry
from kubelite.client import discovery, factory, rest
from kubelite.controllers import controller

log = logging.getLogger(__name__)

Obj = dict[str, Any]
FINALIZER = "kubernetes"
RECHECK = 1.0


async def namespaced_types(client: rest.Client) -> list[registry.ResourceType]:
    """Every namespaced type the server serves that can be listed and deleted."""
    types = discovery.with_verbs(await discovery.server_types(client), "list", "delete")
    return [rt for rt in types if rt.namespaced]


class NamespaceController(controller.Controller):
    name = "namespace-controller"

    def __init__(self, client: rest.Client, informers: factory.InformerFactory) -> None:
        super().__init__(client, informers)
        self.ns_rt = client.resource("v1", "Namespace")
        self.namespaces = informers.informer("v1", "Namespace")
        self.namespaces.add_handlers(self.enqueue_handlers())

    async def sync(self, key: str) -> None:
        ns = self.namespaces.get(key)
        if ns is None or not ns["metadata"].get("deletionTimestamp"):
            return
        if FINALIZER not in ((ns.get("spec") or {}).get("finalizers") or []):
            return
        remaining = await self._delete_contents(key)
        if remaining:
            log.debug("namespace still has content namespace=%s remaining=%d", key, remaining)
            self.queue.add_after(key, RECHECK)
            return
        await self._finalize(ns)

    async def _delete_contents(self, namespace: str) -> int:
        """Ask every object in the namespace to go; the number still present."""
        remaining = 0
        for rt in await namespaced_types(self.client):
            try:
                listed = await self.client.list(rt, namespace)
            except errors.APIError:
                continue
            for item in listed.get("items") or []:
                remaining += 1
                if item["metadata"].get("deletionTimestamp"):
                    continue
                try:
                    await self.client.delete(rt, item["metadata"]["name"], namespace,
                                             propagation="Background")
                except errors.APIError as e:
                    if not errors.is_not_found(e):
                        raise
        return remaining

    async def _finalize(self, ns: Obj) -> None:
        spec = dict(ns.get("spec") or {})
        spec["finalizers"] = [f for f in spec.get("finalizers") or [] if f != FINALIZER]
        body = {"apiVersion": "v1", "kind": "Namespace", "metadata": ns["metadata"], "spec": spec}
        try:
            await self.client.request("PUT", self.client.path(self.ns_rt, "", ns["metadata"][
                "name"], "finalize"), body=body)
        except errors.APIError as e:
            if not errors.is_not_found(e):
                raise
