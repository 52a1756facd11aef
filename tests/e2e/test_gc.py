"""Garbage collection through the real kubectl: --cascade=background|foreground|orphan."""

from __future__ import annotations

import json
import textwrap

import pytest

from tests.e2e.cluster import Cluster

pytestmark = pytest.mark.e2e


def owner_ref(kind: str, name: str, uid: str, *, api_version: str = "v1",
              block: bool = True) -> str:
    return json.dumps({"apiVersion": api_version, "kind": kind, "name": name, "uid": uid,
                       "blockOwnerDeletion": block})


def make_configmap(cluster: Cluster, ns: str, name: str, *owners: str) -> str:
    """Create a ConfigMap (optionally with ownerReferences); its uid."""
    refs = f"  ownerReferences: [{', '.join(owners)}]\n" if owners else ""
    return str(cluster.kubectl("create", "-n", ns, "-o", "jsonpath={.metadata.uid}", "-f", "-",
                               input=(f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n"
                                      f"{refs}data: {{k: v}}\n")).stdout)


def exists(cluster: Cluster, ns: str, resource: str, name: str) -> bool:
    res = cluster.kubectl("get", resource, name, "-n", ns, "--ignore-not-found", "-o", "name")
    return bool(res.stdout.strip())


def owners_of(cluster: Cluster, ns: str, resource: str, name: str) -> list[str]:
    got = cluster.kubectl_json("get", resource, name, "-n", ns)
    return [r["name"] for r in got["metadata"].get("ownerReferences") or []]


def wait_gone(cluster: Cluster, ns: str, *targets: str) -> None:
    cluster.kubectl("wait", "--for=delete", "-n", ns, *targets, "--timeout=30s")


def test_background_deletes_dependents_after_owner(cluster: Cluster, ns: str) -> None:
    uid = make_configmap(cluster, ns, "owner")
    make_configmap(cluster, ns, "dep1", owner_ref("ConfigMap", "owner", uid))
    make_configmap(cluster, ns, "dep2", owner_ref("ConfigMap", "owner", uid, block=False))
    make_configmap(cluster, ns, "bystander")
    cluster.kubectl("delete", "cm", "owner", "-n", ns, "--cascade=background")
    wait_gone(cluster, ns, "cm/dep1", "cm/dep2")
    assert exists(cluster, ns, "cm", "bystander")


def test_foreground_owner_goes_after_its_blocking_dependents(cluster: Cluster, ns: str) -> None:
    uid = make_configmap(cluster, ns, "owner")
    make_configmap(cluster, ns, "blocker", owner_ref("ConfigMap", "owner", uid))
    make_configmap(cluster, ns, "loose", owner_ref("ConfigMap", "owner", uid, block=False))
    # kubectl waits until the owner is gone; by then every blocking dependent is gone.
    cluster.kubectl("delete", "cm", "owner", "-n", ns, "--cascade=foreground", "--timeout=30s")
    assert not exists(cluster, ns, "cm", "blocker")
    wait_gone(cluster, ns, "cm/loose")


def test_orphan_keeps_dependents_without_the_reference(cluster: Cluster, ns: str) -> None:
    uid = make_configmap(cluster, ns, "owner")
    other = make_configmap(cluster, ns, "other")
    make_configmap(cluster, ns, "dep", owner_ref("ConfigMap", "owner", uid),
                   owner_ref("ConfigMap", "other", other))
    cluster.kubectl("delete", "cm", "owner", "-n", ns, "--cascade=orphan", "--timeout=30s")
    assert owners_of(cluster, ns, "cm", "dep") == ["other"]


def test_dependent_of_missing_or_replaced_owner_is_collected(cluster: Cluster, ns: str) -> None:
    real = make_configmap(cluster, ns, "owner")
    make_configmap(cluster, ns, "never", owner_ref("ConfigMap", "ghost",
                                                   "00000000-0000-0000-0000-000000000001"))
    make_configmap(cluster, ns, "stale", owner_ref("ConfigMap", "owner",
                                                   "00000000-0000-0000-0000-000000000002"))
    make_configmap(cluster, ns, "kept", owner_ref("ConfigMap", "owner", real),
                   owner_ref("ConfigMap", "ghost", "00000000-0000-0000-0000-000000000003"))
    wait_gone(cluster, ns, "cm/never", "cm/stale")
    assert exists(cluster, ns, "cm", "kept")


