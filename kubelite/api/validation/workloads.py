"""Rules for the controllers' kinds: Deployment, ReplicaSet, StatefulSet, DaemonSet,
ReplicationController, Job, CronJob and HorizontalPodAutoscaler."""

from __future__ import annotations

import re
from typing import Any

from kubelite.api import errors
from kubelite.api.validation import field, names, pods, selectors

Obj = dict[str, Any]
_PERCENT_RE = re.compile(r"[0-9]+%")


def _spec(obj: Obj) -> Obj:
    spec = obj.get("spec")
    return spec if isinstance(spec, dict) else {}


def _template(spec: Obj, path: str, *, policies: tuple[str, ...] = ("Always",)) -> list[errors.Cause]:
    """A pod template: labels, pod spec, and the restart policies this controller allows."""
    template = spec.get("template")
    if not isinstance(template, dict):
        return []
    tpath = field.join(path, "template")
    causes = pods.validate_spec(template.get("spec"), field.join(tpath, "spec"))
    policy = (template.get("spec") or {}).get("restartPolicy")
    if policy is not None and policy not in policies:
        causes = [c for c in causes if not c.field.endswith(".spec.restartPolicy")]
        causes.append(field.not_supported(field.join(tpath, "spec.restartPolicy"), policy, policies))
    return causes


def _selector_matches(spec: Obj, path: str, controller: str) -> list[errors.Cause]:
    selector = spec.get("selector")
    if selector is None:
        return []
    causes = selectors.validate(selector, field.join(path, "selector"))
    if selectors.is_empty(selector):
        return causes + [field.invalid(field.join(path, "selector"), selector,
                                       f"empty selector is invalid for {controller}")]
    labels = ((spec.get("template") or {}).get("metadata") or {}).get("labels") or {}
    if isinstance(spec.get("template"), dict) and not selectors.matches(selector, labels):
        causes.append(field.invalid(field.join(path, "template.metadata.labels"), labels,
                                    "`selector` does not match template `labels`"))
    return causes


def _replicated(obj: Obj, old: Obj | None, controller: str) -> list[errors.Cause]:
    spec = _spec(obj)
    causes = field.non_negative("spec.replicas", spec.get("replicas"))
    causes += field.non_negative("spec.minReadySeconds", spec.get("minReadySeconds"))
    causes += field.non_negative("spec.revisionHistoryLimit", spec.get("revisionHistoryLimit"))
    causes += _selector_matches(spec, "spec", controller)
    causes += _template(spec, "spec")
    if old is not None:
        causes += field.immutable_if_changed("spec.selector", spec.get("selector"),
                                             _spec(old).get("selector"))
    return causes


def deployment(obj: Obj, old: Obj | None) -> list[errors.Cause]:
    spec = _spec(obj)
    causes = _replicated(obj, old, "deployment")
    causes += _strategy(spec.get("strategy") or {}, "spec.strategy")
    deadline, ready = spec.get("progressDeadlineSeconds"), spec.get("minReadySeconds") or 0
    if isinstance(deadline, int):
        causes += field.non_negative("spec.progressDeadlineSeconds", deadline)
        if isinstance(ready, int) and deadline <= ready:
            causes.append(field.invalid("spec.progressDeadlineSeconds", deadline,
                                        "must be greater than minReadySeconds"))
    return causes


def _strategy(strategy: Obj, path: str) -> list[errors.Cause]:
    kind = strategy.get("type")
    if kind is not None and kind not in ("Recreate", "RollingUpdate"):
        return [field.not_supported(field.join(path, "type"), kind, ("Recreate", "RollingUpdate"))]
    rolling = strategy.get("rollingUpdate")
    if kind == "Recreate" and rolling is not None:
        return [field.forbidden(field.join(path, "rollingUpdate"),
                                "may not be specified when strategy `type` is 'Recreate'")]
    if not isinstance(rolling, dict):
        return []
    rpath = field.join(path, "rollingUpdate")
    causes = []
    for attr in ("maxUnavailable", "maxSurge"):
        causes += int_or_percent(rolling.get(attr), field.join(rpath, attr))
    if _is_zero(rolling.get("maxUnavailable")) and _is_zero(rolling.get("maxSurge")):
        causes.append(field.invalid(field.join(rpath, "maxUnavailable"),
                                    rolling.get("maxUnavailable"),
                                    "may not be 0 when `maxSurge` is 0"))
    return causes


def _is_zero(value: Any) -> bool:
    return value in (0, "0%")


