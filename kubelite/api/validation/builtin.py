"""The per-kind rules table: (group, kind) -> rule(obj, old) -> causes. Built in one place."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from kubelite.api import errors
from kubelite.api.validation import batch, cluster, core, crdobject, pods, services, workloads

Rule = Callable[[dict[str, Any], "dict[str, Any] | None"], list[errors.Cause]]


def _pod(obj: dict[str, Any], old: dict[str, Any] | None) -> list[errors.Cause]:
    causes = pods.validate_spec(obj.get("spec"), "spec")
    if old is not None and isinstance(obj.get("spec"), dict):
        causes += pods.validate_update(obj["spec"], old.get("spec") or {})
    return causes


def _pod_template(obj: dict[str, Any], old: dict[str, Any] | None) -> list[errors.Cause]:
    return pods.validate_spec((obj.get("template") or {}).get("spec"), "template.spec")


@functools.cache
def rules() -> dict[tuple[str, str], Rule]:
    apps, rbac = "apps", cluster.RBAC_GROUP
    table: dict[tuple[str, str], Rule] = {
        ("", "Pod"): _pod,
        ("", "PodTemplate"): _pod_template,
        ("", "Service"): services.service,
        ("", "ConfigMap"): core.config_map,
        ("", "Secret"): core.secret,
        ("", "Namespace"): core.namespace,
        ("", "Node"): core.node,
        ("", "Event"): core.event,
        ("events.k8s.io", "Event"): core.event,
        ("", "PersistentVolumeClaim"): core.persistent_volume_claim,
        ("", "ReplicationController"): workloads.replication_controller,
        (apps, "Deployment"): workloads.deployment,
        (apps, "ReplicaSet"): workloads.replica_set,
        (apps, "StatefulSet"): workloads.stateful_set,
        (apps, "DaemonSet"): workloads.daemon_set,
        ("batch", "Job"): batch.job,
        ("batch", "CronJob"): batch.cron_job,
        ("autoscaling", "HorizontalPodAutoscaler"): batch.hpa,
        ("networking.k8s.io", "Ingress"): cluster.ingress,
        ("coordination.k8s.io", "Lease"): cluster.lease,
        (rbac, "Role"): cluster.role,
        (rbac, "ClusterRole"): cluster.cluster_role,
        (rbac, "RoleBinding"): cluster.role_binding,
        (rbac, "ClusterRoleBinding"): cluster.cluster_role_binding,
        ("apiextensions.k8s.io", "CustomResourceDefinition"): crdobject.validate,
    }
    return table
