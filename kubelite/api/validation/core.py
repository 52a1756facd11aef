"""Rules for the core kinds without controllers: ConfigMap, Secret, Namespace, Node, Event,
PersistentVolumeClaim, ServiceAccount."""

from __future__ import annotations

from typing import Any

from kubelite.api import errors
from kubelite.api.validation import field, names

Obj = dict[str, Any]
MAX_DATA_BYTES = 1024 * 1024
_IMMUTABLE_MSG = "field is immutable when `immutable` is set"
_SECRET_KEYS = {
    "kubernetes.io/dockerconfigjson": (".dockerconfigjson",),
    "kubernetes.io/dockercfg": (".dockercfg",),
    "kubernetes.io/tls": ("tls.crt", "tls.key"),
    "kubernetes.io/ssh-auth": ("ssh-privatekey",),
}


def _data_keys(obj: Obj, attrs: tuple[str, ...]) -> list[errors.Cause]:
    causes: list[errors.Cause] = []
    seen: set[str] = set()
    size = 0
    for attr in attrs:
        for k, v in (obj.get(attr) or {}).items():
            causes += [field.invalid(attr, k, m) for m in names.is_config_map_key(k)]
            if k in seen:
                causes.append(field.invalid(attr, k, "duplicate of key present in data"))
            seen.add(k)
            size += len(k) + len(v or "")
    if size > MAX_DATA_BYTES:
        causes.append(field.too_long_bytes("", MAX_DATA_BYTES))
    return causes


def _immutable_data(obj: Obj, old: Obj | None, attrs: tuple[str, ...]) -> list[errors.Cause]:
    if old is None or not old.get("immutable"):
        return []
    causes = []
    if not obj.get("immutable"):
        causes.append(field.forbidden("immutable", _IMMUTABLE_MSG))
    for attr in attrs:
        if (obj.get(attr) or {}) != (old.get(attr) or {}):
            causes.append(field.forbidden(attr, _IMMUTABLE_MSG))
    return causes


def config_map(obj: Obj, old: Obj | None) -> list[errors.Cause]:
    attrs = ("data", "binaryData")
    return _data_keys(obj, attrs) + _immutable_data(obj, old, attrs)


def secret(obj: Obj, old: Obj | None) -> list[errors.Cause]:
    causes = _data_keys(obj, ("data",)) + _immutable_data(obj, old, ("data",))
    kind = obj.get("type") or "Opaque"
    data = {**(obj.get("data") or {}), **(obj.get("stringData") or {})}
    for key in _SECRET_KEYS.get(kind, ()):
        if key not in data:
            causes.append(field.required(field.key("data", key)))
    if kind == "kubernetes.io/service-account-token":
        annotations = (obj.get("metadata") or {}).get("annotations") or {}
        if not annotations.get("kubernetes.io/service-account.name"):
            causes.append(field.required(
                "metadata.annotations[kubernetes.io/service-account.name]"))
    if kind == "kubernetes.io/basic-auth" and not ({"username", "password"} & set(data)):
        causes.append(field.required(field.key("data", "username")))
    if old is not None and (old.get("type") or "Opaque") != kind:
        causes.append(field.immutable("type", kind))
    return causes


def namespace(obj: Obj, old: Obj | None) -> list[errors.Cause]:
    causes = []
    for i, fin in enumerate((obj.get("spec") or {}).get("finalizers") or []):
        causes += [field.invalid(field.index("spec.finalizers", i), fin, m)
                   for m in names.is_qualified_name(fin or "")]
    return causes


def node(obj: Obj, old: Obj | None) -> list[errors.Cause]:
    causes: list[errors.Cause] = []
    seen: set[tuple[str, str]] = set()
    effects = ("NoExecute", "NoSchedule", "PreferNoSchedule")
    for i, taint in enumerate((obj.get("spec") or {}).get("taints") or []):
        path = field.index("spec.taints", i)
        key, effect = taint.get("key") or "", taint.get("effect") or ""
        if not key:
            causes.append(field.required(field.join(path, "key")))
        causes += [field.invalid(field.join(path, "key"), key, m)
                   for m in names.is_qualified_name(key)] if key else []
        if not effect:
            causes.append(field.required(field.join(path, "effect")))
        elif effect not in effects:
            causes.append(field.not_supported(field.join(path, "effect"), effect, effects))
        if (key, effect) in seen:
            causes.append(field.duplicate(path, taint))
        seen.add((key, effect))
    return causes


def event(obj: Obj, old: Obj | None) -> list[errors.Cause]:
    ns = (obj.get("metadata") or {}).get("namespace") or ""
    involved = obj.get("involvedObject") or obj.get("regarding") or {}
    path = "involvedObject" if "involvedObject" in obj else "regarding"
    target = involved.get("namespace") or ""
    if target and ns != target:
        return [field.invalid(f"{path}.namespace", target, "does not match event.namespace")]
    event_type = obj.get("type")
    if event_type and obj.get("apiVersion", "").startswith("events.k8s.io") and \
            event_type not in ("Normal", "Warning"):
        return [field.invalid("type", event_type, "has invalid value: " + event_type)]
    return []


def persistent_volume_claim(obj: Obj, old: Obj | None) -> list[errors.Cause]:
    spec = obj.get("spec") or {}
    causes: list[errors.Cause] = []
    modes = ("ReadOnlyMany", "ReadWriteMany", "ReadWriteOnce", "ReadWriteOncePod")
    if not spec.get("accessModes"):
        causes.append(field.required("spec.accessModes", "at least 1 access mode is required"))
    for i, mode in enumerate(spec.get("accessModes") or []):
        if mode not in modes:
            causes.append(field.not_supported(field.index("spec.accessModes", i), mode, modes))
    if not ((spec.get("resources") or {}).get("requests") or {}).get("storage"):
        causes.append(field.required("spec.resources[storage]"))
    if old is not None and old.get("spec", {}).get("volumeName") and \
            spec.get("volumeName") != old["spec"]["volumeName"]:
        causes.append(field.forbidden("spec", "spec is immutable after creation except "
                                      "resources.requests and volumeAttributesClassName for "
                                      "bound claims"))
    return causes
