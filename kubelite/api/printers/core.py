"""Printers for core/v1 kinds other than Pod, Event and the volume kinds."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from kubelite.api import labels
from kubelite.api.printers import cells, columns
from kubelite.api.printers.columns import column, wide

Obj = dict[str, Any]


def _service_external_ip(svc: Obj) -> str:
    spec = svc.get("spec") or {}
    external = [str(ip) for ip in spec.get("externalIPs") or []]
    kind = spec.get("type") or "ClusterIP"
    if kind in ("ClusterIP", "NodePort"):
        return ",".join(external) or "<none>"
    if kind == "LoadBalancer":
        lb = cells.load_balancer(cells.get(svc, "status", "loadBalancer", "ingress"))
        joined = ",".join(([lb] if lb else []) + external)
        return joined or "<pending>"
    if kind == "ExternalName":
        return str(spec.get("externalName", ""))
    return "<unknown>"


def _ports(svc: Obj) -> str:
    out = []
    for p in cells.get(svc, "spec", "ports", default=[]):
        proto = p.get("protocol") or "TCP"
        node_port = p.get("nodePort") or 0
        out.append(f"{p.get('port')}:{node_port}/{proto}" if node_port > 0
                   else f"{p.get('port')}/{proto}")
    return ",".join(out) or "<none>"


def _service(svc: Obj, now: datetime) -> list[Any]:
    spec = svc.get("spec") or {}
    ips = spec.get("clusterIPs") or ([spec["clusterIP"]] if spec.get("clusterIP") else [])
    return [cells.name(svc), spec.get("type") or "ClusterIP", ips[0] if ips else "<none>",
            _service_external_ip(svc), _ports(svc), cells.age(svc, now),
            labels.format_labels(spec.get("selector"))]


def _node_status(node: Obj) -> str:
    ready = [c for c in cells.get(node, "status", "conditions", default=[])
             if c.get("type") == "Ready"]
    status = []
    if ready:
        status.append("Ready" if ready[-1].get("status") == "True" else "NotReady")
    else:
        status.append("Unknown")
    if cells.get(node, "spec", "unschedulable"):
        status.append("SchedulingDisabled")
    return ",".join(status)


def _node_roles(node: Obj) -> str:
    roles = set()
    for key, value in (cells.get(node, "metadata", "labels") or {}).items():
        if key.startswith("node-role.kubernetes.io/") and key[len("node-role.kubernetes.io/"):]:
            roles.add(key[len("node-role.kubernetes.io/"):])
        elif key == "kubernetes.io/role" and value:
            roles.add(value)
    return ",".join(sorted(roles)) or "<none>"


def _node_address(node: Obj, kind: str) -> str:
    for a in cells.get(node, "status", "addresses", default=[]):
        if a.get("type") == kind:
            return str(a.get("address", ""))
    return "<none>"


def _node(node: Obj, now: datetime) -> list[Any]:
    info = cells.get(node, "status", "nodeInfo", default={})
    return [cells.name(node), _node_status(node), _node_roles(node), cells.age(node, now),
            info.get("kubeletVersion", ""), _node_address(node, "InternalIP"),
            _node_address(node, "ExternalIP"), info.get("osImage") or "<unknown>",
            info.get("kernelVersion") or "<unknown>",
            info.get("containerRuntimeVersion") or "<unknown>"]


def _endpoints(ep: Obj) -> str:
    subsets = ep.get("subsets") or []
    if not subsets:
        return "<none>"
    found: list[str] = []
    for ss in subsets:
        addrs = [str(a.get("ip", "")) for a in ss.get("addresses") or []]
        ports = ss.get("ports") or []
        if not ports:
            found.extend(addrs)
        for p in ports:
            found.extend(f"[{ip}]:{p.get('port')}" if ":" in ip else f"{ip}:{p.get('port')}"
                         for ip in addrs)
    return cells.with_more(found, len(found), empty="")


def _quota(rq: Obj, now: datetime) -> list[Any]:
    hard = cells.get(rq, "status", "hard", default={})
    used = cells.get(rq, "status", "used", default={})
    requests: list[str] = []
    limits: list[str] = []
    for res in sorted(hard):
        text = f"{res}: {cells.qty(used.get(res))}/{cells.qty(hard[res])}"
        (limits if res.split(".")[0] == "limits" and "." in res else requests).append(text)
    return [cells.name(rq), cells.age(rq, now), ", ".join(requests), ", ".join(limits)]


def _rc(rc: Obj, now: datetime) -> list[Any]:
    names, images = cells.containers(cells.get(rc, "spec", "template", "spec"))
    return [cells.name(rc), cells.integer(rc, "spec", "replicas", default=1),
            cells.integer(rc, "status", "replicas"), cells.integer(rc, "status", "readyReplicas"),
            cells.age(rc, now), names, images, labels.format_labels(cells.get(rc, "spec", "selector"))]


def _pod_template(pt: Obj, now: datetime) -> list[Any]:
    names, images = cells.containers(cells.get(pt, "template", "spec"))
    return [cells.name(pt), names, images,
            labels.format_labels(cells.get(pt, "template", "metadata", "labels"))]


def printers() -> dict[tuple[str, str], columns.Printer]:
    p = columns.printer
    name, age = columns.name, columns.age
    return {
        ("", "Service"): p([
            name(), column("Type", description="How the service is exposed."),
            column("Cluster-IP", description="The cluster-internal IP of the service."),
            column("External-IP", description="Addresses the service is reachable on from outside."),
            column("Port(s)", description="The ports the service exposes."), age(),
            wide("Selector", "Labels of the pods traffic is routed to.")], _service),
        ("", "Node"): p([
            name(), column("Status", description="The status of the node"),
            column("Roles", description="The roles of the node"), age(),
            column("Version", description="Kubelet version reported by the node."),
            wide("Internal-IP", "The node's internal address."),
            wide("External-IP", "The node's external address."),
            wide("OS-Image", "OS image reported by the node."),
            wide("Kernel-Version", "Kernel version reported by the node."),
            wide("Container-Runtime", "Container runtime version reported by the node.")], _node),
        ("", "Namespace"): p([name(), column("Status", description="The status of the namespace"),
                              age()], lambda o, now: [cells.name(o),
                                                      cells.get(o, "status", "phase", default=""),
                                                      cells.age(o, now)]),
        ("", "ConfigMap"): p([name(), column("Data", description="Number of data entries."), age()],
                             lambda o, now: [cells.name(o), len(o.get("data") or {})
                                             + len(o.get("binaryData") or {}), cells.age(o, now)]),
        ("", "Secret"): p([name(), column("Type", description="Type of the secret data."),
                           column("Data", description="Number of data entries."), age()],
                          lambda o, now: [cells.name(o), o.get("type", ""), len(o.get("data") or {}),
                                          cells.age(o, now)]),
        ("", "ServiceAccount"): p([name(), column("Secrets", description="Number of secrets."),
                                   age()], lambda o, now: [cells.name(o), len(o.get("secrets") or []),
                                                           cells.age(o, now)]),
        ("", "Endpoints"): p([name(), column("Endpoints", description="Ready addresses with ports."),
                              age()], lambda o, now: [cells.name(o), _endpoints(o), cells.age(o, now)]),
        ("", "ResourceQuota"): p([
            name(), age(), column("Request", description="Used and hard request quotas."),
            column("Limit", description="Used and hard limit quotas.")], _quota),
        ("", "ReplicationController"): p([
            name(), column("Desired", "integer", "Desired number of replicas."),
            column("Current", "integer", "Most recently observed number of replicas."),
            column("Ready", "integer", "Number of ready replicas."), age(),
            *columns.template_columns()], _rc),
        ("", "PodTemplate"): p([
            name(), column("Containers", description="Names of each container in the template."),
            column("Images", description="Images referenced by each container in the template."),
            column("Pod Labels", description="The labels for the pod template.")], _pod_template),
    }
