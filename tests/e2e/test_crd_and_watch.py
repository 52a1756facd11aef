"""Custom resources, watches and the read paths kubectl describe/get all use."""

from __future__ import annotations

import subprocess
import textwrap

import pytest

from tests.e2e.cluster import KUBECTL, Cluster

pytestmark = pytest.mark.e2e

CRD = textwrap.dedent("""\
    apiVersion: apiextensions.k8s.io/v1
    kind: CustomResourceDefinition
    metadata:
      name: crontabs.stable.example.com
    spec:
      group: stable.example.com
      scope: Namespaced
      names: {plural: crontabs, singular: crontab, kind: CronTab, shortNames: [ct]}
      versions:
      - name: v1
        served: true
        storage: true
        subresources: {status: {}}
        additionalPrinterColumns:
        - {name: Spec, type: string, jsonPath: .spec.cronSpec}
        - {name: Replicas, type: integer, jsonPath: .spec.replicas}
        - {name: Age, type: date, jsonPath: .metadata.creationTimestamp}
        schema:
          openAPIV3Schema:
            type: object
            properties:
              spec:
                type: object
                properties:
                  cronSpec: {type: string}
                  image: {type: string}
                  replicas: {type: integer, minimum: 1, default: 1}
    """)


@pytest.fixture(scope="module")
def crontabs(cluster: Cluster) -> None:
    cluster.kubectl("apply", "-f", "-", input=CRD)
    cluster.kubectl("wait", "--for=condition=Established", "crd/crontabs.stable.example.com",
                    "--timeout=30s")


def test_custom_resource_is_served_validated_and_printed(cluster: Cluster, ns: str,
                                                        crontabs: None) -> None:
    cluster.kubectl("apply", "-n", ns, "-f", "-", input=(
        "apiVersion: stable.example.com/v1\nkind: CronTab\nmetadata: {name: tab}\n"
        "spec: {cronSpec: '* * * * */5', image: my-cron}\n"))
    got = cluster.kubectl_json("get", "ct", "tab", "-n", ns)
    assert got["spec"]["replicas"] == 1                     # schema default applied
    lines = cluster.kubectl("get", "crontabs", "-n", ns).stdout.splitlines()
    assert lines[0].split() == ["NAME", "SPEC", "REPLICAS", "AGE"]
    assert lines[1].split()[:5] == ["tab", "*", "*", "*", "*"]
    bad = cluster.kubectl("apply", "-n", ns, "-f", "-", check=False, input=(
        "apiVersion: stable.example.com/v1\nkind: CronTab\nmetadata: {name: bad}\n"
        "spec: {replicas: 0}\n"))
    assert bad.returncode != 0
    assert "spec.replicas" in bad.stderr and "should be greater than or equal to 1" in bad.stderr
    assert "crontabs" in cluster.kubectl("api-resources", "--api-group=stable.example.com").stdout
    explain = cluster.kubectl("explain", "crontab.spec").stdout
    assert "cronSpec" in explain


def test_get_watch_prints_changes(cluster: Cluster, ns: str) -> None:
    cluster.kubectl("create", "configmap", "seen", "-n", ns)
    cluster.kubectl("wait", "--for=jsonpath={.metadata.name}=kube-root-ca.crt",
                    "configmap/kube-root-ca.crt", "-n", ns, "--timeout=30s")
    proc = subprocess.Popen([KUBECTL, "get", "cm", "-n", ns, "-w", "--output-watch-events"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=cluster.env())
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().split()[:2] == ["EVENT", "NAME"]
        initial = [proc.stdout.readline().split()[:2] for _ in range(2)]
        assert ["ADDED", "seen"] in initial          # beside kube-root-ca.crt
        cluster.kubectl("label", "cm", "seen", "x=y", "-n", ns)
        line = proc.stdout.readline()
        assert line.split()[:2] == ["MODIFIED", "seen"]
        cluster.kubectl("delete", "cm", "seen", "-n", ns)
        line = proc.stdout.readline()
        assert line.split()[:2] == ["DELETED", "seen"]
    finally:
        proc.terminate()
        proc.communicate(timeout=10)


def test_describe_shows_object_and_events(cluster: Cluster, ns: str) -> None:
    cluster.kubectl("create", "configmap", "desc", "--from-literal=k=v", "-n", ns)
    out = cluster.kubectl("describe", "configmap", "desc", "-n", ns).stdout
    assert "Name:" in out and "desc" in out and "Data" in out
    cluster.kubectl("run", "pod-a", "--image=busybox", "-n", ns)
    out = cluster.kubectl("describe", "pod", "pod-a", "-n", ns).stdout
    assert "Image:" in out and "busybox" in out and "Status:" in out


def test_get_all_lists_workload_categories(cluster: Cluster, ns: str) -> None:
    cluster.kubectl("create", "deployment", "cat", "--image=busybox", "-n", ns)
    cluster.kubectl("create", "service", "clusterip", "cat", "--tcp=80:80", "-n", ns)
    out = cluster.kubectl("get", "all", "-n", ns).stdout
    assert "deployment.apps/cat" in out
    assert "service/cat" in out


def test_namespace_deletion_removes_content(cluster: Cluster) -> None:
    cluster.kubectl("apply", "-f", "-", input="apiVersion: v1\nkind: Namespace\n"
                                              "metadata: {name: doomed}\n")
    cluster.kubectl("create", "configmap", "x", "-n", "doomed")
    cluster.kubectl("delete", "namespace", "doomed", "--timeout=60s")
    res = cluster.kubectl("get", "namespace", "doomed", check=False)
    assert res.returncode == 1 and "not found" in res.stderr
