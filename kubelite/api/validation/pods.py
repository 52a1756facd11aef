"""Pod spec rules a schema cannot express (upstream ValidatePodSpec, trimmed to common cases).

Used for Pods and for every pod template (Deployments, Jobs, ...), hence the `path` argument.
"""

from __future__ import annotations

from typing import Any

from kubelite.api import errors
from kubelite.api.validation import containers, field, meta, names

RESTART_POLICIES = ("Always", "Never", "OnFailure")
_DNS_POLICIES = ("ClusterFirst", "ClusterFirstWithHostNet", "Default", "None")
_TOLERATION_OPS = ("Equal", "Exists")
_EFFECTS = ("NoExecute", "NoSchedule", "PreferNoSchedule")
_VOLUME_META = {"name"}


def validate_spec(spec: Any, path: str) -> list[errors.Cause]:
    """Every cause in one PodSpec found at `path` (e.g. `spec.template.spec`)."""
    if not isinstance(spec, dict):
        return []
    volumes = _volume_names(spec, path)
    causes = _volumes(spec, path)
    if spec.get("containers") == []:
        # The schema only says "present"; upstream's PodSpec rule wants at least one.
        causes.append(field.required(field.join(path, "containers")))
    seen: set[str] = set()
    for key in ("initContainers", "containers"):
        for i, ctr in enumerate(spec.get(key) or []):
            cpath = field.index(field.join(path, key), i)
            causes += containers.validate(ctr, cpath, volumes=volumes)
            name = ctr.get("name")
            if name and name in seen:
                causes.append(field.duplicate(field.join(cpath, "name"), name))
            seen.add(name)
    causes += _enum(spec, path, "restartPolicy", RESTART_POLICIES)
    causes += _enum(spec, path, "dnsPolicy", _DNS_POLICIES)
    causes += _scalars(spec, path)
    causes += meta.labels(field.join(path, "nodeSelector"), spec.get("nodeSelector"))
    for i, tol in enumerate(spec.get("tolerations") or []):
        causes += _toleration(tol, field.index(field.join(path, "tolerations"), i))
    return causes


def _enum(obj: dict[str, Any], path: str, attr: str, allowed: tuple[str, ...]) -> list[errors.Cause]:
    value = obj.get(attr)
    if value is None or value in allowed:
        return []
    if value == "":
        return [field.required(field.join(path, attr))]
    return [field.not_supported(field.join(path, attr), value, allowed)]


def _scalars(spec: dict[str, Any], path: str) -> list[errors.Cause]:
    causes = field.non_negative(field.join(path, "terminationGracePeriodSeconds"),
                                spec.get("terminationGracePeriodSeconds"))
    deadline = spec.get("activeDeadlineSeconds")
    if isinstance(deadline, int) and not 1 <= deadline <= 2**31 - 1:
        causes.append(field.invalid(field.join(path, "activeDeadlineSeconds"), deadline,
                                    "must be between 1 and 2147483647, inclusive"))
    for attr in ("hostname", "subdomain"):
        value = spec.get(attr)
        if value:
            causes += [field.invalid(field.join(path, attr), value, m)
                       for m in names.is_dns1123_label(value)]
    for attr in ("serviceAccountName", "priorityClassName"):
        value = spec.get(attr)
        if value:
            causes += [field.invalid(field.join(path, attr), value, m)
                       for m in names.is_dns1123_subdomain(value)]
    return causes


def _volume_names(spec: dict[str, Any], path: str) -> set[str]:
    return {v.get("name") or "" for v in spec.get("volumes") or [] if isinstance(v, dict)}


def _volumes(spec: dict[str, Any], path: str) -> list[errors.Cause]:
    causes: list[errors.Cause] = []
    seen: set[str] = set()
    for i, vol in enumerate(spec.get("volumes") or []):
        vpath = field.index(field.join(path, "volumes"), i)
        name = vol.get("name") or ""
        if name:
            causes += [field.invalid(field.join(vpath, "name"), name, m)
                       for m in names.is_dns1123_label(name)]
            if name in seen:
                causes.append(field.duplicate(field.join(vpath, "name"), name))
            seen.add(name)
        sources = [k for k in vol if k not in _VOLUME_META]
        if not sources:
            causes.append(field.required(vpath, "must specify a volume type"))
        elif len(sources) > 1:
            causes.append(field.forbidden(field.join(vpath, sources[1]),
                                          "may not specify more than 1 volume type"))
    return causes


def _toleration(tol: dict[str, Any], path: str) -> list[errors.Cause]:
    causes: list[errors.Cause] = []
    key, op = tol.get("key") or "", tol.get("operator") or "Equal"
    if key:
        causes += [field.invalid(field.join(path, "key"), key, m)
                   for m in names.is_qualified_name(key)]
    elif op != "Exists":
        causes.append(field.invalid(field.join(path, "operator"), op,
                                    "operator must be Exists when `key` is empty, which means "
                                    '"match all values and all keys"'))
    if op not in _TOLERATION_OPS:
        causes.append(field.not_supported(field.join(path, "operator"), op, _TOLERATION_OPS))
    if op == "Exists" and tol.get("value"):
        causes.append(field.invalid(field.join(path, "operator"), tol.get("value"),
                                    "value must be empty when `operator` is 'Exists'"))
    effect = tol.get("effect")
    if effect and effect not in _EFFECTS:
        causes.append(field.not_supported(field.join(path, "effect"), effect, _EFFECTS))
    return causes


_UPDATE_MSG = ("pod updates may not change fields other than `spec.containers[*].image`,"
               "`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` "
               "(only additions to existing tolerations),`spec.terminationGracePeriodSeconds` "
               "(allow it to be set to 1 if it was previously negative)")


def validate_update(spec: dict[str, Any], old: dict[str, Any]) -> list[errors.Cause]:
    """Pod specs are immutable except for images, deadlines, toleration additions and gates."""
    causes: list[errors.Cause] = []
    deadline, old_deadline = spec.get("activeDeadlineSeconds"), old.get("activeDeadlineSeconds")
    if old_deadline is not None and (deadline is None or deadline > old_deadline):
        causes.append(field.invalid("spec.activeDeadlineSeconds", deadline,
                                    "must be less than or equal to previous value"))
    old_tols = old.get("tolerations") or []
    if any(t not in (spec.get("tolerations") or []) for t in old_tols):
        causes.append(field.forbidden("spec.tolerations", "existing toleration can not be modified "
                                      "except its tolerationSeconds"))
    if _comparable(spec, old) != _comparable(old, old):
        causes.append(field.forbidden("spec", _UPDATE_MSG))
    return causes


def _comparable(spec: dict[str, Any], old: dict[str, Any]) -> dict[str, Any]:
    """`spec` with every field a pod update may change replaced by the old value."""
    out = dict(spec)
    for attr in ("activeDeadlineSeconds", "tolerations", "schedulingGates"):
        out.pop(attr, None)
    grace, old_grace = spec.get("terminationGracePeriodSeconds"), old.get(
        "terminationGracePeriodSeconds")
    if isinstance(old_grace, int) and old_grace < 0 and grace == 1:
        out["terminationGracePeriodSeconds"] = old_grace
    for key in ("containers", "initContainers"):
        old_images = [c.get("image") for c in old.get(key) or []]
        new = [dict(c) for c in spec.get(key) or []]
        for ctr, image in zip(new, old_images):
            ctr["image"] = image
        if key in spec:
            out[key] = new
    return out
