"""Small node and pod builders for scheduler tests (plain dicts, as the API serves them)."""

from __future__ import annotations

import random
from typing import Any

from kubelite.scheduler import framework, handle, nodeinfo, profile


def node(
    name: str,
    *,
    cpu: str = "4",
    memory: str = "32Gi",
    pods: str = "110",
    labels: dict[str, str] | None = None,
    taints: list[dict[str, Any]] | None = None,
    unschedulable: bool = False,
    extra: dict[str, str] | None = None,
) -> dict[str, Any]:
    allocatable = {"cpu": cpu, "memory": memory, "pods": pods, **(extra or {})}
    spec: dict[str, Any] = {}
    if taints:
        spec["taints"] = taints
    if unschedulable:
        spec["unschedulable"] = True
    return {
        "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name, **(labels or {})}},
        "spec": spec,
        "status": {"allocatable": allocatable},
    }


def pod(
    name: str,
    *,
    cpu: str | None = None,
    memory: str | None = None,
    node_name: str = "",
    labels: dict[str, str] | None = None,
    namespace: str = "default",
    priority: int | None = None,
    **spec: Any,
) -> dict[str, Any]:
    requests = {k: v for k, v in (("cpu", cpu), ("memory", memory)) if v is not None}
    container: dict[str, Any] = {"name": "c", "image": "pause"}
    if requests:
        container["resources"] = {"requests": requests}
    body: dict[str, Any] = {"containers": [container], **spec}
    if node_name:
        body["nodeName"] = node_name
    if priority is not None:
        body["priority"] = priority
    return {
        "metadata": {"name": name, "namespace": namespace, "uid": f"uid-{namespace}-{name}", "labels": labels or {}},
        "spec": body,
        "status": {"phase": "Pending"},
    }


def cluster(*nodes: dict[str, Any], pods: tuple[dict[str, Any], ...] = ()) -> nodeinfo.Cache:
    cache = nodeinfo.Cache()
    for n in nodes:
        cache.add_node(n)
    for p in pods:
        cache.add_pod(p)
    return cache


def new_framework(cache: nodeinfo.Cache, **handle_args: Any) -> framework.Framework:
    return profile.new_framework(handle.Handle(cache=cache, **handle_args), rng=random.Random(7))
