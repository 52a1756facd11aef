"""Per-namespace defaults every namespace gets upstream: the `default` ServiceAccount
(serviceaccount-controller) and the `kube-root-ca.crt` ConfigMap holding the cluster CA
(root-ca-cert-publisher). Both are recreated if deleted while the namespace lives."""

from __future__ import annotations

from typing import Any

from kubelite.api import errors
from kubelite.client import factory, informer, rest
from kubelite.controllers import controller

Obj = dict[str, Any]
ROOT_CA = "kube-root-ca.crt"


class NamespaceDefaultsController(controller.Controller):
    name = "serviceaccount-controller"

    def __init__(self, client: rest.Client, informers: factory.InformerFactory, *,
                 ca_pem: str = "") -> None:
        super().__init__(client, informers)
        self.ca_pem = ca_pem
        self.sa_rt = client.resource("v1", "ServiceAccount")
        self.cm_rt = client.resource("v1", "ConfigMap")
        self.namespaces = informers.informer("v1", "Namespace")
        self.accounts = informers.informer("v1", "ServiceAccount")
        self.configmaps = informers.informer("v1", "ConfigMap")
        self.namespaces.add_handlers(self.enqueue_handlers())
        on_child_delete = informer.Handlers(
            on_delete=lambda o: self.queue.add(o["metadata"].get("namespace", "")))
        self.accounts.add_handlers(on_child_delete)
        self.configmaps.add_handlers(on_child_delete)

    async def sync(self, key: str) -> None:
        ns = self.namespaces.get(key)
        if ns is None or ns["metadata"].get("deletionTimestamp"):
            return
        if self.accounts.get(f"{key}/default") is None:
            await self._create(self.sa_rt, key, {"apiVersion": "v1", "kind": "ServiceAccount",
                                                 "metadata": {"name": "default"}})
        if self.ca_pem and self.configmaps.get(f"{key}/{ROOT_CA}") is None:
            await self._create(self.cm_rt, key, {
                "apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": ROOT_CA, "annotations": {
                    "kubernetes.io/description": "Contains a CA bundle that can be used to "
                    "verify the kube-apiserver when using internal endpoints such as the "
                    "internal service IP or kubernetes.default.svc. No other usage is "
                    "guaranteed across distributions of Kubernetes clusters."}},
                "data": {"ca.crt": self.ca_pem}})

    async def _create(self, rt: Any, namespace: str, obj: Obj) -> None:
        try:
            await self.client.create(rt, obj, namespace)
        except errors.APIError as e:
            if not (errors.is_already_exists(e) or e.code in (403, 404)):
                raise
