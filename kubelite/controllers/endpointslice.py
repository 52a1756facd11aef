"""The EndpointSlice controller: EndpointSlices for every Service with a selector.

Endpoints with the same resolved ports share slices of at most MAX_ENDPOINTS each; every
endpoint carries ready/serving/terminating conditions (terminating pods stay listed, not
ready). Slices carry the service-name and managed-by labels and a controller owner
reference to their Service, so the garbage collector removes them with it. A Service
with no endpoints keeps one empty placeholder slice, as upstream.
"""

from __future__ import annotations

import logging
from typing import Any

from kubelite.api import errors
from kubelite.client import events, factory, informer, rest
from kubelite.controllers import endpointpods, pods

log = logging.getLogger(__name__)

Obj = dict[str, Any]
MAX_ENDPOINTS = 100
SERVICE_NAME = "kubernetes.io/service-name"
MANAGED_BY = "endpointslice.kubernetes.io/managed-by"
CONTROLLER_NAME = "endpointslice-controller.k8s.io"
PortsKey = tuple[tuple[str, int, str, str], ...]


def by_service(slice_: Obj) -> list[str]:
    """Index: `namespace/service` of slices this controller manages."""
    meta = slice_["metadata"]
    lbl = meta.get("labels") or {}
    if lbl.get(MANAGED_BY) != CONTROLLER_NAME or not lbl.get(SERVICE_NAME):
        return []
    return [f"{meta.get('namespace', '')}/{lbl[SERVICE_NAME]}"]


def endpoint(svc: Obj, pod: Obj) -> Obj:
    publish = bool((svc.get("spec") or {}).get("publishNotReadyAddresses"))
    serving = pods.is_ready(pod)
    terminating = bool(pod["metadata"].get("deletionTimestamp"))
    return {"addresses": [endpointpods.pod_ip(pod)],
            "conditions": {"ready": publish or (serving and not terminating),
                           "serving": publish or serving, "terminating": terminating},
            **endpointpods.placement(svc, pod)}


def ports_key(ports: list[Obj]) -> PortsKey:
    return tuple(sorted((p.get("name", ""), p.get("port", 0), p.get("protocol", "TCP"),
                         p.get("appProtocol", "")) for p in ports))


def desired_groups(svc: Obj, selected: list[Obj]) -> list[tuple[list[Obj], list[Obj]]]:
    """(ports, endpoints) of each slice the Service should have, fullest first."""
    spec = svc.get("spec") or {}
    groups: dict[PortsKey, tuple[list[Obj], list[Obj]]] = {}
    for pod in selected:
        if not endpointpods.should_include(pod, include_terminating=True):
            continue
        ports = endpointpods.endpoint_ports(svc, pod)
        if not ports and spec.get("ports"):
            continue
        ports.sort(key=lambda p: (p["name"], p["port"]))
        groups.setdefault(ports_key(ports), (ports, []))[1].append(endpoint(svc, pod))
    out = []
    for key in sorted(groups):
        ports, eps = groups[key]
        eps.sort(key=lambda e: (e["addresses"][0], e["targetRef"]["uid"]))
        for i in range(0, len(eps), MAX_ENDPOINTS):
            out.append((ports, eps[i:i + MAX_ENDPOINTS]))
    return out or [([], [])]


def slice_labels(svc: Obj) -> dict[str, str]:
    out = endpointpods.endpoint_labels(svc)
    out[SERVICE_NAME] = svc["metadata"]["name"]
    out[MANAGED_BY] = CONTROLLER_NAME
    return out


def owner_reference(svc: Obj) -> Obj:
    meta = svc["metadata"]
    return {"apiVersion": "v1", "kind": "Service", "name": meta["name"], "uid": meta["uid"],
            "controller": True, "blockOwnerDeletion": True}


