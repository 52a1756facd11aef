"""Rules for RBAC, Lease and Ingress objects."""

from __future__ import annotations

from typing import Any

from kubelite.api import errors
from kubelite.api.validation import field, names

Obj = dict[str, Any]
RBAC_GROUP = "rbac.authorization.k8s.io"
_SUBJECT_KINDS = ("ServiceAccount", "User", "Group")
_PATH_TYPES = ("Exact", "ImplementationSpecific", "Prefix")


def _rules(obj: Obj, namespaced: bool) -> list[errors.Cause]:
    causes = []
    for i, rule in enumerate(obj.get("rules") or []):
        causes += _policy_rule(rule, field.index("rules", i), namespaced)
    return causes


def _policy_rule(rule: Obj, path: str, namespaced: bool) -> list[errors.Cause]:
    causes = []
    if not rule.get("verbs"):
        causes.append(field.required(field.join(path, "verbs"),
                                     "verbs must contain at least one value"))
    urls = rule.get("nonResourceURLs")
    if urls:
        upath = field.join(path, "nonResourceURLs")
        if namespaced:
            causes.append(field.invalid(upath, urls,
                                        "namespaced rules cannot apply to non-resource URLs"))
        if rule.get("apiGroups") or rule.get("resources") or rule.get("resourceNames"):
            causes.append(field.invalid(
                upath, urls, "rules cannot apply to both regular resources and non-resource URLs"))
        return causes
    if not rule.get("apiGroups"):
        causes.append(field.required(field.join(path, "apiGroups"),
                                     "resource rules must supply at least one api group"))
    if not rule.get("resources"):
        causes.append(field.required(field.join(path, "resources"),
                                     "resource rules must supply at least one resource"))
    return causes


def role(obj: Obj, old: Obj | None) -> list[errors.Cause]:
    return _rules(obj, True)


def cluster_role(obj: Obj, old: Obj | None) -> list[errors.Cause]:
    if obj.get("aggregationRule") is not None:
        return []
    return _rules(obj, False)


def _binding(obj: Obj, old: Obj | None, kinds: tuple[str, ...],
             namespaced: bool) -> list[errors.Cause]:
    ref = obj.get("roleRef") or {}
    causes: list[errors.Cause] = []
    if ref.get("apiGroup") != RBAC_GROUP:
        causes.append(field.not_supported("roleRef.apiGroup", ref.get("apiGroup") or "",
                                          (RBAC_GROUP,)))
    if ref.get("kind") not in kinds:
        causes.append(field.not_supported("roleRef.kind", ref.get("kind") or "", kinds))
    if not ref.get("name"):
        causes.append(field.required("roleRef.name"))
    else:
        causes += [field.invalid("roleRef.name", ref["name"], m)
                   for m in names.is_path_segment_name(ref["name"])]
    for i, subject in enumerate(obj.get("subjects") or []):
        causes += _subject(subject, field.index("subjects", i), namespaced)
    if old is not None and (old.get("roleRef") or {}) != ref:
        causes.append(field.invalid("roleRef", ref, "cannot change roleRef"))
    return causes


def _subject(subject: Obj, path: str, namespaced: bool) -> list[errors.Cause]:
    kind, name = subject.get("kind") or "", subject.get("name") or ""
    causes: list[errors.Cause] = []
    if not name:
        causes.append(field.required(field.join(path, "name")))
    if kind not in _SUBJECT_KINDS:
        return causes + [field.not_supported(field.join(path, "kind"), kind, _SUBJECT_KINDS)]
    group = subject.get("apiGroup") or ""
    if kind == "ServiceAccount":
        if group:
            causes.append(field.not_supported(field.join(path, "apiGroup"), group, ("",)))
        if not namespaced and not subject.get("namespace"):
            causes.append(field.required(field.join(path, "namespace")))
    elif group != RBAC_GROUP:
        causes.append(field.not_supported(field.join(path, "apiGroup"), group, (RBAC_GROUP,)))
    return causes


def role_binding(obj: Obj, old: Obj | None) -> list[errors.Cause]:
    return _binding(obj, old, ("Role", "ClusterRole"), True)


def cluster_role_binding(obj: Obj, old: Obj | None) -> list[errors.Cause]:
    return _binding(obj, old, ("ClusterRole",), False)


def lease(obj: Obj, old: Obj | None) -> list[errors.Cause]:
    spec = obj.get("spec") or {}
    causes: list[errors.Cause] = []
    duration = spec.get("leaseDurationSeconds")
    if isinstance(duration, int) and duration <= 0:
        causes.append(field.invalid("spec.leaseDurationSeconds", duration,
                                    "must be greater than 0"))
    causes += field.non_negative("spec.leaseTransitions", spec.get("leaseTransitions"))
    return causes


def ingress(obj: Obj, old: Obj | None) -> list[errors.Cause]:
    spec = obj.get("spec") or {}
    causes: list[errors.Cause] = []
    if spec.get("defaultBackend") is not None:
        causes += _backend(spec["defaultBackend"], "spec.defaultBackend")
    elif not spec.get("rules"):
        causes.append(field.invalid("spec", spec,
                                    "either `defaultBackend` or `rules` must be specified"))
    for i, rule in enumerate(spec.get("rules") or []):
        path = field.index("spec.rules", i)
        host = rule.get("host")
        if host:
            check = names.is_dns1123_subdomain(host.removeprefix("*.")) if "*" in host[:2] \
                else names.is_dns1123_subdomain(host)
            causes += [field.invalid(field.join(path, "host"), host, m) for m in check]
        for j, p in enumerate((rule.get("http") or {}).get("paths") or []):
            causes += _path(p, field.index(field.join(path, "http.paths"), j))
    return causes


def _path(p: Obj, path: str) -> list[errors.Cause]:
    causes: list[errors.Cause] = []
    kind = p.get("pathType")
    if not kind:
        causes.append(field.required(field.join(path, "pathType"), "pathType must be specified"))
    elif kind not in _PATH_TYPES:
        causes.append(field.not_supported(field.join(path, "pathType"), kind, _PATH_TYPES))
    value = p.get("path") or ""
    if kind in ("Exact", "Prefix") and not value.startswith("/"):
        causes.append(field.invalid(field.join(path, "path"), value, "must be an absolute path"))
    return causes + _backend(p.get("backend") or {}, field.join(path, "backend"))


def _backend(backend: Obj, path: str) -> list[errors.Cause]:
    service, resource = backend.get("service"), backend.get("resource")
    if service is not None and resource is not None:
        return [field.invalid(path, "", "cannot set both resource and service backends")]
    if service is None:
        return [] if resource is not None else [field.invalid(path, "", "resource or service "
                                                                        "backend is required")]
    causes = [field.invalid(field.join(path, "service.name"), service.get("name") or "", m)
              for m in names.is_dns1035_label(service.get("name") or "")]
    port = service.get("port") or {}
    if not port.get("name") and not port.get("number"):
        causes.append(field.required(field.join(path, "service.port"),
                                     "port name or number is required"))
    elif port.get("name") and port.get("number"):
        causes.append(field.invalid(field.join(path, "service.port"), port,
                                    "cannot set both port name & port number"))
    return causes