def test_cluster_scoped_owner_of_namespaced_dependent(cluster: Cluster, ns: str) -> None:
    cluster.kubectl("create", "clusterrole", f"owner-{ns}", "--verb=get", "--resource=pods")
    uid = cluster.kubectl("get", "clusterrole", f"owner-{ns}", "-o",
                          "jsonpath={.metadata.uid}").stdout
    make_configmap(cluster, ns, "dep", owner_ref("ClusterRole", f"owner-{ns}", uid,
                                                 api_version="rbac.authorization.k8s.io/v1"))
    cluster.kubectl("delete", "clusterrole", f"owner-{ns}")
    wait_gone(cluster, ns, "cm/dep")


RS = textwrap.dedent("""\
    apiVersion: apps/v1
    kind: ReplicaSet
    metadata: {name: web}
    spec:
      replicas: 2
      selector: {matchLabels: {app: web}}
      template:
        metadata: {labels: {app: web}}
        spec:
          containers: [{name: c, image: registry.k8s.io/pause:3.10}]
    """)


def make_replicaset(cluster: Cluster, ns: str) -> list[str]:
    """A ReplicaSet `web` with its two pods created; the pods' names."""
    cluster.kubectl("apply", "-n", ns, "-f", "-", input=RS)
    cluster.kubectl("wait", "-n", ns, "rs/web", "--for=jsonpath={.status.replicas}=2",
                    "--timeout=30s")
    pods = cluster.kubectl_json("get", "pods", "-n", ns, "-l", "app=web")["items"]
    assert len(pods) == 2
    return [p["metadata"]["name"] for p in pods]


def test_replicaset_background(cluster: Cluster, ns: str) -> None:
    pods = make_replicaset(cluster, ns)
    cluster.kubectl("delete", "rs", "web", "-n", ns, "--cascade=background")
    wait_gone(cluster, ns, *(f"pod/{p}" for p in pods))


def test_replicaset_foreground(cluster: Cluster, ns: str) -> None:
    pods = make_replicaset(cluster, ns)
    cluster.kubectl("delete", "rs", "web", "-n", ns, "--cascade=foreground", "--timeout=30s")
    assert cluster.kubectl("get", "pods", "-n", ns, "-l", "app=web", "-o", "name").stdout == ""
    assert all(not exists(cluster, ns, "pod", p) for p in pods)


def test_replicaset_orphan(cluster: Cluster, ns: str) -> None:
    pods = make_replicaset(cluster, ns)
    cluster.kubectl("delete", "rs", "web", "-n", ns, "--cascade=orphan", "--timeout=30s")
    for p in pods:
        assert owners_of(cluster, ns, "pod", p) == []


CRD = textwrap.dedent("""\
    apiVersion: apiextensions.k8s.io/v1
    kind: CustomResourceDefinition
    metadata: {name: widgets.gc.example.com}
    spec:
      group: gc.example.com
      scope: Namespaced
      names: {plural: widgets, singular: widget, kind: Widget}
      versions:
      - name: v1
        served: true
        storage: true
        schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}
    """)


def test_custom_resources_own_and_are_owned(cluster: Cluster, ns: str) -> None:
    cluster.kubectl("apply", "-f", "-", input=CRD)
    cluster.kubectl("wait", "--for=condition=Established", "crd/widgets.gc.example.com",
                    "--timeout=30s")
    cluster.kubectl("create", "-n", ns, "-f", "-", input=(
        "apiVersion: gc.example.com/v1\nkind: Widget\nmetadata: {name: boss}\n"))
    boss = cluster.kubectl("get", "widget", "boss", "-n", ns, "-o",
                           "jsonpath={.metadata.uid}").stdout
    make_configmap(cluster, ns, "cm-of-widget", owner_ref(
        "Widget", "boss", boss, api_version="gc.example.com/v1"))
    cm_uid = make_configmap(cluster, ns, "cm-owner")
    cluster.kubectl("create", "-n", ns, "-f", "-", input=(
        "apiVersion: gc.example.com/v1\nkind: Widget\nmetadata:\n  name: minion\n"
        f"  ownerReferences: [{owner_ref('ConfigMap', 'cm-owner', cm_uid)}]\n"))
    cluster.kubectl("delete", "widget", "boss", "-n", ns)
    cluster.kubectl("delete", "cm", "cm-owner", "-n", ns)
    wait_gone(cluster, ns, "cm/cm-of-widget", "widget/minion")