def build(svc: Obj, ports: list[Obj], eps: list[Obj], current: Obj | None) -> Obj | None:
    """The slice to write for one group, or None when `current` already says it."""
    want_labels = slice_labels(svc)
    owner = owner_reference(svc)
    if current is not None and current.get("endpoints") == eps \
            and (current.get("ports") or []) == ports \
            and current["metadata"].get("labels") == want_labels \
            and current["metadata"].get("ownerReferences") == [owner]:
        return None
    annotations = dict((current or {}).get("metadata", {}).get("annotations") or {})
    annotations[endpointpods.TRIGGER_TIME] = events.now()
    meta: Obj = {"namespace": svc["metadata"]["namespace"], "labels": want_labels,
                 "annotations": annotations, "ownerReferences": [owner]}
    if current is None:
        meta["generateName"] = svc["metadata"]["name"] + "-"
    else:
        meta["name"] = current["metadata"]["name"]
        meta["resourceVersion"] = current["metadata"].get("resourceVersion")
    return {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice", "metadata": meta,
            "addressType": "IPv4", "endpoints": eps, "ports": ports}


def plan(svc: Obj, selected: list[Obj], existing: list[Obj]) -> tuple[list[Obj], list[Obj]]:
    """(slices to create or update, slices to delete): existing slices with the same ports
    are reused in name order before new ones are made."""
    free: dict[PortsKey, list[Obj]] = {}
    for s in sorted(existing, key=lambda s: s["metadata"]["name"]):
        free.setdefault(ports_key(s.get("ports") or []), []).append(s)
    writes = []
    for ports, eps in desired_groups(svc, selected):
        candidates = free.get(ports_key(ports)) or []
        current = candidates.pop(0) if candidates else None
        obj = build(svc, ports, eps, current)
        if obj is not None:
            writes.append(obj)
    return writes, [s for group in free.values() for s in group]


class EndpointSliceController(endpointpods.ServicePodsController):
    name = "endpointslice-controller"

    def __init__(self, client: rest.Client, informers: factory.InformerFactory) -> None:
        super().__init__(client, informers)
        self.slice_rt = client.resource("discovery.k8s.io/v1", "EndpointSlice")
        self.slice_informer = informers.informer("discovery.k8s.io/v1", "EndpointSlice",
                                                 service=by_service)
        self.slice_informer.add_handlers(informer.Handlers(
            on_add=self._slice_event, on_update=self._slice_updated,
            on_delete=self._slice_event))
        # Slices this controller wrote, per Service: name -> resourceVersion (-1: deleted).
        # Until the informer shows them, a sync would act on a stale view and duplicate.
        self._written: dict[str, dict[str, int]] = {}

    def _stale(self, key: str) -> bool:
        namespace = key.partition("/")[0]
        for name, rv in (self._written.get(key) or {}).items():
            cur = self.slice_informer.get(f"{namespace}/{name}")
            if (cur is not None) if rv < 0 else (
                    cur is None or int(cur["metadata"].get("resourceVersion") or 0) < rv):
                return True
        self._written.pop(key, None)
        return False

    def _slice_event(self, slice_: Obj) -> None:
        for key in by_service(slice_):
            self.queue.add(key)

    def _slice_updated(self, old: Obj, new: Obj) -> None:
        if old["metadata"].get("resourceVersion") != new["metadata"].get("resourceVersion"):
            self._slice_event(old)
            self._slice_event(new)

    async def sync(self, key: str) -> None:
        svc = self.svc_informer.get(key)
        if svc is None or endpointpods.selector_of(svc) is None:
            self._written.pop(key, None)
            return  # the garbage collector removes slices of deleted Services
        if svc["metadata"].get("deletionTimestamp") or self._stale(key):
            return  # a stale view: the slice events still due will enqueue the Service
        existing = self.slice_informer.by_index("service", key)
        writes, deletes = plan(svc, endpointpods.selected_pods(svc, self.pod_informer),
                               existing)
        namespace = svc["metadata"]["namespace"]
        written = self._written.setdefault(key, {})
        for obj in writes:
            if "name" in obj["metadata"]:
                stored = await self.client.update(self.slice_rt, obj)
            else:
                stored = await self.client.create(self.slice_rt, obj, namespace)
            written[stored["metadata"]["name"]] = int(stored["metadata"]["resourceVersion"])
        for obj in deletes:
            name = obj["metadata"]["name"]
            try:
                await self.client.delete(self.slice_rt, name, namespace)
            except errors.APIError as e:
                if not errors.is_not_found(e):
                    raise
            written[name] = -1
