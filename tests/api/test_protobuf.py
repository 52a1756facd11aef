"""Decoding Kubernetes protobuf bodies: presence rules, special types, errors and round trips.

Bodies captured from the real kubectl are in test_protobuf_kubectl.py; here the bytes are
built field by field so each rule is pinned down on its own.
"""

from __future__ import annotations

import types
from typing import Any

import pytest

from kubelite.api import errors
from kubelite.api.protobuf import decode, encode, envelope, schema, values, wire

F = wire.bytes_field
V = wire.varint_field


def body(api_version: str, kind: str, raw: bytes, encoding: str = "") -> bytes:
    return envelope.build(envelope.Envelope(api_version, kind, raw, encoding))


def container(*fields: bytes) -> bytes:
    """A Deployment whose only container carries `fields`."""
    pod_spec = F(2, b"".join(fields))
    template = F(2, pod_spec)
    return body("apps/v1", "Deployment", F(2, F(3, template)))


def first_container(obj: dict[str, Any]) -> dict[str, Any]:
    return obj["spec"]["template"]["spec"]["containers"][0]


@pytest.mark.parametrize(
    ("content_type", "expected"),
    [
        pytest.param("application/vnd.kubernetes.protobuf", True, id="plain"),
        pytest.param("application/vnd.kubernetes.protobuf; charset=utf-8", True, id="parameters"),
        pytest.param("Application/VND.Kubernetes.Protobuf", True, id="case"),
        pytest.param("application/json", False, id="json"),
        pytest.param("application/vnd.kubernetes.protobuf+json", False, id="other-suffix"),
        pytest.param("", False, id="empty"),
    ],
)
def test_is_protobuf(content_type: str, expected: bool) -> None:
    assert decode.is_protobuf(content_type) is expected


def test_presence_follows_the_go_fields() -> None:
    obj = decode.decode(
        body(
            "apps/v1",
            "Deployment",
            F(1, F(1, b"") + V(7, 0) + F(3, b"ns"))  # empty name and zero generation are unset
            + F(2, V(1, 0) + V(5, 0) + V(7, 0))  # replicas is a pointer: zero stays
            + F(3, b""),  # status: an empty struct is still there
        )
    )
    assert obj == {
        "kind": "Deployment",
        "apiVersion": "apps/v1",
        "metadata": {"namespace": "ns"},
        "spec": {"replicas": 0},
        "status": {},
    }


def test_required_scalars_default_to_zero_and_empty_structs_stay() -> None:
    obj = first_container(decode.decode(container(F(1, b"c"), F(6, b""), F(8, b""))))
    assert obj == {"name": "c", "ports": [{"containerPort": 0}], "resources": {}}


def test_negative_and_packed_ints() -> None:
    groups = wire.varint(1000) + wire.varint(2000)
    security = F(14, F(4, groups) + V(4, 3) + V(2, -5))
    pod = decode.decode(body("v1", "Pod", F(2, security + V(4, -1))))
    assert pod["spec"] == {
        "terminationGracePeriodSeconds": -1,
        "securityContext": {"supplementalGroups": [1000, 2000, 3], "runAsUser": -5},
    }


def test_inline_structs_merge_into_their_parent() -> None:
    volume = F(1, F(1, b"data") + F(2, F(2, F(1, b"Memory"))))  # Volume{name, VolumeSource{emptyDir}}
    probe = F(10, F(1, F(2, F(1, b"/healthz") + F(2, V(1, 0) + V(2, 8080)))) + V(4, 5))
    pod = decode.decode(body("v1", "Pod", F(2, volume + F(2, F(1, b"c") + probe))))
    assert pod["spec"]["volumes"] == [{"name": "data", "emptyDir": {"medium": "Memory"}}]
    assert pod["spec"]["containers"][0]["livenessProbe"] == {
        "httpGet": {"path": "/healthz", "port": 8080},
        "periodSeconds": 5,
    }


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        pytest.param(V(1, 0) + V(2, 8080), 8080, id="int"),
        pytest.param(V(1, 1) + F(3, b"http"), "http", id="string"),
        pytest.param(V(1, 1) + V(2, 0) + F(3, b"25%"), "25%", id="string-with-zero-int"),
        pytest.param(b"", 0, id="empty"),
    ],
)
def test_int_or_string(payload: bytes, expected: int | str) -> None:
    assert values.decode("IntOrString", payload) == expected


