"""Defaulting: the values upstream fills into objects it accepts, kind by kind.

`apply_defaults(rt, obj)` mutates `obj` in place and is idempotent (only absent fields are
filled). Custom resources get the `default` values of their CRD schema.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from kubelite.api import registry
from kubelite.api.defaults import core, podspec, workloads
from kubelite.api.validation import crd

Defaulter = Callable[[dict[str, Any]], None]


def _pod_template(obj: dict[str, Any]) -> None:
    podspec.template(obj.get("template"))


@functools.cache
def _table() -> dict[tuple[str, str], Defaulter]:
    rbac = core.RBAC_GROUP
    return {
        ("", "Pod"): podspec.pod,
        ("", "PodTemplate"): _pod_template,
        ("", "ReplicationController"): workloads.replication_controller,
        ("", "Service"): core.service,
        ("", "Secret"): core.secret,
        ("", "Namespace"): core.namespace,
        ("", "PersistentVolumeClaim"): core.persistent_volume_claim,
        ("", "PersistentVolume"): core.persistent_volume,
        ("", "Node"): core.node,
        ("", "Endpoints"): core.endpoints,
        ("discovery.k8s.io", "EndpointSlice"): core.endpoint_slice,
        ("networking.k8s.io", "NetworkPolicy"): core.network_policy,
        ("apps", "Deployment"): workloads.deployment,
        ("apps", "ReplicaSet"): workloads.replica_set,
        ("apps", "StatefulSet"): workloads.stateful_set,
        ("apps", "DaemonSet"): workloads.daemon_set,
        ("batch", "Job"): workloads.job,
        ("batch", "CronJob"): workloads.cron_job,
        ("autoscaling", "HorizontalPodAutoscaler"): workloads.hpa,
        (rbac, "RoleBinding"): core.binding,
        (rbac, "ClusterRoleBinding"): core.binding,
        ("storage.k8s.io", "StorageClass"): core.storage_class,
        ("storage.k8s.io", "CSIDriver"): core.csi_driver,
        ("scheduling.k8s.io", "PriorityClass"): core.priority_class,
        ("apiextensions.k8s.io", "CustomResourceDefinition"): core.custom_resource_definition,
    }


def apply_defaults(rt: registry.ResourceType, obj: dict[str, Any]) -> None:
    """Fill upstream's defaults into `obj` (in place; applying twice changes nothing)."""
    if rt.crd is not None:
        crd.apply_defaults(rt, obj)
        return
    defaulter = _table().get((rt.group, rt.kind))
    if defaulter is not None:
        defaulter(obj)


def apply_crd_defaults(rt: registry.ResourceType, obj: dict[str, Any]) -> None:
    """The CRD schema's `default` values (what apply_defaults does for custom types)."""
    crd.apply_defaults(rt, obj)
