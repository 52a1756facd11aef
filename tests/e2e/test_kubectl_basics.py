"""The everyday kubectl verbs against a real server: what a user types and reads back."""

from __future__ import annotations

import json
import subprocess
import textwrap

import pytest

from tests.e2e.cluster import Cluster

pytestmark = pytest.mark.e2e

DEPLOYMENT = textwrap.dedent("""\
    apiVersion: apps/v1
    kind: Deployment
    metadata:
      name: web
      labels: {app: web}
    spec:
      replicas: 2
      selector: {matchLabels: {app: web}}
      template:
        metadata: {labels: {app: web}}
        spec:
          containers:
          - name: nginx
            image: nginx:1.27
            ports: [{containerPort: 80}]
    """)


def test_version_reports_1_32(cluster: Cluster) -> None:
    out = json.loads(cluster.kubectl("version", "-o", "json").stdout)
    assert out["serverVersion"]["major"] == "1"
    assert out["serverVersion"]["minor"] == "32"
    assert out["clientVersion"]["minor"].startswith("32")


def test_system_namespaces_exist(cluster: Cluster) -> None:
    names = cluster.kubectl("get", "namespaces", "-o", "name").stdout.split()
    for ns in ("default", "kube-system", "kube-public", "kube-node-lease"):
        assert f"namespace/{ns}" in names


def test_get_namespaces_prints_upstream_columns(cluster: Cluster) -> None:
    lines = cluster.kubectl("get", "namespaces").stdout.splitlines()
    assert lines[0].split() == ["NAME", "STATUS", "AGE"]
    default = next(line for line in lines if line.startswith("default "))
    assert default.split()[1] == "Active"


def test_apply_create_get_and_reapply(cluster: Cluster, ns: str) -> None:
    out = cluster.kubectl("apply", "-n", ns, "-f", "-", input=DEPLOYMENT).stdout
    assert out.strip() == "deployment.apps/web created"
    dep = cluster.kubectl_json("get", "deployment", "web", "-n", ns)
    assert dep["spec"]["replicas"] == 2
    assert dep["spec"]["strategy"]["type"] == "RollingUpdate"      # defaulted
    assert dep["metadata"]["generation"] == 1
    assert "kubectl.kubernetes.io/last-applied-configuration" in dep["metadata"]["annotations"]
    again = cluster.kubectl("apply", "-n", ns, "-f", "-", input=DEPLOYMENT).stdout
    assert again.strip() == "deployment.apps/web unchanged"
    edited = DEPLOYMENT.replace("nginx:1.27", "nginx:1.28")
    out = cluster.kubectl("apply", "-n", ns, "-f", "-", input=edited).stdout
    assert out.strip() == "deployment.apps/web configured"
    dep2 = cluster.kubectl_json("get", "deployment", "web", "-n", ns)
    assert dep2["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:1.28"
    assert dep2["metadata"]["generation"] == 2
    assert dep2["spec"]["replicas"] == 2
    assert dep2["metadata"]["uid"] == dep["metadata"]["uid"]


def test_apply_a_list_from_get_output(cluster: Cluster, ns: str) -> None:
    """`kubectl get -o yaml` of several objects is a `kind: List`; applying it back (a
    common backup and restore) works with kubectl's default validation, and an unknown
    field in an item is still refused, with nothing of that item written."""
    for name, value in (("l1", "a=1"), ("l2", "b=2")):
        cluster.kubectl("create", "configmap", name, f"--from-literal={value}", "-n", ns)
    listed = cluster.kubectl("get", "cm", "l1", "l2", "-n", ns, "-o", "yaml").stdout
    assert listed.startswith("apiVersion: v1\nitems:") and "kind: List" in listed
    cluster.kubectl("delete", "cm", "l1", "l2", "-n", ns)
    out = cluster.kubectl("apply", "-n", ns, "-f", "-", input=listed).stdout
    assert out.split("\n")[:2] == ["configmap/l1 created", "configmap/l2 created"]
    assert cluster.kubectl_json("get", "cm", "l2", "-n", ns)["data"] == {"b": "2"}
    again = cluster.kubectl("get", "cm", "l1", "l2", "-n", ns, "-o", "yaml").stdout
    out = cluster.kubectl("apply", "-n", ns, "-f", "-", input=again.replace('a: "1"', 'a: "9"'))
    assert out.stdout.split("\n")[0] == "configmap/l1 configured"
    assert cluster.kubectl_json("get", "cm", "l1", "-n", ns)["data"] == {"a": "9"}
    bad = textwrap.dedent("""\
        apiVersion: v1
        kind: List
        items:
        - {apiVersion: v1, kind: ConfigMap, metadata: {name: l3}, data: {c: "3"}, bogus: 1}
        """)
    for verb in ("apply", "create"):
        res = cluster.kubectl(verb, "-n", ns, "-f", "-", input=bad, check=False)
        assert res.returncode == 1
        assert 'unknown field "bogus"' in res.stderr
    assert cluster.kubectl("get", "cm", "l3", "-n", ns, check=False).returncode == 1


def test_server_side_apply_and_conflict(cluster: Cluster, ns: str) -> None:
    cm = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cfg}\ndata: {a: '1', b: '2'}\n"
    out = cluster.kubectl("apply", "--server-side", "-n", ns, "-f", "-", input=cm).stdout
    assert "serverside-applied" in out
    got = cluster.kubectl_json("get", "configmap", "cfg", "-n", ns, "--show-managed-fields")
    assert got["data"] == {"a": "1", "b": "2"}
    managers = {m["manager"] for m in got["metadata"]["managedFields"]}
    assert "kubectl" in managers
    # Another manager changing an owned field conflicts...
    res = cluster.kubectl("apply", "--server-side", "--field-manager", "other", "-n", ns,
                          "-f", "-", input=cm.replace("a: '1'", "a: '9'"), check=False)
    assert res.returncode != 0
    assert "conflict" in res.stderr.lower()
    # ...unless forced.
    cluster.kubectl("apply", "--server-side", "--field-manager", "other", "--force-conflicts",
                    "-n", ns, "-f", "-", input=cm.replace("a: '1'", "a: '9'"))
    assert cluster.kubectl_json("get", "configmap", "cfg", "-n", ns)["data"]["a"] == "9"