@pytest.mark.parametrize(
    ("type_", "payload", "expected"),
    [
        pytest.param("Time", V(1, 1704067200), "2024-01-01T00:00:00Z", id="time"),
        pytest.param("Time", V(1, 0), "1970-01-01T00:00:00Z", id="epoch"),
        pytest.param("Time", b"", None, id="zero-time"),
        pytest.param(
            "MicroTime", V(1, 1704067200) + V(2, 123456789), "2024-01-01T00:00:00.123456Z", id="micro"
        ),
        pytest.param("Quantity", F(1, b"500Mi"), "500Mi", id="quantity"),
        pytest.param("FieldsV1", F(1, b'{"f:metadata":{}}'), {"f:metadata": {}}, id="fields"),
    ],
)
def test_special_types(type_: str, payload: bytes, expected: Any) -> None:
    assert values.decode(type_, payload) == expected


def test_maps_bytes_and_times() -> None:
    meta = F(1, F(1, b"c") + F(8, V(1, 1704067200)) + F(9, b""))  # an empty deletionTimestamp is unset
    entries = F(3, F(1, b"blob") + F(2, b"\xff\x00")) + F(3, F(1, b"empty")) + F(2, F(1, b"k") + F(2, b"v"))
    obj = decode.decode(body("v1", "ConfigMap", meta + entries))
    assert obj["metadata"] == {"name": "c", "creationTimestamp": "2024-01-01T00:00:00Z"}
    assert obj["data"] == {"k": "v"}
    assert obj["binaryData"] == {"blob": "/wA=", "empty": ""}


def test_unknown_fields_are_skipped() -> None:
    raw = F(1, F(1, b"ns1") + F(99, b"future")) + V(50, 7) + F(2, F(1, b"kubernetes") + V(77, 1))
    obj = decode.decode(body("v1", "Namespace", raw))
    assert obj == {
        "kind": "Namespace",
        "apiVersion": "v1",
        "metadata": {"name": "ns1"},
        "spec": {"finalizers": ["kubernetes"]},
    }


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        pytest.param(b'{"kind":"Pod"}', "protobuf prefix", id="json-body"),
        pytest.param(
            b"k8s\x00\x0a\x10\x0a", "not a valid Kubernetes protobuf message", id="truncated-envelope"
        ),
        pytest.param(
            body("example.com/v1", "Widget", b""),
            "'Widget' in apiVersion 'example.com/v1'",
            id="unknown-kind",
        ),
        pytest.param(body("apps/v2", "Deployment", b""), "apiVersion 'apps/v2'", id="unknown-version"),
        pytest.param(body("v1", "Pod", b"", encoding="gzip"), "contentEncoding 'gzip'", id="encoding"),
        pytest.param(
            body("apps/v1", "Deployment", V(2, 1)), "spec: field 2 has wire type varint", id="wire-type"
        ),
        pytest.param(body("v1", "Pod", F(1, F(7, b"x"))), "metadata.generation", id="nested-wire-type"),
        pytest.param(container(F(6, F(3, b"80"))), "containers[0].ports[0].containerPort", id="list-path"),
        pytest.param(
            body("v1", "Pod", F(1, F(1, b"\xff"))), "metadata.name: string is not valid UTF-8", id="utf8"
        ),
        pytest.param(body("v1", "Pod", F(1, b"\x0a\x05ab")), "claims 5 bytes", id="truncated-object"),
        pytest.param(body("v1", "Pod", F(1, b"\x0b")), "unsupported wire type 3", id="group"),
    ],
)
def test_malformed_bodies_are_bad_requests(data: bytes, fragment: str) -> None:
    with pytest.raises(errors.BadRequest) as caught:
        decode.decode(data)
    assert caught.value.code == 400
    assert fragment in caught.value.message


