"""A stateful pod's identity: its name `<set>-<ordinal>`, hostname, subdomain, identity
labels and the claims (`<template>-<set>-<ordinal>`) its volumes point at.

Everything here is pure: it builds or inspects objects, it never talks to the server.
"""

from __future__ import annotations

import copy
import re
from typing import Any

from kubelite.controllers import ownership

Obj = dict[str, Any]
POD_NAME_LABEL = "statefulset.kubernetes.io/pod-name"
POD_INDEX_LABEL = "apps.kubernetes.io/pod-index"
REVISION_LABEL = "controller-revision-hash"
_NAME_RE = re.compile(r"^(.*)-([0-9]+)$")


def spec(sts: Obj) -> Obj:
    return sts.get("spec") or {}  # type: ignore[no-any-return]


def replicas(sts: Obj) -> int:
    value = spec(sts).get("replicas")
    return 1 if value is None else int(value)


def start_ordinal(sts: Obj) -> int:
    return int((spec(sts).get("ordinals") or {}).get("start") or 0)


def ordinals(sts: Obj) -> range:
    """The ordinals the set should run: start .. start+replicas-1."""
    start = start_ordinal(sts)
    return range(start, start + replicas(sts))


def parse(pod_name: str) -> tuple[str, int] | None:
    """(parent name, ordinal) of a pod name, or None when it has no ordinal suffix."""
    m = _NAME_RE.match(pod_name)
    return (m.group(1), int(m.group(2))) if m else None


def ordinal_of(pod: Obj) -> int:
    parsed = parse(pod["metadata"]["name"])
    return parsed[1] if parsed else -1


def is_member(sts: Obj, pod: Obj) -> bool:
    parsed = parse(pod["metadata"]["name"])
    return parsed is not None and parsed[0] == sts["metadata"]["name"]


def pod_name(sts: Obj, ordinal: int) -> str:
    return f"{sts['metadata']['name']}-{ordinal}"


def claim_name(template: Obj, sts: Obj, ordinal: int) -> str:
    return f"{template['metadata']['name']}-{sts['metadata']['name']}-{ordinal}"


def revision_of(pod: Obj) -> str:
    return str((pod["metadata"].get("labels") or {}).get(REVISION_LABEL, ""))


def _identity_labels(sts: Obj, ordinal: int) -> dict[str, str]:
    return {POD_NAME_LABEL: pod_name(sts, ordinal), POD_INDEX_LABEL: str(ordinal)}


def claims(sts: Obj, ordinal: int) -> list[Obj]:
    """The claims a pod of this ordinal uses, labelled with the set's matchLabels."""
    match = (spec(sts).get("selector") or {}).get("matchLabels") or {}
    out = []
    for template in spec(sts).get("volumeClaimTemplates") or []:
        meta = copy.deepcopy(template.get("metadata") or {})
        claim_meta: Obj = {"name": claim_name(template, sts, ordinal),
                           "namespace": sts["metadata"]["namespace"],
                           "labels": {**(meta.get("labels") or {}), **match}}
        if meta.get("annotations"):
            claim_meta["annotations"] = meta["annotations"]
        out.append({"apiVersion": "v1", "kind": "PersistentVolumeClaim",
                    "metadata": claim_meta, "spec": copy.deepcopy(template.get("spec") or {})})
    return out


def _set_storage(sts: Obj, pod_spec: Obj, ordinal: int) -> None:
    """Point the volumes named like claim templates at this ordinal's claims."""
    templates = spec(sts).get("volumeClaimTemplates") or []
    names = {t["metadata"]["name"] for t in templates}
    volumes = [{"name": t["metadata"]["name"], "persistentVolumeClaim": {
        "claimName": claim_name(t, sts, ordinal)}} for t in templates]
    volumes += [v for v in pod_spec.get("volumes") or [] if v.get("name") not in names]
    if volumes:
        pod_spec["volumes"] = volumes


def new_pod(sts: Obj, ordinal: int, template: Obj, revision: str) -> Obj:
    """The pod of `ordinal` built from a revision's template, labelled with that revision."""
    t = copy.deepcopy(template)
    tmeta = t.get("metadata") or {}
    name = pod_name(sts, ordinal)
    meta: Obj = {"name": name, "namespace": sts["metadata"]["namespace"],
                 "labels": {**(tmeta.get("labels") or {}), **_identity_labels(sts, ordinal),
                            REVISION_LABEL: revision},
                 "ownerReferences": [ownership.owner_reference(sts)]}
    for f in ("annotations", "finalizers"):
        if tmeta.get(f):
            meta[f] = tmeta[f]
    pod_spec = t.get("spec") or {}
    pod_spec["hostname"] = name
    if spec(sts).get("serviceName"):
        pod_spec["subdomain"] = spec(sts)["serviceName"]
    _set_storage(sts, pod_spec, ordinal)
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": pod_spec}


def identity_matches(sts: Obj, pod: Obj) -> bool:
    """Whether the pod carries the identity labels of its ordinal (adopted pods may not)."""
    labels = pod["metadata"].get("labels") or {}
    return all(labels.get(k) == v
               for k, v in _identity_labels(sts, ordinal_of(pod)).items())


def identity_patch(sts: Obj, pod: Obj) -> Obj:
    """A merge patch giving a pod its ordinal's identity labels."""
    return {"metadata": {"labels": _identity_labels(sts, ordinal_of(pod))}}
