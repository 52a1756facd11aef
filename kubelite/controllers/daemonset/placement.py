"""Which nodes a DaemonSet's pod belongs on, and the pod it makes for one node.

A daemon pod carries upstream's default DaemonSet tolerations (so a not-ready, pressured or
cordoned node keeps its daemon) and is pinned to its node by required node affinity on
`metadata.name` (the scheduler then binds it), as upstream does since 1.12.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from kubelite.api import nodeselector, taints

Obj = dict[str, Any]
HASH_LABEL = "controller-revision-hash"
GENERATION_LABEL = "pod-template-generation"
GENERATION_ANNOTATION = "deprecated.daemonset.template.generation"
_REQUIRED = "requiredDuringSchedulingIgnoredDuringExecution"
_NO_EXECUTE = ("node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable")
_NO_SCHEDULE = ("node.kubernetes.io/disk-pressure", "node.kubernetes.io/memory-pressure",
                "node.kubernetes.io/pid-pressure", "node.kubernetes.io/unschedulable")
_NETWORK = "node.kubernetes.io/network-unavailable"


@dataclass(frozen=True)
class Fit:
    should_run: bool              # a daemon pod should be created here
    should_continue: bool         # an existing daemon pod may stay here


def default_tolerations(spec: Obj) -> list[Obj]:
    """The tolerations every daemon pod gets (network-unavailable for hostNetwork pods)."""
    out = [{"key": k, "operator": "Exists", "effect": "NoExecute"} for k in _NO_EXECUTE]
    out += [{"key": k, "operator": "Exists", "effect": "NoSchedule"} for k in _NO_SCHEDULE]
    if spec.get("hostNetwork"):
        out.append({"key": _NETWORK, "operator": "Exists", "effect": "NoSchedule"})
    return out


def add_tolerations(spec: Obj) -> None:
    """Add or replace the default tolerations (matched by key and effect) in a pod spec."""
    have = spec.setdefault("tolerations", [])
    for tol in default_tolerations(spec):
        have[:] = [t for t in have if (t.get("key"), t.get("effect")) !=
                   (tol["key"], tol["effect"])]
        have.append(tol)


def generation_of(ds: Obj) -> str | None:
    """The template generation pods are labelled with: the annotation, else generation."""
    ann = (ds["metadata"].get("annotations") or {}).get(GENERATION_ANNOTATION)
    if ann is not None:
        return str(ann)
    gen = ds["metadata"].get("generation")
    return None if gen is None else str(gen)


def node_fit(ds: Obj, node: Obj) -> Fit:
    """Upstream's NodeShouldRunDaemonPod: node selector/affinity, then taints."""
    spec = ((ds.get("spec") or {}).get("template") or {}).get("spec") or {}
    name = node["metadata"]["name"]
    if spec.get("nodeName") and spec["nodeName"] != name:
        return Fit(False, False)
    required = nodeselector.required_of(spec)
    node_labels = node["metadata"].get("labels") or {}
    if any(node_labels.get(k) != v for k, v in required.node_selector.items()):
        return Fit(False, False)
    if required.terms is not None and not nodeselector.matches_terms(
            required.terms, node_labels, name):
        return Fit(False, False)
    node_taints = (node.get("spec") or {}).get("taints") or []
    tolerations = [*(spec.get("tolerations") or ()), *default_tolerations(spec)]
    untolerated = [t for t in node_taints if t.get("effect") in ("NoSchedule", "NoExecute")
                   and not taints.tolerated(tolerations, t)]
    return Fit(not untolerated, all(t.get("effect") != "NoExecute" for t in untolerated))


def target_node(pod: Obj) -> str | None:
    """The node a daemon pod is for: its nodeName, else its metadata.name affinity pin."""
    spec = pod.get("spec") or {}
    if spec.get("nodeName"):
        return str(spec["nodeName"])
    required = ((spec.get("affinity") or {}).get("nodeAffinity") or {}).get(_REQUIRED) or {}
    names = nodeselector.field_node_names(required.get("nodeSelectorTerms") or [])
    if names and len(names) == 1:
        return next(iter(names))
    return None


def pin_to_node(spec: Obj, node_name: str) -> None:
    """Replace the required node affinity with `metadata.name In [node]`."""
    term = {"matchFields": [{"key": "metadata.name", "operator": "In", "values": [node_name]}]}
    affinity = spec.setdefault("affinity", {})
    node_affinity = affinity.setdefault("nodeAffinity", {})
    node_affinity[_REQUIRED] = {"nodeSelectorTerms": [term]}


def pod_template(ds: Obj, hash_: str) -> Obj:
    """The template with revision labels and default tolerations (upstream CreatePodTemplate)."""
    template = copy.deepcopy((ds.get("spec") or {}).get("template") or {})
    meta = template.setdefault("metadata", {})
    pod_labels = meta.setdefault("labels", {})
    generation = generation_of(ds)
    if generation is not None:
        pod_labels[GENERATION_LABEL] = generation
    if hash_:
        pod_labels[HASH_LABEL] = hash_
    add_tolerations(template.setdefault("spec", {}))
    return template


def new_pod(ds: Obj, template: Obj, node_name: str, owner_ref: Obj) -> Obj:
    """A pod for `node_name` from a template made by pod_template()."""
    meta = template.get("metadata") or {}
    pod_meta: Obj = {"generateName": ds["metadata"]["name"] + "-",
                     "namespace": ds["metadata"]["namespace"], "ownerReferences": [owner_ref]}
    for f in ("labels", "annotations", "finalizers"):
        if meta.get(f):
            pod_meta[f] = copy.deepcopy(meta[f])
    spec = copy.deepcopy(template.get("spec") or {})
    pin_to_node(spec, node_name)
    return {"apiVersion": "v1", "kind": "Pod", "metadata": pod_meta, "spec": spec}


def is_updated(pod: Obj, hash_: str, ds: Obj) -> bool:
    """Runs the current template: same revision hash, or same template-generation annotation."""
    pod_labels = pod["metadata"].get("labels") or {}
    if hash_ and pod_labels.get(HASH_LABEL) == hash_:
        return True
    ann = (ds["metadata"].get("annotations") or {}).get(GENERATION_ANNOTATION)
    return ann is not None and pod_labels.get(GENERATION_LABEL) == str(ann)