POD = {
    "kind": "Pod",
    "apiVersion": "v1",
    "metadata": {
        "name": "p",
        "namespace": "default",
        "uid": "0b1f",
        "resourceVersion": "12",
        "generation": 2,
        "creationTimestamp": "2024-05-06T07:08:09Z",
        "labels": {"app": "p"},
        "annotations": {"a": ""},
        "ownerReferences": [
            {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "rs", "uid": "u", "controller": True}
        ],
        "finalizers": ["x/y"],
        "managedFields": [
            {
                "manager": "kubectl",
                "operation": "Update",
                "apiVersion": "v1",
                "time": "2024-05-06T07:08:09Z",
                "fieldsType": "FieldsV1",
                "fieldsV1": {"f:metadata": {"f:labels": {".": {}}}},
            }
        ],
    },
    "spec": {
        "volumes": [
            {
                "name": "cfg",
                "configMap": {"name": "cfg", "defaultMode": 420, "items": [{"key": "k", "path": "p"}]},
            },
            {"name": "tmp", "emptyDir": {"sizeLimit": "1Gi"}},
            {
                "name": "proj",
                "projected": {
                    "sources": [{"serviceAccountToken": {"path": "token", "expirationSeconds": 3600}}]
                },
            },
        ],
        "initContainers": [{"name": "init", "image": "busybox", "command": ["true"], "resources": {}}],
        "containers": [
            {
                "name": "main",
                "image": "nginx:1.27",
                "args": ["-g", "daemon off;"],
                "ports": [{"name": "http", "containerPort": 80, "protocol": "TCP"}],
                "env": [
                    {"name": "A", "value": "1"},
                    {
                        "name": "NODE",
                        "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": "spec.nodeName"}},
                    },
                ],
                "envFrom": [{"prefix": "X_", "configMapRef": {"name": "cfg", "optional": False}}],
                "resources": {"limits": {"cpu": "500m", "memory": "128Mi"}, "requests": {"cpu": "0"}},
                "volumeMounts": [{"name": "cfg", "mountPath": "/etc/cfg", "readOnly": True}],
                "readinessProbe": {"tcpSocket": {"port": "http"}, "failureThreshold": 3},
                "lifecycle": {"preStop": {"exec": {"command": ["sleep", "1"]}}},
                "securityContext": {
                    "capabilities": {"drop": ["ALL"]},
                    "privileged": False,
                    "runAsNonRoot": True,
                },
                "imagePullPolicy": "IfNotPresent",
                "tty": True,
            }
        ],
        "restartPolicy": "Always",
        "nodeSelector": {"disk": "ssd"},
        "automountServiceAccountToken": False,
        "affinity": {
            "nodeAffinity": {
                "requiredDuringSchedulingIgnoredDuringExecution": {
                    "nodeSelectorTerms": [
                        {"matchExpressions": [{"key": "zone", "operator": "In", "values": ["a"]}]}
                    ]
                }
            },
            "podAntiAffinity": {
                "preferredDuringSchedulingIgnoredDuringExecution": [
                    {"weight": 10, "podAffinityTerm": {"topologyKey": "kubernetes.io/hostname"}}
                ]
            },
        },
        "tolerations": [{"key": "k", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 0}],
        "priority": 0,
    },
    "status": {
        "phase": "Running",
        "conditions": [{"type": "Ready", "status": "True", "lastTransitionTime": "2024-05-06T07:08:10Z"}],
        "podIPs": [{"ip": "10.0.0.5"}],
        "startTime": "2024-05-06T07:08:09Z",
        "containerStatuses": [
            {
                "name": "main",
                "state": {"running": {"startedAt": "2024-05-06T07:08:10Z"}},
                "lastState": {"terminated": {"exitCode": -1, "reason": "Error"}},
                "ready": True,
                "restartCount": 1,
                "image": "nginx:1.27",
                "imageID": "",
            }
        ],
    },
}
ROUND_TRIPS = [
    pytest.param(POD, id="pod"),
    pytest.param(
        {
            "kind": "Scale",
            "apiVersion": "autoscaling/v1",
            "metadata": {"name": "web"},
            "spec": {"replicas": 4},
            "status": {"replicas": 0, "selector": "app=web"},
        },
        id="scale",
    ),
    pytest.param(
        {
            "kind": "DeleteOptions",
            "apiVersion": "meta.k8s.io/v1",
            "gracePeriodSeconds": 0,
            "propagationPolicy": "Foreground",
            "preconditions": {"uid": "u", "resourceVersion": ""},
            "dryRun": ["All"],
        },
        id="delete-options",
    ),
    pytest.param(
        {"kind": "DeleteOptions", "apiVersion": "apps/v1", "orphanDependents": False},
        id="delete-options-in-group",
    ),
    pytest.param(
        {
            "kind": "Eviction",
            "apiVersion": "policy/v1",
            "metadata": {"name": "p", "namespace": "default"},
            "deleteOptions": {"gracePeriodSeconds": 30},
        },
        id="eviction",
    ),
    pytest.param(
        {
            "kind": "PodDisruptionBudget",
            "apiVersion": "policy/v1",
            "metadata": {"name": "b"},
            "spec": {"maxUnavailable": "10%"},
            "status": {
                "disruptedPods": {"p1": "2024-01-01T00:00:00Z"},
                "disruptionsAllowed": 1,
                "currentHealthy": 3,
                "desiredHealthy": 2,
                "expectedPods": 3,
                "conditions": [
                    {
                        "type": "DisruptionAllowed",
                        "status": "True",
                        "reason": "SufficientPods",
                        "message": "",
                        "lastTransitionTime": "2024-01-01T00:00:00Z",
                    }
                ],
            },
        },
        id="pdb-status",
    ),
    pytest.param(
        {
            "kind": "StatefulSet",
            "apiVersion": "apps/v1",
            "metadata": {"name": "db"},
            "spec": {
                "replicas": 1,
                "serviceName": "db",
                "selector": {"matchExpressions": [{"key": "a", "operator": "Exists"}]},
                "template": {
                    "metadata": {},
                    "spec": {"containers": [{"name": "db", "image": "pg", "resources": {}}]},
                },
                "volumeClaimTemplates": [
                    {
                        "metadata": {"name": "data"},
                        "spec": {
                            "accessModes": ["ReadWriteOnce"],
                            "resources": {"requests": {"storage": "1Gi"}},
                        },
                        "status": {},
                    }
                ],
                "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"partition": 0}},
            },
            "status": {"replicas": 0, "availableReplicas": 0},
        },
        id="statefulset",
    ),
]


@pytest.mark.parametrize("obj", ROUND_TRIPS)
def test_encode_then_decode_gives_the_object_back(obj: dict[str, Any]) -> None:
    assert decode.decode(encode.encode(obj)) == obj


def test_every_referenced_message_is_defined() -> None:
    sch = schema.get()
    missing = {
        (name, field.type)
        for name, fields in sch.messages.items()
        for field in fields.values()
        if field.is_message and field.type not in sch.messages
    }
    assert missing == set()
    assert all(message in sch.messages for message in sch.kinds.values())


def test_a_message_defined_twice_is_refused() -> None:
    first = types.ModuleType("a")
    first.MESSAGES, first.KINDS, first.GROUP_VERSION = {"X": "1 a s"}, (), ""  # type: ignore[attr-defined]
    with pytest.raises(ValueError, match="X defined twice"):
        schema.build((first, first))
