"""Protobuf bodies captured from the real kubectl decode to what kubectl prints for --dry-run.

Each case runs `kubectl <args>` against a recording server, takes the protobuf body it
POSTed, and compares the decoded object with `kubectl <args> --dry-run=client -o json`
(the same Go object, printed as JSON; its nulls dropped, as decode leaves unset fields out).
"""

from __future__ import annotations

import datetime
import json
import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from kubelite.api.protobuf import decode, encode
from tests.api import protobuf_recorder

KUBECTL = "/usr/bin/kubectl"
pytestmark = pytest.mark.skipif(not os.path.exists(KUBECTL), reason="needs the real kubectl")

CRONJOB = {
    "kind": "CronJob",
    "apiVersion": "batch/v1",
    "metadata": {"name": "nightly", "namespace": "default", "uid": "6a3c7f1e-0000-4000-8000-000000000001"},
    "spec": {
        "schedule": "0 3 * * *",
        "jobTemplate": {
            "metadata": {"labels": {"team": "a"}, "annotations": {"note": "x"}},
            "spec": {
                "backoffLimit": 2,
                "template": {
                    "spec": {
                        "restartPolicy": "OnFailure",
                        "containers": [{"name": "c", "image": "busybox", "args": ["date"]}],
                    }
                },
            },
        },
    },
}
DEPLOYMENT = {
    "kind": "Deployment",
    "apiVersion": "apps/v1",
    "metadata": {"name": "web", "namespace": "default", "labels": {"app": "web"}},
    "spec": {
        "selector": {"matchLabels": {"app": "web"}},
        "template": {
            "metadata": {"labels": {"app": "web"}},
            "spec": {"containers": [{"name": "nginx", "image": "nginx", "ports": [{"containerPort": 80}]}]},
        },
    },
}


@dataclass
class Kubectl:
    recorder: protobuf_recorder.Recorder
    home: Path
    kubeconfig: Path

    def run(self, *args: str) -> str:
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(self.home)}
        argv = [KUBECTL, "--kubeconfig", str(self.kubeconfig), "--cache-dir", str(self.home / "cache"), *args]
        res = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=120, check=False)
        assert res.returncode == 0, f"kubectl {' '.join(args)} failed: {res.stderr}"
        return res.stdout

    def post(self, *args: str) -> protobuf_recorder.Request:
        """Run a command and return the one POST it sent."""
        before = len(self.recorder.posts())
        self.run(*args)
        sent = self.recorder.posts()[before:]
        assert len(sent) == 1, f"expected one POST, got {[r.path for r in sent]}"
        return sent[0]


def _self_signed(home: Path) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "example.test")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    (home / "tls.crt").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    (home / "tls.key").write_bytes(pem)


@pytest.fixture(scope="module")
def kubectl(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Kubectl]:
    home = tmp_path_factory.mktemp("kubectl-home")
    objects = {
        "/apis/batch/v1/namespaces/default/cronjobs/nightly": CRONJOB,
        "/apis/apps/v1/namespaces/default/deployments/web": DEPLOYMENT,
    }
    recorder = protobuf_recorder.Recorder(objects)
    kubeconfig = home / "kubeconfig"
    kubeconfig.write_text(
        "apiVersion: v1\nkind: Config\n"
        f"clusters: [{{name: c, cluster: {{server: '{recorder.url}'}}}}]\n"
        "users: [{name: u, user: {token: t}}]\n"
        "contexts: [{name: x, context: {cluster: c, user: u, namespace: default}}]\n"
        "current-context: x\n"
    )
    _self_signed(home)
    (home / "blob.bin").write_bytes(b"\xff\x00\xfe binary")
    (home / "app.properties").write_text("color=blue\nsize=3\n")
    yield Kubectl(recorder, home, kubeconfig)
    recorder.stop()


def _without_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_nulls(v) for v in value]
    return value