def int_or_percent(value: Any, path: str) -> list[errors.Cause]:
    """Upstream ValidatePositiveIntOrPercent plus IsNotMoreThan100Percent."""
    if isinstance(value, int):
        return field.non_negative(path, value)
    if not isinstance(value, str):
        return []
    if not _PERCENT_RE.fullmatch(value):
        return [field.invalid(path, value, names.regex_error(
            "a valid percent string must be a numeric string followed by an ending '%'",
            "[0-9]+%", "1%", "93%"))]
    if int(value[:-1]) > 100:
        return [field.invalid(path, value, "must not be greater than 100%")]
    return []


def replica_set(obj: Obj, old: Obj | None) -> list[errors.Cause]:
    return _replicated(obj, old, "replicaset")


def replication_controller(obj: Obj, old: Obj | None) -> list[errors.Cause]:
    spec = _spec(obj)
    causes = field.non_negative("spec.replicas", spec.get("replicas"))
    selector = spec.get("selector") or {}
    labels = ((spec.get("template") or {}).get("metadata") or {}).get("labels") or {}
    if spec.get("template") is not None and any(labels.get(k) != v for k, v in selector.items()):
        causes.append(field.invalid("spec.template.metadata.labels", labels,
                                    "`selector` does not match template `labels`"))
    return causes + _template(spec, "spec")


def stateful_set(obj: Obj, old: Obj | None) -> list[errors.Cause]:
    spec = _spec(obj)
    causes = _without_claim_mounts(spec, _replicated(obj, old, "statefulset"))
    policy = spec.get("podManagementPolicy")
    if policy is not None and policy not in ("OrderedReady", "Parallel"):
        causes.append(field.not_supported("spec.podManagementPolicy", policy,
                                          ("OrderedReady", "Parallel")))
    causes += _update_strategy(spec, "StatefulSet")
    if old is not None:
        causes = [c for c in causes if c.field != "spec.selector"]
        mutable = ("replicas", "ordinals", "template", "updateStrategy", "minReadySeconds",
                   "persistentVolumeClaimRetentionPolicy")
        if _without(spec, mutable) != _without(_spec(old), mutable):
            causes.append(field.forbidden(
                "spec", "updates to statefulset spec for fields other than 'replicas', "
                "'ordinals', 'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy' "
                "and 'minReadySeconds' are forbidden"))
    return causes


def _without_claim_mounts(spec: Obj, causes: list[errors.Cause]) -> list[errors.Cause]:
    """Containers may mount a volumeClaimTemplate by name: the controller adds that volume to
    each pod (upstream does not check a set's template mounts against its volumes)."""
    claims = {f"Not found: {field.show((t.get('metadata') or {}).get('name'))}"
              for t in spec.get("volumeClaimTemplates") or [] if isinstance(t, dict)}
    return [c for c in causes if not (c.reason == "FieldValueNotFound" and
                                      ".volumeMounts[" in c.field and c.message in claims)]


def _without(spec: Obj, keys: tuple[str, ...]) -> Obj:
    return {k: v for k, v in spec.items() if k not in keys}


def _update_strategy(spec: Obj, kind: str) -> list[errors.Cause]:
    strategy = spec.get("updateStrategy") or {}
    value = strategy.get("type")
    if value is not None and value not in ("OnDelete", "RollingUpdate"):
        return [field.not_supported("spec.updateStrategy.type", value, ("OnDelete", "RollingUpdate"))]
    rolling = strategy.get("rollingUpdate")
    if value == "OnDelete" and rolling is not None:
        return [field.invalid("spec.updateStrategy.rollingUpdate", rolling,
                              "only allowed for updateStrategy 'RollingUpdate'")]
    if isinstance(rolling, dict) and kind == "DaemonSet":
        return [c for attr in ("maxUnavailable", "maxSurge")
                for c in int_or_percent(rolling.get(attr), f"spec.updateStrategy.rollingUpdate.{attr}")]
    return []


def daemon_set(obj: Obj, old: Obj | None) -> list[errors.Cause]:
    spec = _spec(obj)
    causes = _selector_matches(spec, "spec", "daemonset") + _template(spec, "spec")
    causes += field.non_negative("spec.minReadySeconds", spec.get("minReadySeconds"))
    causes += field.non_negative("spec.revisionHistoryLimit", spec.get("revisionHistoryLimit"))
    causes += _update_strategy(spec, "DaemonSet")
    if old is not None:
        causes += field.immutable_if_changed("spec.selector", spec.get("selector"),
                                             _spec(old).get("selector"))
    return causes
