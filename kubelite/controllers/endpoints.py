"""The Endpoints controller: one Endpoints object per Service with a selector.

Ready pods go to `addresses`, unready ones to `notReadyAddresses` (all of them to
`addresses` when the Service publishes not-ready addresses); addresses with the same
resolved ports share a subset. Services without a selector are left to their users;
a deleted Service's Endpoints are deleted.
"""

from __future__ import annotations

import logging
from typing import Any

from kubelite.api import errors
from kubelite.client import events, factory, informer, rest
from kubelite.controllers import endpointpods, pods

log = logging.getLogger(__name__)

Obj = dict[str, Any]


def _address(svc: Obj, pod: Obj) -> Obj:
    return {"ip": endpointpods.pod_ip(pod), **endpointpods.placement(svc, pod)}


def _ports_key(ports: list[Obj]) -> tuple[tuple[str, int, str, str], ...]:
    return tuple(sorted((p.get("name", ""), p["port"], p["protocol"], p.get("appProtocol", ""))
                        for p in ports))


def subsets(svc: Obj, selected: list[Obj]) -> list[Obj]:
    """The Endpoints subsets of a Service over the pods its selector matches."""
    spec = svc.get("spec") or {}
    publish = bool(spec.get("publishNotReadyAddresses"))
    groups: dict[tuple[Any, ...], tuple[list[Obj], list[Obj], list[Obj]]] = {}
    for pod in selected:
        if not endpointpods.should_include(pod, include_terminating=publish):
            continue
        ports = endpointpods.endpoint_ports(svc, pod)
        if not ports and (spec.get("ports") or spec.get("clusterIP") != "None"):
            continue  # no Service port resolves on this pod
        for port in ports:
            if not port["name"]:
                del port["name"]
        key = _ports_key(ports)
        ready, unready, _ = groups.setdefault(key, ([], [], ports))
        (ready if publish or pods.is_ready(pod) else unready).append(_address(svc, pod))
    out = []
    for key in sorted(groups):
        ready, unready, ports = groups[key]
        subset: Obj = {}
        if ready:
            subset["addresses"] = sorted(ready, key=_address_order)
        if unready:
            subset["notReadyAddresses"] = sorted(unready, key=_address_order)
        if ports:
            subset["ports"] = sorted(ports, key=lambda p: (p.get("name", ""), p["port"]))
        out.append(subset)
    return out


def _address_order(addr: Obj) -> tuple[str, str]:
    return addr["ip"], addr.get("targetRef", {}).get("uid", "")


def desired(svc: Obj, selected: list[Obj], current: Obj | None) -> Obj | None:
    """The Endpoints to write, or None when `current` is already right."""
    want_subsets = subsets(svc, selected)
    want_labels = endpointpods.endpoint_labels(svc)
    if current is not None and (current.get("subsets") or []) == want_subsets \
            and (current["metadata"].get("labels") or {}) == want_labels:
        return None
    meta = svc["metadata"]
    annotations = dict((current or {}).get("metadata", {}).get("annotations") or {})
    annotations[endpointpods.TRIGGER_TIME] = events.now()
    obj: Obj = {"apiVersion": "v1", "kind": "Endpoints",
                "metadata": {"name": meta["name"], "namespace": meta["namespace"],
                             "labels": want_labels, "annotations": annotations}}
    if not want_labels:
        del obj["metadata"]["labels"]
    if current is not None:
        obj["metadata"]["resourceVersion"] = current["metadata"].get("resourceVersion")
    if want_subsets:
        obj["subsets"] = want_subsets
    return obj


class EndpointsController(endpointpods.ServicePodsController):
    name = "endpoints-controller"

    def __init__(self, client: rest.Client, informers: factory.InformerFactory) -> None:
        super().__init__(client, informers)
        self.ep_rt = client.resource("v1", "Endpoints")
        self.ep_informer = informers.informer("v1", "Endpoints")
        # Someone else's change (or deletion) of an Endpoints object is put right; a create
        # that lost to a stale view is retried once the informer shows the object.
        self.ep_informer.add_handlers(informer.Handlers(
            on_add=self.enqueue, on_update=self._ep_updated, on_delete=self.enqueue))

    def _ep_updated(self, old: Obj, new: Obj) -> None:
        if old["metadata"].get("resourceVersion") != new["metadata"].get("resourceVersion"):
            self.enqueue(new)

    async def sync(self, key: str) -> None:
        namespace, _, name = key.partition("/")
        svc = self.svc_informer.get(key)
        if svc is None:
            # Only Endpoints this controller wrote go with their Service; hand-made ones
            # (for selectorless use) are the user's, as upstream leaves them.
            current = self.ep_informer.get(key)
            if current is not None and _managed(current):
                await self._delete(name, namespace)
            return
        if endpointpods.selector_of(svc) is None:
            return
        current = self.ep_informer.get(key)
        want = desired(svc, endpointpods.selected_pods(svc, self.pod_informer), current)
        if want is None:
            return
        if current is None:
            try:
                await self.client.create(self.ep_rt, want, namespace)
            except errors.APIError as e:
                if not errors.is_already_exists(e):
                    raise  # else: the informer's add event brings the key back
        else:
            await self.client.update(self.ep_rt, want)

    async def _delete(self, name: str, namespace: str) -> None:
        try:
            await self.client.delete(self.ep_rt, name, namespace)
        except errors.APIError as e:
            if not errors.is_not_found(e):
                raise


def _managed(ep: Obj) -> bool:
    return endpointpods.TRIGGER_TIME in (ep["metadata"].get("annotations") or {})
