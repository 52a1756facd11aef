"""Container rules (upstream validateContainers): names, images, ports, env, mounts, probes."""

from __future__ import annotations

from typing import Any

from kubelite.api import errors
from kubelite.api.validation import field, names, quantity

PROTOCOLS = ("SCTP", "TCP", "UDP")
_PULL_POLICIES = ("Always", "IfNotPresent", "Never")
_MESSAGE_POLICIES = ("FallbackToLogsOnError", "File")
_HANDLERS = ("exec", "httpGet", "tcpSocket", "grpc")


def validate(ctr: dict[str, Any], path: str, *, volumes: set[str]) -> list[errors.Cause]:
    causes: list[errors.Cause] = []
    name = ctr.get("name")
    if name:
        causes += [field.invalid(field.join(path, "name"), name, m)
                   for m in names.is_dns1123_label(name)]
    if not ctr.get("image"):
        causes.append(field.required(field.join(path, "image")))
    for attr, allowed in (("imagePullPolicy", _PULL_POLICIES),
                          ("terminationMessagePolicy", _MESSAGE_POLICIES)):
        value = ctr.get(attr)
        if value is not None and value not in allowed:
            causes.append(field.not_supported(field.join(path, attr), value, allowed))
    causes += _ports(ctr.get("ports") or [], field.join(path, "ports"))
    causes += _env(ctr.get("env") or [], field.join(path, "env"))
    causes += _mounts(ctr.get("volumeMounts") or [], field.join(path, "volumeMounts"), volumes)
    causes += _resources(ctr.get("resources") or {}, field.join(path, "resources"))
    for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
        if isinstance(ctr.get(probe), dict):
            causes += _probe(ctr[probe], field.join(path, probe), probe != "readinessProbe")
    return causes


def _ports(ports: list[Any], path: str) -> list[errors.Cause]:
    causes: list[errors.Cause] = []
    seen: set[str] = set()
    for i, port in enumerate(ports):
        ppath = field.index(path, i)
        name = port.get("name")
        if name:
            causes += [field.invalid(field.join(ppath, "name"), name, m)
                       for m in names.is_port_name(name)]
            if name in seen:
                causes.append(field.duplicate(field.join(ppath, "name"), name))
            seen.add(name)
        number = port.get("containerPort")
        if isinstance(number, int):
            causes += [field.invalid(field.join(ppath, "containerPort"), number, m)
                       for m in names.is_port_number(number)]
        host = port.get("hostPort")
        if isinstance(host, int) and host != 0:
            causes += [field.invalid(field.join(ppath, "hostPort"), host, m)
                       for m in names.is_port_number(host)]
        proto = port.get("protocol")
        if proto is not None and proto not in PROTOCOLS:
            causes.append(field.not_supported(field.join(ppath, "protocol"), proto, PROTOCOLS))
    return causes


def _env(env: list[Any], path: str) -> list[errors.Cause]:
    causes = []
    for i, var in enumerate(env):
        name = var.get("name") or ""
        if name and (any(c == "=" or not " " <= c <= "~" for c in name)):
            causes.append(field.invalid(
                field.join(field.index(path, i), "name"), name,
                "a valid environment variable name must consist only of printable ASCII "
                "characters other than '='"))
        if var.get("value") and var.get("valueFrom"):
            causes.append(field.invalid(
                field.join(field.index(path, i), "valueFrom"), "",
                "may not be specified when `value` is not empty"))
    return causes


def _mounts(mounts: list[Any], path: str, volumes: set[str]) -> list[errors.Cause]:
    causes = []
    seen: set[str] = set()
    for i, mount in enumerate(mounts):
        mpath = field.index(path, i)
        name, target = mount.get("name") or "", mount.get("mountPath") or ""
        if name and name not in volumes:
            causes.append(errors.Cause(field.join(mpath, "name"), f"Not found: {field.show(name)}",
                                       "FieldValueNotFound"))
        if target in seen:
            causes.append(field.invalid(field.join(mpath, "mountPath"), target, "must be unique"))
        seen.add(target)
    return causes


def _resources(res: dict[str, Any], path: str) -> list[errors.Cause]:
    causes = []
    limits, requests = res.get("limits") or {}, res.get("requests") or {}
    for name, value in requests.items():
        if name in limits:
            req, lim = quantity.parse(value), quantity.parse(limits[name])
            if req is not None and lim is not None and req > lim:
                causes.append(field.invalid(field.key(field.join(path, "requests"), name), value,
                                            f"must be less than or equal to {name} limit of "
                                            f"{limits[name]}"))
    for kind, values in (("limits", limits), ("requests", requests)):
        for name, value in values.items():
            q = quantity.parse(value)
            if q is not None and q < 0:
                causes.append(field.invalid(field.key(field.join(path, kind), name), value,
                                            "must be greater than or equal to 0"))
    return causes


def _probe(probe: dict[str, Any], path: str, single_success: bool) -> list[errors.Cause]:
    causes = []
    handlers = [h for h in _HANDLERS if probe.get(h) is not None]
    if not handlers:
        causes.append(field.required(path, "must specify a handler type"))
    elif len(handlers) > 1:
        causes.append(field.forbidden(field.join(path, handlers[1]),
                                      "may not specify more than 1 handler type"))
    for attr in ("initialDelaySeconds", "timeoutSeconds", "periodSeconds", "successThreshold",
                 "failureThreshold"):
        causes += field.non_negative(field.join(path, attr), probe.get(attr))
    success = probe.get("successThreshold")
    if single_success and isinstance(success, int) and success != 1:
        causes.append(field.invalid(field.join(path, "successThreshold"), success, "must be 1"))
    return causes
