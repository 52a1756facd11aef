"""Validation of built-in kinds: the causes, fields and messages a user sees."""

from __future__ import annotations

import copy
import time
from typing import Any

import pytest

from kubelite.api import defaults, errors, registry, validation

REG = registry.Registry()
LABEL_MSG = ("a lowercase RFC 1123 label must consist of lower case alphanumeric characters or "
             "'-', and must start and end with an alphanumeric character (e.g. 'my-name',  or "
             "'123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')")


def rt(api_version: str, kind: str) -> registry.ResourceType:
    found = REG.by_api_version(api_version, kind)
    assert found is not None
    return found


def pod(**spec: Any) -> dict[str, Any]:
    body = {"containers": [{"name": "main", "image": "nginx:1.27"}], **spec}
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "web", "namespace": "default"}, "spec": body}


def deployment(**spec: Any) -> dict[str, Any]:
    body = {"selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web"}},
                         "spec": {"containers": [{"name": "main", "image": "nginx"}]}}, **spec}
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "default"}, "spec": body}


def causes_of(obj: dict[str, Any], old: dict[str, Any] | None = None) -> list[tuple[str, str, str]]:
    kind_rt = rt(obj["apiVersion"], obj["kind"])
    defaults.apply_defaults(kind_rt, obj)
    if old is not None:
        defaults.apply_defaults(kind_rt, old)
    with pytest.raises(errors.Invalid) as info:
        validation.validate(kind_rt, obj, old)
    assert info.value.code == 422
    return [(c.field, c.reason, c.message) for c in info.value.causes]


