"""Bad input gets the upstream Status error, the store stays unchanged, the server lives on."""

from __future__ import annotations

import base64
import json
import os
import ssl
import tempfile
import urllib.error
import urllib.request
from typing import Any

import pytest
import yaml

from tests.e2e.cluster import Cluster

pytestmark = pytest.mark.e2e


def _tls(cluster: Cluster, auth: bool) -> ssl.SSLContext:
    with open(cluster.kubeconfig) as f:
        cfg = yaml.safe_load(f)
    tls = ssl.create_default_context()
    tls.load_verify_locations(cadata=base64.b64decode(
        cfg["clusters"][0]["cluster"]["certificate-authority-data"]).decode())
    if auth:
        user = cfg["users"][0]["user"]
        with tempfile.TemporaryDirectory() as d:
            crt, key = os.path.join(d, "c"), os.path.join(d, "k")
            for path, field in ((crt, "client-certificate-data"), (key, "client-key-data")):
                with open(path, "wb") as out:
                    out.write(base64.b64decode(user[field]))
            tls.load_cert_chain(crt, key)
    return tls


def _call(cluster: Cluster, method: str, path: str, body: bytes | None = None,
          content_type: str = "application/json", auth: bool = True) -> tuple[int, Any, Any]:
    """A raw HTTPS call with the admin client certificate (or none)."""
    tls = _tls(cluster, auth)
    req = urllib.request.Request(cluster.url + path, data=body, method=method,
                                 headers={"Content-Type": content_type})
    try:
        with urllib.request.urlopen(req, context=tls, timeout=10) as r:
            return r.status, json.loads(r.read() or b"null"), r.headers
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null"), e.headers


def _cm(name: str, **extra: Any) -> bytes:
    return json.dumps({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name},
                       **extra}).encode()


def _assert_absent(cluster: Cluster, ns: str, name: str) -> None:
    code, _, _ = _call(cluster, "GET", f"/api/v1/namespaces/{ns}/configmaps/{name}")
    assert code == 404


def test_unauthenticated_request_is_401(cluster: Cluster) -> None:
    code, body, _ = _call(cluster, "GET", "/api/v1/namespaces", auth=False)
    assert code == 401
    assert body["kind"] == "Status" and body["reason"] == "Unauthorized"


@pytest.mark.parametrize("body,content_type,code,reason", [
    (b"{not json", "application/json", 400, "BadRequest"),
    (b"a: [unclosed", "application/yaml", 400, "BadRequest"),
    (b"[1, 2]", "application/json", 400, "BadRequest"),
    (_cm("x"), "text/plain", 415, "UnsupportedMediaType"),
    (_cm("Bad_Name"), "application/json", 422, "Invalid"),
    (json.dumps({"apiVersion": "apps/v1", "kind": "ConfigMap", "metadata": {"name": "v"}}
                ).encode(), "application/json", 400, "BadRequest"),
    (json.dumps({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "k"}}).encode(),
     "application/json", 400, "BadRequest"),
], ids=["malformed-json", "malformed-yaml", "not-an-object", "media-type", "invalid-name",
        "wrong-apiversion", "wrong-kind"])
def test_bad_bodies(cluster: Cluster, ns: str, body: bytes, content_type: str, code: int,
                    reason: str) -> None:
    got, status, _ = _call(cluster, "POST", f"/api/v1/namespaces/{ns}/configmaps", body,
                           content_type)
    assert (got, status["reason"]) == (code, reason), status
    assert status["kind"] == "Status" and status["message"]
    listed = _call(cluster, "GET", f"/api/v1/namespaces/{ns}/configmaps")[1]
    assert [i["metadata"]["name"] for i in listed["items"]
            if i["metadata"]["name"] != "kube-root-ca.crt"] == []


def test_body_over_3mib_is_413(cluster: Cluster, ns: str) -> None:
    big = _cm("big", data={"blob": "x" * (3 * 1024 * 1024 + 10)})
    code, status, _ = _call(cluster, "POST", f"/api/v1/namespaces/{ns}/configmaps", big)
    assert code == 413 and status["reason"] == "RequestEntityTooLarge"
    _assert_absent(cluster, ns, "big")