CREATE = [
    pytest.param(["deployment", "web", "--image=nginx", "--replicas=3"], id="deployment"),
    pytest.param(["deployment", "zero", "--image=nginx", "--replicas=0"], id="deployment-zero-replicas"),
    pytest.param(
        ["deployment", "multi", "--image=nginx", "--image=redis:7", "--port=8080"], id="deployment-ports"
    ),
    pytest.param(
        ["deployment", "cmd", "--image=busybox", "--", "sh", "-c", "sleep 1"], id="deployment-command"
    ),
    pytest.param(["namespace", "team-a"], id="namespace"),
    pytest.param(
        [
            "configmap",
            "cfg",
            "--from-literal=a=1",
            "--from-literal=b=two words",
            "--from-file=blob={home}/blob.bin",
        ],
        id="configmap-binary",
    ),
    pytest.param(
        ["configmap", "props", "--from-env-file={home}/app.properties", "--append-hash"], id="configmap-env"
    ),
    pytest.param(
        ["secret", "generic", "s1", "--from-literal=user=admin", "--type=Opaque"], id="secret-generic"
    ),
    pytest.param(["secret", "generic", "s2", "--from-file=blob={home}/blob.bin"], id="secret-file"),
    pytest.param(["secret", "tls", "tls1", "--cert={home}/tls.crt", "--key={home}/tls.key"], id="secret-tls"),
    pytest.param(
        [
            "secret",
            "docker-registry",
            "reg",
            "--docker-server=r.example",
            "--docker-username=u",
            "--docker-password=p",
        ],
        id="secret-docker-registry",
    ),
    pytest.param(
        ["service", "clusterip", "svc1", "--tcp=80:8080", "--tcp=443:https"], id="service-clusterip"
    ),
    pytest.param(["service", "clusterip", "headless", "--clusterip=None"], id="service-headless"),
    pytest.param(["service", "nodeport", "np", "--tcp=80:8080", "--node-port=30080"], id="service-nodeport"),
    pytest.param(["service", "loadbalancer", "lb", "--tcp=443:8443"], id="service-loadbalancer"),
    pytest.param(
        ["service", "externalname", "ext", "--external-name=example.com"], id="service-externalname"
    ),
    pytest.param(["job", "j1", "--image=busybox", "--", "echo", "hi"], id="job"),
    pytest.param(["job", "manual", "--from=cronjob/nightly"], id="job-from-cronjob"),
    pytest.param(
        [
            "cronjob",
            "nightly",
            "--image=busybox",
            "--schedule=*/5 * * * *",
            "--restart=OnFailure",
            "--",
            "date",
        ],
        id="cronjob",
    ),
    pytest.param(
        [
            "ingress",
            "web",
            "--class=nginx",
            "--rule=foo.com/bar*=svc1:8080,tls=my-cert",
            "--rule=/exact=svc2:http",
            "--default-backend=defsvc:80",
            "--annotation=a=b",
        ],
        id="ingress",
    ),
    pytest.param(["serviceaccount", "robot"], id="serviceaccount"),
    pytest.param(["quota", "q", "--hard=cpu=1,memory=1Gi,pods=10", "--scopes=NotTerminating"], id="quota"),
    pytest.param(
        ["poddisruptionbudget", "pdb", "--selector=app=web", "--min-available=50%"], id="pdb-percent"
    ),
    pytest.param(["poddisruptionbudget", "pdb2", "--selector=app=web", "--max-unavailable=1"], id="pdb-int"),
    pytest.param(
        ["priorityclass", "high", "--value=1000", "--description=x", "--preemption-policy=Never"],
        id="priorityclass",
    ),
    pytest.param(["priorityclass", "zero", "--value=0", "--global-default"], id="priorityclass-zero"),
    pytest.param(
        ["role", "r", "--verb=get,list", "--resource=pods,deployments.apps", "--resource-name=a"], id="role"
    ),
    pytest.param(["clusterrole", "cr", "--verb=get", "--non-resource-url=/logs/*"], id="clusterrole"),
    pytest.param(
        ["clusterrole", "agg", "--aggregation-rule=rbac.example.com/aggregate=true"], id="clusterrole-agg"
    ),
    pytest.param(
        ["rolebinding", "rb", "--role=r", "--user=alice", "--serviceaccount=default:robot", "--group=devs"],
        id="rolebinding",
    ),
    pytest.param(["clusterrolebinding", "crb", "--clusterrole=cr", "--user=bob"], id="clusterrolebinding"),
]


@pytest.mark.parametrize("args", CREATE)
def test_create_body_decodes_to_the_dry_run_object(kubectl: Kubectl, args: list[str]) -> None:
    args = [a.format(home=kubectl.home) for a in args]
    sent = kubectl.post("create", *args)
    assert decode.is_protobuf(sent.content_type)
    cut = args.index("--") if "--" in args else len(args)
    dry_run = [*args[:cut], "--dry-run=client", "-o", "json", *args[cut:]]
    expected = json.loads(kubectl.run("create", *dry_run))
    assert decode.decode(sent.body) == _without_nulls(expected)


@pytest.mark.parametrize(
    ("args", "spec"),
    [
        pytest.param(
            ["create", "pods"],
            {"resourceAttributes": {"namespace": "default", "verb": "create", "resource": "pods"}},
            id="resource",
        ),
        pytest.param(
            ["list", "deployments.apps", "-n", "kube-system"],
            {
                "resourceAttributes": {
                    "namespace": "kube-system",
                    "verb": "list",
                    "group": "apps",
                    "resource": "deployments",
                }
            },
            id="group-resource",
        ),
        pytest.param(
            ["get", "/healthz"],
            {"nonResourceAttributes": {"path": "/healthz", "verb": "get"}},
            id="non-resource",
        ),
    ],
)
def test_auth_can_i_sends_a_self_subject_access_review(kubectl: Kubectl, args: list[str], spec: dict) -> None:
    sent = kubectl.post("auth", "can-i", *args)
    assert sent.path == "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews"
    obj = decode.decode(sent.body)
    assert obj["kind"] == "SelfSubjectAccessReview"
    assert obj["apiVersion"] == "authorization.k8s.io/v1"
    assert obj["spec"] == spec


def test_auth_can_i_list_sends_a_self_subject_rules_review(kubectl: Kubectl) -> None:
    sent = kubectl.post("auth", "can-i", "--list", "-n", "team-a")
    obj = decode.decode(sent.body)
    assert (obj["kind"], obj["spec"]) == ("SelfSubjectRulesReview", {"namespace": "team-a"})


@pytest.mark.parametrize(
    "args",
    [
        pytest.param(
            ["run", "p1", "--image=nginx", "--port=80", "--env=A=1", "--labels=app=p1", "--", "sleep", "9"],
            id="run",
        ),
        pytest.param(
            ["expose", "deployment", "web", "--port=80", "--target-port=8080", "--name=web-svc"], id="expose"
        ),
    ],
)
def test_json_bodies_of_run_and_expose_survive_a_protobuf_round_trip(
    kubectl: Kubectl, args: list[str]
) -> None:
    """kubectl sends these as JSON; a client-go typed client would send the same object as protobuf."""
    sent = kubectl.post(*args)
    obj = _without_nulls(json.loads(sent.body))
    assert decode.decode(encode.encode(obj)) == obj