def with_(obj: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """A copy of obj with the dotted path set (list indexes as numbers)."""
    out = copy.deepcopy(obj)
    target: Any = out
    parts = path.split(".")
    for part in parts[:-1]:
        target = target[int(part)] if part.isdigit() else target.setdefault(part, {})
    last = parts[-1]
    if value is DELETE:
        del target[last]
    else:
        target[int(last) if last.isdigit() else last] = value
    return out


DELETE = object()


@pytest.mark.parametrize("obj", [
    pod(), deployment(),
    {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web", "namespace": "default"},
     "spec": {"selector": {"app": "web"}, "ports": [{"port": 80}]}},
    {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team-a"}},
    {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "d"},
     "data": {"app.properties": "x=1"}},
    {"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "c", "namespace": "d"},
     "spec": {"schedule": "*/5 * * * *", "jobTemplate": {"spec": {"template": {"spec": {
         "restartPolicy": "OnFailure", "containers": [{"name": "c", "image": "busybox"}]}}}}}},
], ids=["pod", "deployment", "service", "namespace", "configmap", "cronjob"])
def test_valid_objects_pass(obj: dict[str, Any]) -> None:
    kind_rt = rt(obj["apiVersion"], obj["kind"])
    defaults.apply_defaults(kind_rt, obj)
    validation.validate(kind_rt, obj)


@pytest.mark.parametrize("obj,expected", [
    (with_(pod(), "metadata.name", "Web_1"), [(
        "metadata.name", "FieldValueInvalid",
        ("Invalid value: \"Web_1\": a lowercase RFC 1123 subdomain must consist of lower case "
        "alphanumeric characters, '-' or '.', and must start and end with an alphanumeric "
        "character (e.g. 'example.com', regex used for validation is "
        "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"))]),
    (with_(pod(), "metadata.name", DELETE), [
        ("metadata.name", "FieldValueRequired", "Required value: name or generateName is required")]),
    (with_(pod(), "metadata.labels", {"app": "bad value"}), [(
        "metadata.labels", "FieldValueInvalid",
        ("Invalid value: \"bad value\": a valid label must be an empty string or consist of "
        "alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric "
        "character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is "
        "'(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"))]),
    (pod(containers=[]), [("spec.containers", "FieldValueRequired", "Required value")]),
    (pod(containers=[{"name": "main"}]), [
        ("spec.containers[0].image", "FieldValueRequired", "Required value")]),
    (pod(containers=[{"name": "Main", "image": "x"}]), [
        ("spec.containers[0].name", "FieldValueInvalid", f'Invalid value: "Main": {LABEL_MSG}')]),
    (pod(containers=[{"name": "a", "image": "x"}, {"name": "a", "image": "y"}]), [
        ("spec.containers[1].name", "FieldValueDuplicate", 'Duplicate value: "a"')]),
    (pod(containers=[{"name": "a", "image": "x", "ports": [{"containerPort": 0}]}]), [(
        "spec.containers[0].ports[0].containerPort", "FieldValueInvalid",
        "Invalid value: 0: must be between 1 and 65535, inclusive")]),
    (pod(restartPolicy="Sometimes"), [(
        "spec.restartPolicy", "FieldValueNotSupported",
        'Unsupported value: "Sometimes": supported values: "Always", "Never", "OnFailure"')]),
    (pod(volumes=[{"name": "v", "emptyDir": {}}, {"name": "v", "emptyDir": {}}]), [
        ("spec.volumes[1].name", "FieldValueDuplicate", 'Duplicate value: "v"')]),
    (pod(containers=[{"name": "a", "image": "x", "resources": {
        "limits": {"cpu": "1"}, "requests": {"cpu": "2"}}}]), [(
        "spec.containers[0].resources.requests[cpu]", "FieldValueInvalid",
        'Invalid value: "2": must be less than or equal to cpu limit of 1')]),
], ids=["bad-name", "no-name", "bad-label", "no-containers", "no-image", "container-name",
        "duplicate-container", "port-range", "restart-policy", "duplicate-volume",
        "requests-over-limits"])
def test_pod_causes(obj: dict[str, Any], expected: list[tuple[str, str, str]]) -> None:
    assert causes_of(obj) == expected


@pytest.mark.parametrize("obj,expected", [
    (deployment(replicas=-1), [
        ("spec.replicas", "FieldValueInvalid", "Invalid value: -1: must be greater than or equal to 0")]),
    (with_(deployment(), "spec.selector", DELETE), [
        ("spec.selector", "FieldValueRequired", "Required value")]),
    (with_(deployment(), "spec.template.metadata.labels", {"app": "db"}), [(
        "spec.template.metadata.labels", "FieldValueInvalid",
        'Invalid value: map[string]string{"app":"db"}: `selector` does not match template `labels`')]),
    (with_(deployment(), "spec.template.spec.restartPolicy", "Never"), [(
        "spec.template.spec.restartPolicy", "FieldValueNotSupported",
        'Unsupported value: "Never": supported values: "Always"')]),
    (deployment(strategy={"type": "RollingUpdate", "rollingUpdate": {
        "maxSurge": 0, "maxUnavailable": 0}}), [(
        "spec.strategy.rollingUpdate.maxUnavailable", "FieldValueInvalid",
        "Invalid value: 0: may not be 0 when `maxSurge` is 0")]),
], ids=["negative-replicas", "no-selector", "selector-mismatch", "template-restart", "rolling-zero"])
def test_deployment_causes(obj: dict[str, Any], expected: list[tuple[str, str, str]]) -> None:
    assert causes_of(obj) == expected


def test_deployment_selector_is_immutable() -> None:
    old = deployment()
    new = with_(deployment(), "spec.selector", {"matchLabels": {"app": "web", "tier": "x"}})
    new = with_(new, "spec.template.metadata.labels", {"app": "web", "tier": "x"})
    assert causes_of(new, old) == [(
        "spec.selector", "FieldValueInvalid",
        'Invalid value: {"matchLabels":{"app":"web","tier":"x"}}: field is immutable')]


def service(**spec: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": "web", "namespace": "default"}, "spec": spec}


@pytest.mark.parametrize("obj,expected", [
    (service(), [("spec.ports", "FieldValueRequired", "Required value")]),
    (service(type="Fancy", ports=[{"port": 80}]), [(
        "spec.type", "FieldValueNotSupported", ('Unsupported value: "Fancy": supported values: '
        '"ClusterIP", "ExternalName", "LoadBalancer", "NodePort"'))]),
    (service(ports=[{"port": 70000}]), [(
        "spec.ports[0].port", "FieldValueInvalid",
        "Invalid value: 70000: must be between 1 and 65535, inclusive"), (
        "spec.ports[0].targetPort", "FieldValueInvalid",  # defaulted from port, as upstream
        "Invalid value: 70000: must be between 1 and 65535, inclusive")]),
    (service(type="NodePort", ports=[{"port": 80, "nodePort": 80}]), [(
        "spec.ports[0].nodePort", "FieldValueInvalid", ("Invalid value: 80: provided port is not "
        "in the valid range. The range of valid ports is 30000-32767"))]),
    (service(ports=[{"port": 80, "name": "a"}, {"port": 81}]), [
        ("spec.ports[1].name", "FieldValueRequired", "Required value")]),
    (with_(service(ports=[{"port": 80}]), "metadata.name", "1web"), [(
        "metadata.name", "FieldValueInvalid",
        ("Invalid value: \"1web\": a DNS-1035 label must consist of lower case alphanumeric "
        "characters or '-', start with an alphabetic character, and end with an alphanumeric "
        "character (e.g. 'my-name',  or 'abc-123', regex used for validation is "
        "'[a-z]([-a-z0-9]*[a-z0-9])?')"))]),
], ids=["no-ports", "type", "port-range", "node-port-range", "unnamed-port", "dns1035-name"])
def test_service_causes(obj: dict[str, Any], expected: list[tuple[str, str, str]]) -> None:
    assert causes_of(obj) == expected


def test_headless_service_needs_no_ports() -> None:
    obj = service(clusterIP="None", selector={"app": "db"})
    defaults.apply_defaults(rt("v1", "Service"), obj)
    validation.validate(rt("v1", "Service"), obj)


def test_cluster_ip_is_immutable() -> None:
    old = service(ports=[{"port": 80}], clusterIP="10.43.0.10")
    new = service(ports=[{"port": 80}], clusterIP="10.43.0.11")
    assert causes_of(new, old) == [(
        "spec.clusterIPs[0]", "FieldValueInvalid", 'Invalid value: "10.43.0.11": may not change once set')]


def job(**template_spec: Any) -> dict[str, Any]:
    spec = {"containers": [{"name": "c", "image": "busybox"}], **template_spec}
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "pi", "namespace": "d"},
            "spec": {"template": {"spec": spec}}}