def test_create_generators_use_protobuf(cluster: Cluster, ns: str) -> None:
    cluster.kubectl("create", "deployment", "gen", "--image=busybox", "--replicas=3", "-n", ns)
    cluster.kubectl("create", "configmap", "c1", "--from-literal=k=v", "-n", ns)
    cluster.kubectl("create", "secret", "generic", "s1", "--from-literal=pw=hunter2", "-n", ns)
    cluster.kubectl("create", "service", "clusterip", "svc1", "--tcp=80:8080", "-n", ns)
    cluster.kubectl("create", "serviceaccount", "sa1", "-n", ns)
    cluster.kubectl("create", "job", "j1", "--image=busybox", "-n", ns)
    dep = cluster.kubectl_json("get", "deployment", "gen", "-n", ns)
    assert dep["spec"]["replicas"] == 3
    assert dep["spec"]["template"]["spec"]["containers"][0]["image"] == "busybox"
    assert cluster.kubectl_json("get", "cm", "c1", "-n", ns)["data"] == {"k": "v"}
    secret = cluster.kubectl_json("get", "secret", "s1", "-n", ns)
    assert secret["data"] == {"pw": "aHVudGVyMg=="}
    assert secret["type"] == "Opaque"
    svc = cluster.kubectl_json("get", "svc", "svc1", "-n", ns)
    assert svc["spec"]["ports"][0]["port"] == 80
    assert svc["spec"]["ports"][0]["targetPort"] == 8080


def test_get_output_formats(cluster: Cluster, ns: str) -> None:
    cluster.kubectl("create", "configmap", "fmt", "--from-literal=x=1", "-n", ns)
    assert cluster.kubectl("get", "cm", "fmt", "-n", ns, "-o", "name").stdout.strip() == \
        "configmap/fmt"
    assert cluster.kubectl("get", "cm", "fmt", "-n", ns, "-o",
                           "jsonpath={.data.x}").stdout == "1"
    yaml_out = cluster.kubectl("get", "cm", "fmt", "-n", ns, "-o", "yaml").stdout
    assert "kind: ConfigMap" in yaml_out and "x: \"1\"" in yaml_out
    table = cluster.kubectl("get", "cm", "fmt", "-n", ns).stdout.splitlines()
    assert table[0].split() == ["NAME", "DATA", "AGE"]
    assert table[1].split()[:2] == ["fmt", "1"]


