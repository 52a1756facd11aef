"""Service rules (upstream ValidateService / ValidateServiceUpdate, common cases)."""

from __future__ import annotations

from typing import Any

from kubelite.api import errors
from kubelite.api.validation import containers, field, meta, names

Obj = dict[str, Any]
TYPES = ("ClusterIP", "ExternalName", "LoadBalancer", "NodePort")
NODE_PORT_RANGE = (30000, 32767)


def service(obj: Obj, old: Obj | None) -> list[errors.Cause]:
    spec = obj.get("spec") or {}
    kind = spec.get("type") or "ClusterIP"
    causes: list[errors.Cause] = []
    if kind not in TYPES:
        causes.append(field.not_supported("spec.type", kind, TYPES))
    headless = spec.get("clusterIP") == "None"
    ports = spec.get("ports") or []
    if not ports and not headless and kind != "ExternalName":
        causes.append(field.required("spec.ports"))
    if kind == "ExternalName":
        causes += _external_name(spec.get("externalName"))
    causes += _ports(ports, kind)
    affinity = spec.get("sessionAffinity")
    if affinity is not None and affinity not in ("ClientIP", "None"):
        causes.append(field.not_supported("spec.sessionAffinity", affinity, ("ClientIP", "None")))
    causes += meta.labels("spec.selector", spec.get("selector"))
    policy = spec.get("externalTrafficPolicy")
    if policy and kind not in ("NodePort", "LoadBalancer"):
        causes.append(field.invalid("spec.externalTrafficPolicy", policy,
                                    "may only be set when `type` is 'NodePort' or 'LoadBalancer'"))
    if old is not None:
        causes += _cluster_ip_update(spec, old.get("spec") or {})
    return causes


def _external_name(name: Any) -> list[errors.Cause]:
    if not name:
        return [field.required("spec.externalName")]
    return [field.invalid("spec.externalName", name, m)
            for m in names.is_dns1123_subdomain(name.removesuffix("."))]


def _ports(ports: list[Any], kind: str) -> list[errors.Cause]:
    causes: list[errors.Cause] = []
    seen_names: set[str] = set()
    seen_ports: set[tuple[Any, Any]] = set()
    for i, port in enumerate(ports):
        path = field.index("spec.ports", i)
        causes += _port_name(port.get("name") or "", path, len(ports) > 1, seen_names)
        number = port.get("port")
        if isinstance(number, int):
            causes += [field.invalid(field.join(path, "port"), number, m)
                       for m in names.is_port_number(number)]
        proto = port.get("protocol")
        if proto is not None and proto not in containers.PROTOCOLS:
            causes.append(field.not_supported(field.join(path, "protocol"), proto,
                                              containers.PROTOCOLS))
        key = (number, proto or "TCP")
        if key in seen_ports:
            causes.append(field.duplicate(path, {"port": number, "protocol": proto or "TCP"}))
        seen_ports.add(key)
        causes += _target_port(port.get("targetPort"), field.join(path, "targetPort"))
        causes += _node_port(port.get("nodePort"), field.join(path, "nodePort"), kind)
    return causes


def _port_name(name: str, path: str, many: bool, seen: set[str]) -> list[errors.Cause]:
    if not name:
        return [field.required(field.join(path, "name"))] if many else []
    causes = [field.invalid(field.join(path, "name"), name, m) for m in names.is_dns1123_label(name)]
    if name in seen:
        causes.append(field.duplicate(field.join(path, "name"), name))
    seen.add(name)
    return causes


def _target_port(target: Any, path: str) -> list[errors.Cause]:
    if isinstance(target, int) and target != 0:
        return [field.invalid(path, target, m) for m in names.is_port_number(target)]
    if isinstance(target, str) and target:
        return [field.invalid(path, target, m) for m in names.is_port_name(target)]
    return []


def _node_port(node_port: Any, path: str, kind: str) -> list[errors.Cause]:
    if not isinstance(node_port, int) or node_port == 0:
        return []
    if kind not in ("NodePort", "LoadBalancer"):
        return [field.forbidden(path, f"may not be used when `type` is '{kind}'")]
    low, high = NODE_PORT_RANGE
    if not low <= node_port <= high:
        return [field.invalid(path, node_port, "provided port is not in the valid range. "
                              f"The range of valid ports is {low}-{high}")]
    return []


def _cluster_ip_update(spec: Obj, old: Obj) -> list[errors.Cause]:
    """An allocated clusterIP stays; leaving it out of an update keeps the old one."""
    if "ExternalName" in (spec.get("type"), old.get("type")):
        return []
    new_ip, old_ip = spec.get("clusterIP"), old.get("clusterIP")
    if new_ip and old_ip and new_ip != old_ip:
        return [field.invalid("spec.clusterIPs[0]", new_ip, "may not change once set")]
    return []