@pytest.mark.parametrize("obj,expected", [
    (job(), [("spec.template.spec.restartPolicy", "FieldValueNotSupported",
              'Unsupported value: "Always": supported values: "OnFailure", "Never"')]),
    ({"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "c", "namespace": "d"},
      "spec": {"jobTemplate": {"spec": {"template": {"spec": {
          "restartPolicy": "Never", "containers": [{"name": "c", "image": "b"}]}}}}}},
     [("spec.schedule", "FieldValueRequired", "Required value")]),
    ({"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "c", "namespace": "d"},
      "spec": {"schedule": "every minute", "jobTemplate": {"spec": {"template": {"spec": {
          "restartPolicy": "Never", "containers": [{"name": "c", "image": "b"}]}}}}}},
     [("spec.schedule", "FieldValueInvalid",
       'Invalid value: "every minute": expected exactly 5 fields, found 2: [every minute]')]),
], ids=["job-restart-always", "cron-no-schedule", "cron-bad-schedule"])
def test_batch_causes(obj: dict[str, Any], expected: list[tuple[str, str, str]]) -> None:
    assert causes_of(obj) == expected


def test_job_template_is_immutable() -> None:
    old = job(restartPolicy="Never")
    new = job(restartPolicy="OnFailure")
    fields = [c[0] for c in causes_of(new, old)]
    assert fields == ["spec.template"]


@pytest.mark.parametrize("obj,expected", [
    ({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "a.b"}},
     [("metadata.name", "FieldValueInvalid", 'Invalid value: "a.b": must not contain dots')]),
    ({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "d"},
      "data": {"bad key": "v"}},
     [("data", "FieldValueInvalid",
       ("Invalid value: \"bad key\": a valid config key must consist of alphanumeric characters, "
       "'-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for "
       "validation is '[-._a-zA-Z0-9]+')"))]),
    ({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s", "namespace": "d"},
      "type": "kubernetes.io/tls", "data": {"tls.crt": "YQ=="}},
     [("data[tls.key]", "FieldValueRequired", "Required value")]),
    ({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
      "metadata": {"name": "r", "namespace": "d"}, "rules": [{"apiGroups": [""],
                                                               "resources": ["pods"]}]},
     [("rules[0].verbs", "FieldValueRequired",
       "Required value: verbs must contain at least one value")]),
    ({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
      "metadata": {"name": "b"}, "roleRef": {"apiGroup": "rbac.authorization.k8s.io",
                                             "kind": "Role", "name": "r"}, "subjects": []},
     [("roleRef.kind", "FieldValueNotSupported",
       'Unsupported value: "Role": supported values: "ClusterRole"')]),
    ({"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
      "metadata": {"name": "l", "namespace": "d"}, "spec": {"leaseDurationSeconds": 0}},
     [("spec.leaseDurationSeconds", "FieldValueInvalid", "Invalid value: 0: must be greater than 0")]),
    ({"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
      "metadata": {"name": "i", "namespace": "d"}, "spec": {"rules": [{"http": {"paths": [
          {"path": "/", "backend": {"service": {"name": "web", "port": {"number": 80}}}}]}}]}},
     [("spec.rules[0].http.paths[0].pathType", "FieldValueRequired",
       "Required value: pathType must be specified")]),
    ({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}},
     [("metadata.namespace", "FieldValueRequired", "Required value")]),
], ids=["namespace-dots", "configmap-key", "tls-secret", "rbac-verbs", "crb-role-kind",
        "lease-duration", "ingress-path-type", "namespace-required"])
