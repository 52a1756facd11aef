"""What the Endpoints and EndpointSlice controllers know about Services and their pods:
which pods back a Service, which pods count, and which port each Service port reaches.
"""

from __future__ import annotations

import logging
import typing
from typing import Any

from kubelite.api import labels
from kubelite.client import factory, informer, rest
from kubelite.controllers import controller, pods

log = logging.getLogger(__name__)

Obj = dict[str, Any]
HEADLESS_LABEL = "service.kubernetes.io/headless"
TRIGGER_TIME = "endpoints.kubernetes.io/last-change-trigger-time"


def selector_of(svc: Obj) -> labels.Selector | None:
    """The Service's pod selector; None when it has none (its endpoints are user-managed)."""
    sel = (svc.get("spec") or {}).get("selector")
    if not sel:
        return None
    return labels.from_set(sel)


def is_headless(svc: Obj) -> bool:
    return (svc.get("spec") or {}).get("clusterIP") == "None"


def pod_ip(pod: Obj) -> str:
    status = pod.get("status") or {}
    if status.get("podIP"):
        return str(status["podIP"])
    ips = status.get("podIPs") or []
    return str(ips[0].get("ip", "")) if ips else ""


def is_terminal(pod: Obj) -> bool:
    return (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed")


def should_include(pod: Obj, *, include_terminating: bool) -> bool:
    """A pod is an endpoint when it has an address, has not finished, and (unless asked
    otherwise) is not being deleted."""
    if not pod_ip(pod) or is_terminal(pod):
        return False
    return include_terminating or not pod["metadata"].get("deletionTimestamp")


def find_port(pod: Obj, svc_port: Obj) -> int | None:
    """The container port a Service port's targetPort names on this pod (None: none)."""
    target = svc_port.get("targetPort", svc_port.get("port"))
    if isinstance(target, int):
        return target
    if isinstance(target, str) and target.isdigit():
        return int(target)
    protocol = svc_port.get("protocol") or "TCP"
    for container in (pod.get("spec") or {}).get("containers") or []:
        for port in container.get("ports") or []:
            if port.get("name") == target and (port.get("protocol") or "TCP") == protocol:
                return int(port["containerPort"])
    return None


def endpoint_ports(svc: Obj, pod: Obj) -> list[Obj]:
    """The pod's ports for each Service port it can serve (name, port, protocol)."""
    out = []
    for svc_port in (svc.get("spec") or {}).get("ports") or []:
        number = find_port(pod, svc_port)
        if number is None:
            continue
        port: Obj = {"name": svc_port.get("name", ""), "port": number,
                     "protocol": svc_port.get("protocol") or "TCP"}
        if svc_port.get("appProtocol"):
            port["appProtocol"] = svc_port["appProtocol"]
        out.append(port)
    return out


def target_ref(pod: Obj) -> Obj:
    meta = pod["metadata"]
    return {"kind": "Pod", "namespace": meta["namespace"], "name": meta["name"],
            "uid": meta.get("uid", "")}


def hostname(svc: Obj, pod: Obj) -> str:
    """A pod's hostname is published when its subdomain is this (headless) Service."""
    spec = pod.get("spec") or {}
    if spec.get("hostname") and spec.get("subdomain") == svc["metadata"]["name"] \
            and pod["metadata"]["namespace"] == svc["metadata"]["namespace"]:
        return str(spec["hostname"])
    return ""


def placement(svc: Obj, pod: Obj) -> Obj:
    """What an endpoint (in Endpoints or an EndpointSlice alike) says of its pod besides the
    address: hostname (when the service's subdomain asks for it), nodeName, targetRef."""
    out: Obj = {}
    host = hostname(svc, pod)
    if host:
        out["hostname"] = host
    node = (pod.get("spec") or {}).get("nodeName")
    if node:
        out["nodeName"] = node
    out["targetRef"] = target_ref(pod)
    return out


def selected_pods(svc: Obj, pod_informer: informer.Informer) -> list[Obj]:
    selector = selector_of(svc)
    if selector is None:
        return []
    return [p for p in _in_namespace(pod_informer, svc["metadata"]["namespace"])
            if selector.matches(p["metadata"].get("labels") or {})]


def _in_namespace(inf: informer.Informer, namespace: str) -> list[Obj]:
    # Informer.list (a method) shadows the builtin in its annotations; restate the type.
    return typing.cast(list[Obj], inf.by_index("namespace", namespace))


def endpoint_labels(svc: Obj) -> dict[str, str]:
    """The Service's labels, plus the headless marker when it has no cluster IP."""
    out = dict(svc["metadata"].get("labels") or {})
    out.pop(HEADLESS_LABEL, None)
    if is_headless(svc):
        out[HEADLESS_LABEL] = ""
    return out


def services_for_pod(pod: Obj, svc_informer: informer.Informer) -> list[str]:
    """Keys of the Services in the pod's namespace whose selector matches it."""
    pod_labels = pod["metadata"].get("labels") or {}
    out = []
    for svc in _in_namespace(svc_informer, pod["metadata"]["namespace"]):
        selector = selector_of(svc)
        if selector is not None and selector.matches(pod_labels):
            out.append(informer.key_of(svc))
    return out


def _fingerprint(pod: Obj) -> tuple[Any, ...]:
    meta, spec = pod["metadata"], pod.get("spec") or {}
    return (pod_ip(pod), pods.is_ready(pod), meta.get("deletionTimestamp"), meta.get("labels"),
            is_terminal(pod), spec.get("nodeName"), spec.get("hostname"), spec.get("subdomain"))


def pod_changed(old: Obj, new: Obj) -> bool:
    """Whether an update may move the pod in or out of an endpoint set."""
    if old["metadata"].get("resourceVersion") == new["metadata"].get("resourceVersion"):
        return False
    return _fingerprint(old) != _fingerprint(new)


class ServicePodsController(controller.Controller):
    """A controller keyed by Service that re-syncs a Service when it or a pod it selects
    (before or after the change) changes."""

    def __init__(self, client: rest.Client, informers: factory.InformerFactory) -> None:
        super().__init__(client, informers)
        self.svc_informer = informers.informer("v1", "Service")
        self.pod_informer = informers.informer("v1", "Pod")
        self.svc_informer.add_handlers(self.enqueue_handlers())
        self.pod_informer.add_handlers(informer.Handlers(
            on_add=self._pod_event, on_update=self._pod_updated, on_delete=self._pod_event))

    def _pod_event(self, pod: Obj) -> None:
        for key in services_for_pod(pod, self.svc_informer):
            self.queue.add(key)

    def _pod_updated(self, old: Obj, new: Obj) -> None:
        if not pod_changed(old, new):
            return
        keys = set(services_for_pod(new, self.svc_informer))
        if old["metadata"].get("labels") != new["metadata"].get("labels"):
            keys |= set(services_for_pod(old, self.svc_informer))
        for key in keys:
            self.queue.add(key)