def test_unknown_field_strict_is_400_warn_is_header(cluster: Cluster, ns: str) -> None:
    body = _cm("strict", data={"a": "b"}, bogus=1)
    code, status, _ = _call(cluster, "POST",
                            f"/api/v1/namespaces/{ns}/configmaps?fieldValidation=Strict", body)
    assert code == 400 and 'unknown field "bogus"' in status["message"]
    _assert_absent(cluster, ns, "strict")
    code, obj, headers = _call(cluster, "POST",
                               f"/api/v1/namespaces/{ns}/configmaps?fieldValidation=Warn", body)
    assert code == 201 and "bogus" not in obj
    assert 'unknown field \\"bogus\\"' in headers["Warning"] or 'bogus' in headers["Warning"]


def test_kubectl_rejects_unknown_field(cluster: Cluster, ns: str) -> None:
    res = cluster.kubectl("apply", "-n", ns, "-f", "-", check=False, input=(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: u}\nspec: {x: 1}\n"))
    assert res.returncode != 0
    assert 'unknown field "spec"' in res.stderr
    _assert_absent(cluster, ns, "u")


def test_unknown_kind_and_version_are_404(cluster: Cluster) -> None:
    assert _call(cluster, "GET", "/apis/apps/v9/deployments")[0] == 404
    assert _call(cluster, "GET", "/api/v1/widgets")[0] == 404
    res = cluster.kubectl("get", "widgets", check=False)
    assert res.returncode != 0 and "doesn't have a resource type" in res.stderr


def test_stale_update_conflicts(cluster: Cluster, ns: str) -> None:
    code, created, _ = _call(cluster, "POST", f"/api/v1/namespaces/{ns}/configmaps",
                             _cm("race", data={"v": "0"}))
    assert code == 201
    first = dict(created, data={"v": "1"})
    second = dict(created, data={"v": "2"})
    path = f"/api/v1/namespaces/{ns}/configmaps/race"
    assert _call(cluster, "PUT", path, json.dumps(first).encode())[0] == 200
    code, status, _ = _call(cluster, "PUT", path, json.dumps(second).encode())
    assert code == 409 and status["reason"] == "Conflict"
    assert _call(cluster, "GET", path)[1]["data"] == {"v": "1"}


def test_duplicate_create_is_409_already_exists(cluster: Cluster, ns: str) -> None:
    path = f"/api/v1/namespaces/{ns}/configmaps"
    assert _call(cluster, "POST", path, _cm("dup"))[0] == 201
    code, status, _ = _call(cluster, "POST", path, _cm("dup"))
    assert code == 409 and status["reason"] == "AlreadyExists"
    assert status["message"] == 'configmaps "dup" already exists'


def test_missing_namespace_is_404(cluster: Cluster) -> None:
    code, status, _ = _call(cluster, "POST", "/api/v1/namespaces/nope-nope/configmaps", _cm("x"))
    assert code == 404 and status["message"] == 'namespaces "nope-nope" not found'


def test_invalid_deployment_lists_each_cause(cluster: Cluster, ns: str) -> None:
    dep = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "bad"},
           "spec": {"replicas": -1, "selector": {"matchLabels": {"app": "a"}},
                    "template": {"metadata": {"labels": {"app": "b"}},
                                 "spec": {"containers": [{"name": "c"}]}}}}
    code, status, _ = _call(cluster, "POST", f"/apis/apps/v1/namespaces/{ns}/deployments",
                            json.dumps(dep).encode())
    assert code == 422 and status["reason"] == "Invalid"
    fields = {c["field"] for c in status["details"]["causes"]}
    assert "spec.replicas" in fields
    assert "spec.template.metadata.labels" in fields
    assert "spec.template.spec.containers[0].image" in fields


def test_server_survives_bad_input(cluster: Cluster) -> None:
    assert _call(cluster, "GET", "/api/v1/namespaces/default")[0] == 200
    assert cluster.proc.poll() is None