def test_other_kinds(obj: dict[str, Any], expected: list[tuple[str, str, str]]) -> None:
    assert causes_of(obj) == expected


def test_immutable_configmap_rejects_data_changes() -> None:
    old = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "d"},
           "immutable": True, "data": {"a": "1"}}
    new = with_(old, "data", {"a": "2"})
    assert causes_of(new, old) == [(
        "data", "FieldValueForbidden", "Forbidden: field is immutable when `immutable` is set")]


def test_pod_update_may_change_only_images() -> None:
    old = pod()
    assert causes_of(with_(pod(), "spec.restartPolicy", "Never"), old) == [(
        "spec", "FieldValueForbidden",
        ("Forbidden: pod updates may not change fields other than `spec.containers[*].image`,"
        "`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only "
        "additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be "
        "set to 1 if it was previously negative)"))]
    new = with_(pod(), "spec.containers.0.image", "nginx:1.28")
    defaults.apply_defaults(rt("v1", "Pod"), new)
    defaults.apply_defaults(rt("v1", "Pod"), old)
    validation.validate(rt("v1", "Pod"), new, old)


def test_invalid_message_names_kind_and_every_cause() -> None:
    obj = deployment(replicas=-1, revisionHistoryLimit=-2)
    with pytest.raises(errors.Invalid) as info:
        validation.validate(rt("apps/v1", "Deployment"), obj)
    assert str(info.value) == (
        'Deployment.apps "web" is invalid: [spec.replicas: Invalid value: -1: must be greater than '
        "or equal to 0, spec.revisionHistoryLimit: Invalid value: -2: must be greater than or "
        "equal to 0]")


@pytest.mark.parametrize("path,value,message", [
    ("spec.replicas", "3", ('Deployment in version "v1" cannot be handled as a Deployment: json: '
     "cannot unmarshal string into Go struct field DeploymentSpec.spec.replicas of type int32")),
    ("spec.template.spec.containers", {"name": "x"}, ('Deployment in version "v1" cannot be '
     "handled as a Deployment: json: cannot unmarshal object into Go struct field "
     "PodSpec.spec.template.spec.containers of type []v1.Container")),
    ("spec.template.spec.containers.0.resources", {"limits": {"memory": "1 GB"}},
     ('Deployment in version "v1" cannot be handled as a Deployment: quantities must match the '
     "regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'")),
], ids=["string-for-int", "object-for-list", "bad-quantity"])
def test_type_mismatch_is_bad_request(path: str, value: Any, message: str) -> None:
    with pytest.raises(errors.BadRequest) as info:
        validation.validate(rt("apps/v1", "Deployment"), with_(deployment(), path, value))
    assert (info.value.code, info.value.message) == (400, message)


@pytest.mark.parametrize("obj,paths", [
    (deployment(), []),
    (with_(deployment(), "spec.foo", 1), ["spec.foo"]),
    (with_(with_(deployment(), "metadata.colour", "red"), "spec.template.spec.containers.0.imagee",
           "x"), ["metadata.colour", "spec.template.spec.containers[0].imagee"]),
    (with_(deployment(), "metadata.labels", {"any-key": "v"}), []),
], ids=["clean", "spec-foo", "metadata-and-container", "map-keys-are-free"])
def test_unknown_fields(obj: dict[str, Any], paths: list[str]) -> None:
    assert validation.check_unknown_fields(rt("apps/v1", "Deployment"), obj) == paths


def test_strict_error_and_warnings_wording() -> None:
    err = validation.strict_error(rt("apps/v1", "Deployment"), ["spec.foo"])
    assert (err.code, err.message) == (400, ('Deployment in version "v1" cannot be handled as a '
                                            'Deployment: strict decoding error: unknown field "spec.foo"'))
    assert validation.unknown_field_warnings(["spec.foo"]) == ['unknown field "spec.foo"']


def test_a_typical_pod_validates_well_under_a_millisecond() -> None:
    pod_rt = rt("v1", "Pod")
    obj = pod(containers=[{"name": "main", "image": "nginx", "ports": [{"containerPort": 80}],
                           "env": [{"name": "A", "value": "1"}],
                           "resources": {"limits": {"cpu": "1", "memory": "1Gi"}}}],
              volumes=[{"name": "data", "emptyDir": {}}])
    defaults.apply_defaults(pod_rt, obj)
    validation.validate(pod_rt, obj)  # compile once
    runs = 200
    start = time.perf_counter()
    for _ in range(runs):
        validation.check_unknown_fields(pod_rt, obj)
        validation.validate(pod_rt, obj)
    assert (time.perf_counter() - start) / runs < 0.001