def test_labels_selectors_and_show_labels(cluster: Cluster, ns: str) -> None:
    for name, tier in (("a", "web"), ("b", "db"), ("c", "web")):
        cluster.kubectl("create", "configmap", name, "-n", ns)
        cluster.kubectl("label", "configmap", name, f"tier={tier}", "-n", ns)
    web = cluster.kubectl("get", "cm", "-n", ns, "-l", "tier=web", "-o", "name").stdout.split()
    assert web == ["configmap/a", "configmap/c"]
    not_db = cluster.kubectl("get", "cm", "-n", ns, "-l", "tier notin (db),tier",
                             "-o", "name").stdout.split()
    assert not_db == ["configmap/a", "configmap/c"]
    shown = cluster.kubectl("get", "cm", "b", "-n", ns, "--show-labels").stdout
    assert "tier=db" in shown
    cluster.kubectl("label", "configmap", "b", "tier-", "-n", ns)
    assert "labels" not in cluster.kubectl_json("get", "cm", "b", "-n", ns)["metadata"]


def test_all_namespaces_listing_shows_namespace_column(cluster: Cluster, ns: str) -> None:
    cluster.kubectl("create", "configmap", "everywhere", "-n", ns)
    lines = cluster.kubectl("get", "cm", "-A").stdout.splitlines()
    assert lines[0].split()[:2] == ["NAMESPACE", "NAME"]
    assert any(line.split()[:2] == [ns, "everywhere"] for line in lines)


