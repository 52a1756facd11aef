"""Defaulting of built-in kinds: what `kubectl get -o yaml` shows after a create."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from kubelite.api import defaults, registry

REG = registry.Registry()


def applied(obj: dict[str, Any]) -> dict[str, Any]:
    rt = REG.by_api_version(obj["apiVersion"], obj["kind"])
    assert rt is not None
    defaults.apply_defaults(rt, obj)
    return obj


def containers(image: str = "nginx") -> list[dict[str, Any]]:
    return [{"name": "main", "image": image}]


def test_pod_spec_and_container_defaults() -> None:
    obj = applied({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
                   "spec": {"containers": [{"name": "main", "image": "nginx:1.27",
                                            "ports": [{"containerPort": 80}]}]}})
    spec = obj["spec"]
    assert {k: spec[k] for k in ("restartPolicy", "dnsPolicy", "schedulerName",
                                 "terminationGracePeriodSeconds", "securityContext",
                                 "enableServiceLinks", "priority")} == {
        "restartPolicy": "Always", "dnsPolicy": "ClusterFirst",
        "schedulerName": "default-scheduler", "terminationGracePeriodSeconds": 30,
        "securityContext": {}, "enableServiceLinks": True, "priority": 0}
    assert spec["containers"][0] == {
        "name": "main", "image": "nginx:1.27", "ports": [{"containerPort": 80, "protocol": "TCP"}],
        "terminationMessagePath": "/dev/termination-log", "terminationMessagePolicy": "File",
        "imagePullPolicy": "IfNotPresent", "resources": {}}
    assert "tolerations" not in spec


@pytest.mark.parametrize("image,policy", [
    ("nginx", "Always"), ("nginx:latest", "Always"), ("nginx:1.27", "IfNotPresent"),
    ("localhost:5000/app", "Always"), ("localhost:5000/app:v1", "IfNotPresent"),
    ("nginx@sha256:abc", "IfNotPresent"),
], ids=["untagged", "latest", "tagged", "registry-port-untagged", "registry-port-tagged", "digest"])
def test_image_pull_policy(image: str, policy: str) -> None:
    obj = applied({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
                   "spec": {"containers": containers(image)}})
    assert obj["spec"]["containers"][0]["imagePullPolicy"] == policy


def test_probe_volume_and_requests_defaults() -> None:
    obj = applied({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {
        "containers": [{"name": "m", "image": "x", "resources": {"limits": {"cpu": "1"}},
                        "readinessProbe": {"httpGet": {"port": 80}}}],
        "volumes": [{"name": "a"}, {"name": "b", "configMap": {"name": "c"}},
                    {"name": "s", "secret": {"secretName": "s"}}]}})
    ctr = obj["spec"]["containers"][0]
    assert ctr["readinessProbe"] == {"httpGet": {"port": 80, "path": "/", "scheme": "HTTP"},
                                     "timeoutSeconds": 1, "periodSeconds": 10,
                                     "successThreshold": 1, "failureThreshold": 3}
    assert ctr["resources"] == {"limits": {"cpu": "1"}, "requests": {"cpu": "1"}}
    assert obj["spec"]["volumes"] == [
        {"name": "a", "emptyDir": {}}, {"name": "b", "configMap": {"name": "c", "defaultMode": 420}},
        {"name": "s", "secret": {"secretName": "s", "defaultMode": 420}}]


def deployment() -> dict[str, Any]:
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
            "spec": {"selector": {"matchLabels": {"a": "b"}},
                     "template": {"metadata": {"labels": {"a": "b"}},
                                  "spec": {"containers": containers()}}}}


def test_deployment_defaults_and_template_without_pod_only_fields() -> None:
    spec = applied(deployment())["spec"]
    assert (spec["replicas"], spec["revisionHistoryLimit"], spec["progressDeadlineSeconds"]) == (
        1, 10, 600)
    assert spec["strategy"] == {"type": "RollingUpdate",
                                "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}}
    template = spec["template"]["spec"]
    assert template["restartPolicy"] == "Always" and template["dnsPolicy"] == "ClusterFirst"
    assert "enableServiceLinks" not in template and "priority" not in template


def test_recreate_strategy_gets_no_rolling_update() -> None:
    obj = deployment()
    obj["spec"]["strategy"] = {"type": "Recreate"}
    assert applied(obj)["spec"]["strategy"] == {"type": "Recreate"}


@pytest.mark.parametrize("obj,path,expected", [
    ({"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {"name": "r"}, "spec": {}},
     "spec.replicas", 1),
    ({"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "r"}, "spec": {}},
     "spec.updateStrategy", {"type": "RollingUpdate",
                             "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0}}),
    ({"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "r"}, "spec": {}},
     "spec.updateStrategy", {"type": "RollingUpdate", "rollingUpdate": {"partition": 0}}),
    ({"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "r"}, "spec": {}},
     "spec.podManagementPolicy", "OrderedReady"),
    ({"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "c"}, "spec": {}},
     "spec", {"concurrencyPolicy": "Allow", "suspend": False, "successfulJobsHistoryLimit": 3,
              "failedJobsHistoryLimit": 1, "jobTemplate": {"spec": {}}}),
    ({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"},
      "spec": {"ports": [{"port": 80}]}},
     "spec", {"ports": [{"port": 80, "protocol": "TCP", "targetPort": 80}], "type": "ClusterIP",
              "sessionAffinity": "None", "internalTrafficPolicy": "Cluster",
              "ipFamilyPolicy": "SingleStack", "ipFamilies": ["IPv4"]}),
    ({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}}, "type", "Opaque"),
    ({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team"}}, "status",
     {"phase": "Active"}),
    ({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team"}}, "metadata.labels",
     {"kubernetes.io/metadata.name": "team"}),
    ({"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "c"}, "spec": {}},
     "spec.volumeMode", "Filesystem"),
    ({"apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": "v"}, "spec": {}},
     "spec.persistentVolumeReclaimPolicy", "Retain"),
    ({"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": {"name": "h"},
      "spec": {"maxReplicas": 3}}, "spec.minReplicas", 1),
    ({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
      "metadata": {"name": "b"}, "roleRef": {"kind": "Role", "name": "r"},
      "subjects": [{"kind": "ServiceAccount", "name": "default"}, {"kind": "User", "name": "u"}]},
     "subjects", [{"kind": "ServiceAccount", "name": "default", "apiGroup": ""},
                  {"kind": "User", "name": "u", "apiGroup": "rbac.authorization.k8s.io"}]),
], ids=["replicaset", "daemonset", "statefulset-strategy", "statefulset-policy", "cronjob",
        "service", "secret", "namespace-phase", "namespace-label", "pvc",
        "pv", "hpa", "rolebinding-subjects"])
def test_kind_defaults(obj: dict[str, Any], path: str, expected: Any) -> None:
    value: Any = applied(obj)
    for part in path.split("."):
        value = value[part]
    assert value == expected


def test_job_defaults_and_generated_selector() -> None:
    obj = applied({"apiVersion": "batch/v1", "kind": "Job",
                   "metadata": {"name": "pi", "uid": "u-1"},
                   "spec": {"template": {"spec": {"restartPolicy": "Never",
                                                  "containers": containers()}}}})
    spec = obj["spec"]
    assert {k: spec[k] for k in ("completions", "parallelism", "backoffLimit", "completionMode",
                                 "suspend", "podReplacementPolicy")} == {
        "completions": 1, "parallelism": 1, "backoffLimit": 6, "completionMode": "NonIndexed",
        "suspend": False, "podReplacementPolicy": "TerminatingOrFailed"}
    assert spec["selector"] == {"matchLabels": {"batch.kubernetes.io/controller-uid": "u-1"}}
    labels = {"batch.kubernetes.io/controller-uid": "u-1", "batch.kubernetes.io/job-name": "pi",
              "controller-uid": "u-1", "job-name": "pi"}
    assert spec["template"]["metadata"]["labels"] == labels
    assert obj["metadata"]["labels"] == labels


def test_job_with_parallelism_only_keeps_completions_unset() -> None:
    obj = applied({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "j"},
                   "spec": {"parallelism": 3, "template": {"spec": {"containers": containers()}}}})
    assert "completions" not in obj["spec"] and obj["spec"]["parallelism"] == 3


@pytest.mark.parametrize("obj", [
    deployment(),
    {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
     "spec": {"containers": containers(), "volumes": [{"name": "v"}]}},
    {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"},
     "spec": {"type": "LoadBalancer", "ports": [{"port": 80}]}},
    {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "j", "uid": "u"},
     "spec": {"template": {"spec": {"containers": containers()}}}},
], ids=["deployment", "pod", "service", "job"])
def test_defaulting_is_idempotent(obj: dict[str, Any]) -> None:
    once = applied(obj)
    twice = applied(copy.deepcopy(once))
    assert twice == once


def test_explicit_values_are_kept() -> None:
    obj = deployment()
    obj["spec"]["replicas"] = 0
    obj["spec"]["template"]["spec"]["restartPolicy"] = "Always"
    obj["spec"]["template"]["spec"]["containers"][0]["imagePullPolicy"] = "Never"
    spec = applied(obj)["spec"]
    assert spec["replicas"] == 0
    assert spec["template"]["spec"]["containers"][0]["imagePullPolicy"] == "Never"
