"""Printers for networking.k8s.io (Ingress, IngressClass, NetworkPolicy) and EndpointSlice."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from kubelite.api import labels
from kubelite.api.printers import cells, columns
from kubelite.api.printers.columns import column

Obj = dict[str, Any]


def _hosts(ing: Obj) -> str:
    rules = cells.get(ing, "spec", "rules", default=[])
    hosts: list[str] = []
    more = False
    for rule in rules:
        more = more or len(hosts) == 3
        if not more and rule.get("host"):
            hosts.append(str(rule["host"]))
    if not hosts:
        return "*"
    text = ",".join(hosts)
    return f"{text} + {len(rules) - 3} more..." if more else text


def _ingress(ing: Obj, now: datetime) -> list[Any]:
    return [cells.name(ing), cells.get(ing, "spec", "ingressClassName") or "<none>", _hosts(ing),
            cells.load_balancer(cells.get(ing, "status", "loadBalancer", "ingress")),
            "80, 443" if cells.get(ing, "spec", "tls") else "80", cells.age(ing, now)]


def _ingress_class(ic: Obj, now: datetime) -> list[Any]:
    params = cells.get(ic, "spec", "parameters")
    text = "<none>"
    if params:
        kind = params.get("kind", "")
        if params.get("apiGroup") is not None:
            kind = f"{kind}.{params['apiGroup']}"
        text = f"{kind}/{params.get('name', '')}"
    return [cells.name(ic), cells.get(ic, "spec", "controller", default=""), text,
            cells.age(ic, now)]


def _slice_ports(es: Obj) -> str:
    found = []
    for p in es.get("ports") or []:
        port = p.get("port")
        found.append(str(port) if port is not None else
                     str(p["name"]) if p.get("name") is not None else "*")
    return cells.with_more(found, len(found))


def _slice_endpoints(es: Obj) -> str:
    found = [str(a) for e in es.get("endpoints") or [] for a in e.get("addresses") or []]
    return cells.with_more(found, len(found))


def printers() -> dict[tuple[str, str], columns.Printer]:
    p, name, age = columns.printer, columns.name, columns.age
    return {
        ("networking.k8s.io", "Ingress"): p([
            name(), column("Class", description="The IngressClass this ingress uses."),
            column("Hosts", description="Hosts requests are matched against."),
            column("Address", description="Ingress points of the load balancer."),
            column("Ports", description="Ports of TLS configurations that open"), age()], _ingress),
        ("networking.k8s.io", "IngressClass"): p([
            name(), column("Controller", description="Controller that handles this class."),
            column("Parameters", description="Reference to the class's parameters."), age()],
            _ingress_class),
        ("networking.k8s.io", "NetworkPolicy"): p([
            name(), column("Pod-Selector", description="Pods the policy applies to."), age()],
            lambda o, now: [cells.name(o), labels.format_label_selector(
                cells.get(o, "spec", "podSelector", default={})), cells.age(o, now)]),
        ("discovery.k8s.io", "EndpointSlice"): p([
            name(), column("AddressType", description="Type of the addresses."),
            column("Ports", description="Ports of the endpoints."),
            column("Endpoints", description="Addresses of the endpoints."), age()],
            lambda o, now: [cells.name(o), o.get("addressType", ""), _slice_ports(o),
                            _slice_endpoints(o), cells.age(o, now)]),
    }