def test_patch_types(cluster: Cluster, ns: str) -> None:
    cluster.kubectl("apply", "-n", ns, "-f", "-", input=DEPLOYMENT)
    cluster.kubectl("patch", "deployment", "web", "-n", ns, "-p",
                    '{"spec":{"template":{"spec":{"containers":[{"name":"nginx",'
                    '"env":[{"name":"A","value":"1"}]}]}}}}')
    cluster.kubectl("patch", "deployment", "web", "-n", ns, "--type=merge", "-p",
                    '{"metadata":{"annotations":{"note":"merged"}}}')
    cluster.kubectl("patch", "deployment", "web", "-n", ns, "--type=json", "-p",
                    '[{"op":"replace","path":"/spec/replicas","value":4}]')
    dep = cluster.kubectl_json("get", "deployment", "web", "-n", ns)
    container = dep["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == "nginx:1.27"             # strategic merge kept the rest
    assert container["env"] == [{"name": "A", "value": "1"}]
    assert dep["metadata"]["annotations"]["note"] == "merged"
    assert dep["spec"]["replicas"] == 4


def test_scale_edit_replace_annotate(cluster: Cluster, ns: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    cluster.kubectl("apply", "-n", ns, "-f", "-", input=DEPLOYMENT)
    cluster.kubectl("scale", "deployment", "web", "--replicas=5", "-n", ns)
    assert cluster.kubectl_json("get", "deploy", "web", "-n", ns)["spec"]["replicas"] == 5
    editor = tmp_path / "editor.sh"
    editor.write_text("#!/bin/sh\nsed -i 's/replicas: 5/replicas: 7/' \"$1\"\n")
    editor.chmod(0o755)
    env = cluster.env() | {"KUBE_EDITOR": str(editor)}
    res = subprocess.run(["/usr/bin/kubectl", "edit", "deployment", "web", "-n", ns],
                         env=env, capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    assert cluster.kubectl_json("get", "deploy", "web", "-n", ns)["spec"]["replicas"] == 7
    cluster.kubectl("annotate", "deployment", "web", "owner=team-a", "-n", ns)
    dep = cluster.kubectl_json("get", "deploy", "web", "-n", ns)
    assert dep["metadata"]["annotations"]["owner"] == "team-a"
    dep["spec"]["replicas"] = 1
    del dep["metadata"]["resourceVersion"]
    cluster.kubectl("replace", "-f", "-", input=json.dumps(dep))
    assert cluster.kubectl_json("get", "deploy", "web", "-n", ns)["spec"]["replicas"] == 1


def test_delete_by_name_label_and_file(cluster: Cluster, ns: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    for name in ("d1", "d2", "d3"):
        cluster.kubectl("create", "configmap", name, "-n", ns)
    cluster.kubectl("label", "cm", "d2", "gone=yes", "-n", ns)
    assert "deleted" in cluster.kubectl("delete", "cm", "d1", "-n", ns).stdout
    cluster.kubectl("delete", "cm", "-l", "gone=yes", "-n", ns)
    manifest = tmp_path / "d3.yaml"
    manifest.write_text(f"apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: d3, namespace: {ns}}}\n")
    cluster.kubectl("delete", "-f", str(manifest))
    left = cluster.kubectl("get", "cm", "-n", ns, "-o", "name").stdout.split()
    assert not {"configmap/d1", "configmap/d2", "configmap/d3"} & set(left)
    res = cluster.kubectl("get", "cm", "d1", "-n", ns, check=False)
    assert res.returncode == 1
    assert 'configmaps "d1" not found' in res.stderr


def test_wait_for_delete(cluster: Cluster, ns: str) -> None:
    cluster.kubectl("create", "configmap", "w", "-n", ns)
    cluster.kubectl("delete", "cm", "w", "-n", ns, "--wait=false")
    cluster.kubectl("wait", "--for=delete", "configmap/w", "-n", ns, "--timeout=10s")


def test_explain_and_api_resources(cluster: Cluster) -> None:
    out = cluster.kubectl("explain", "deployment.spec.replicas").stdout
    assert "replicas" in out and "integer" in out
    res = cluster.kubectl("api-resources").stdout
    deploy = next(line for line in res.splitlines() if line.startswith("deployments "))
    assert deploy.split() == ["deployments", "deploy", "apps/v1", "true", "Deployment"]
    versions = cluster.kubectl("api-versions").stdout.split()
    assert "apps/v1" in versions and "v1" in versions and "autoscaling/v2" in versions


def test_auth_can_i(cluster: Cluster) -> None:
    assert cluster.kubectl("auth", "can-i", "create", "deployments").stdout.strip() == "yes"


def test_diff_shows_changes(cluster: Cluster, ns: str) -> None:
    cluster.kubectl("apply", "-n", ns, "-f", "-", input=DEPLOYMENT)
    res = cluster.kubectl("diff", "-n", ns, "-f", "-",
                          input=DEPLOYMENT.replace("replicas: 2", "replicas: 3"), check=False)
    assert res.returncode == 1, res.stderr         # 1 = differences found
    assert "-  replicas: 2" in res.stdout and "+  replicas: 3" in res.stdout


def test_kustomize(cluster: Cluster, ns: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "cm.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: base}\n"
                                      "data: {k: v}\n")
    (tmp_path / "kustomization.yaml").write_text(
        f"namespace: {ns}\nnamePrefix: kz-\nresources: [cm.yaml]\n")
    cluster.kubectl("apply", "-k", str(tmp_path))
    assert cluster.kubectl_json("get", "cm", "kz-base", "-n", ns)["data"] == {"k": "v"}


def test_new_namespace_gets_default_account_and_root_ca(cluster: Cluster, ns: str) -> None:
    cluster.kubectl("wait", "--for=jsonpath={.metadata.name}=default", "serviceaccount/default",
                    "-n", ns, "--timeout=30s")
    cluster.kubectl("wait", "--for=jsonpath={.metadata.name}=kube-root-ca.crt",
                    "configmap/kube-root-ca.crt", "-n", ns, "--timeout=30s")
    ca = cluster.kubectl_json("get", "cm", "kube-root-ca.crt", "-n", ns)["data"]["ca.crt"]
    assert ca.startswith("-----BEGIN CERTIFICATE-----")


def test_autoscale_serves_hpa_in_both_versions(cluster: Cluster, ns: str) -> None:
    cluster.kubectl("create", "deployment", "hpa-target", "--image=busybox", "-n", ns)
    out = cluster.kubectl("autoscale", "deployment", "hpa-target", "--cpu-percent=50",
                          "--min=1", "--max=5", "-n", ns).stdout     # protobuf, autoscaling/v1
    assert "autoscaled" in out
    base = f"/apis/autoscaling/%s/namespaces/{ns}/horizontalpodautoscalers/hpa-target"
    v1 = json.loads(cluster.kubectl("get", "--raw", base % "v1").stdout)
    v2 = json.loads(cluster.kubectl("get", "--raw", base % "v2").stdout)
    assert v1["spec"]["targetCPUUtilizationPercentage"] == 50
    assert v2["spec"]["metrics"] == [{"type": "Resource", "resource": {
        "name": "cpu", "target": {"type": "Utilization", "averageUtilization": 50}}}]
    assert v1["metadata"]["uid"] == v2["metadata"]["uid"]
    row = cluster.kubectl("get", "hpa", "hpa-target", "-n", ns).stdout.splitlines()[1].split()
    assert row[:2] == ["hpa-target", "Deployment/hpa-target"]
