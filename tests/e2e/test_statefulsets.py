"""StatefulSets against a real server with two hollow nodes, driven by the real kubectl.

Hollow nodes report scheduled pods Running and Ready, so ordering is observable: the
controller only goes on to the next ordinal once the previous pod is Running and Ready.
"""

from __future__ import annotations

import itertools
import json
import os
from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e import agentenv, simenv
from tests.e2e import cluster as cluster_mod

pytestmark = pytest.mark.e2e
_names = itertools.count()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[cluster_mod.Cluster]:
    yield from simenv.running_cluster(tmp_path_factory, 2)


@pytest.fixture
def ns(cluster: cluster_mod.Cluster) -> str:
    name = f"sts{next(_names)}-{os.getpid() % 10000}"
    cluster.kubectl("create", "namespace", name)
    return name


def sts_yaml(name: str, replicas: int, *, image: str = "nginx:1", extra_spec: str = "",
             node_selector: str = "", claims: bool = False) -> str:
    selector = f"\n      nodeSelector: {{{node_selector}}}" if node_selector else ""
    templates = """
  volumeClaimTemplates:
  - metadata: {name: www}
    spec:
      accessModes: [ReadWriteOnce]
      resources: {requests: {storage: 1Gi}}""" if claims else ""
    return f"""apiVersion: apps/v1
kind: StatefulSet
metadata: {{name: {name}}}
spec:
  serviceName: {name}-svc
  replicas: {replicas}
  selector: {{matchLabels: {{app: {name}}}}}{extra_spec}
  template:
    metadata: {{labels: {{app: {name}}}}}
    spec:{selector}
      containers:
      - name: c
        image: {image}{templates}
"""


def pods(cluster: cluster_mod.Cluster, ns: str, name: str) -> list[dict[str, Any]]:
    items = cluster.kubectl_json("get", "pods", "-n", ns, "-l", f"app={name}")["items"]
    return sorted(items, key=lambda p: p["metadata"]["name"])


def rollout(cluster: cluster_mod.Cluster, ns: str, name: str) -> str:
    return cluster.kubectl("rollout", "status", f"statefulset/{name}", "-n", ns,
                           "--timeout=60s").stdout


def event_messages(cluster: cluster_mod.Cluster, ns: str, reason: str) -> list[str]:
    """The set's events of one reason, in the order they were written."""
    items = cluster.kubectl_json("get", "events", "-n", ns,
                                 f"--field-selector=reason={reason}")["items"]
    items.sort(key=lambda e: int(e["metadata"]["resourceVersion"]))
    return [e["message"] for e in items]


def test_pods_get_stable_identity_and_are_created_in_order(cluster: cluster_mod.Cluster,
                                                           ns: str) -> None:
    cluster.kubectl("apply", "-n", ns, "-f", "-", input=sts_yaml("web", 3))
    # partition defaults to 0, so kubectl reports a partitioned roll out, as upstream.
    assert "partitioned roll out complete: 3 new pods have been updated" in rollout(
        cluster, ns, "web")
    got = pods(cluster, ns, "web")
    assert [p["metadata"]["name"] for p in got] == ["web-0", "web-1", "web-2"]
    sts = cluster.kubectl_json("get", "sts", "web", "-n", ns)
    for i, pod in enumerate(got):
        assert pod["spec"]["hostname"] == f"web-{i}"
        assert pod["spec"]["subdomain"] == "web-svc"
        labels = pod["metadata"]["labels"]
        assert labels["statefulset.kubernetes.io/pod-name"] == f"web-{i}"
        assert labels["apps.kubernetes.io/pod-index"] == str(i)
        assert labels["controller-revision-hash"] == sts["status"]["updateRevision"]
    assert event_messages(cluster, ns, "SuccessfulCreate") == [
        f"create Pod web-{i} in StatefulSet web successful" for i in range(3)]
    status = sts["status"]
    assert (status["replicas"], status["readyReplicas"], status["currentReplicas"],
            status["updatedReplicas"], status["availableReplicas"]) == (3, 3, 3, 3, 3)
    assert status["currentRevision"] == status["updateRevision"]
    assert status["observedGeneration"] == sts["metadata"]["generation"]
    revs = cluster.kubectl_json("get", "controllerrevisions", "-n", ns)["items"]
    assert [r["metadata"]["name"] for r in revs] == [status["updateRevision"]]
    assert status["updateRevision"].startswith("web-")
    table = cluster.kubectl("get", "sts", "web", "-n", ns, "-o", "wide").stdout.split("\n")
    assert table[0].split() == ["NAME", "READY", "AGE", "CONTAINERS", "IMAGES"]
    assert table[1].split()[:2] == ["web", "3/3"]


def test_next_pod_waits_until_the_previous_one_runs(cluster: cluster_mod.Cluster,
                                                    ns: str) -> None:
    label = f"sts-{ns}"
    cluster.kubectl("apply", "-n", ns, "-f", "-",
                    input=sts_yaml("db", 2, node_selector=f"{label}: 'yes'"))
    # web-0 cannot be scheduled: once the controller has reported on this generation with
    # one replica, it has decided not to start db-1 yet.
    cluster_mod.wait_for("status of generation 1", lambda: cluster.kubectl_json(
        "get", "sts", "db", "-n", ns).get("status", {}),
        lambda s: s.get("observedGeneration") == 1 and s.get("replicas") == 1)
    assert [p["metadata"]["name"] for p in pods(cluster, ns, "db")] == ["db-0"]
    cluster.kubectl("label", "node", "hollow-1", f"{label}=yes")
    try:
        rollout(cluster, ns, "db")
    finally:
        cluster.kubectl("label", "node", "hollow-1", f"{label}-")
    assert [p["metadata"]["name"] for p in pods(cluster, ns, "db")] == ["db-0", "db-1"]


def test_scale_up_and_down_in_order(cluster: cluster_mod.Cluster, ns: str) -> None:
    cluster.kubectl("apply", "-n", ns, "-f", "-", input=sts_yaml("web", 1))
    rollout(cluster, ns, "web")
    cluster.kubectl("scale", "sts", "web", "-n", ns, "--replicas=3")
    rollout(cluster, ns, "web")
    assert [p["metadata"]["name"] for p in pods(cluster, ns, "web")] == [
        "web-0", "web-1", "web-2"]
    cluster.kubectl("scale", "sts", "web", "-n", ns, "--replicas=1")
    cluster_mod.wait_for("scaled down", lambda: [p["metadata"]["name"] for p in pods(
        cluster, ns, "web")], lambda names: names == ["web-0"])
    assert event_messages(cluster, ns, "SuccessfulDelete") == [
        "delete Pod web-2 in StatefulSet web successful",
        "delete Pod web-1 in StatefulSet web successful"]


def test_deleted_pod_comes_back_with_its_name(cluster: cluster_mod.Cluster, ns: str) -> None:
    cluster.kubectl("apply", "-n", ns, "-f", "-", input=sts_yaml("web", 2))
    rollout(cluster, ns, "web")
    old_uid = pods(cluster, ns, "web")[1]["metadata"]["uid"]
    # --wait=false: a hollow node removes the pod within milliseconds and the set recreates
    # it at once, so kubectl's wait could find the new pod by name and wait for it to go.
    cluster.kubectl("delete", "pod", "web-1", "-n", ns, "--wait=false")
    got = cluster_mod.wait_for("web-1 recreated", lambda: pods(cluster, ns, "web"), lambda ps: (
        len(ps) == 2 and ps[1]["metadata"]["uid"] != old_uid
        and ps[1].get("status", {}).get("phase") == "Running"))
    assert got[1]["metadata"]["name"] == "web-1"


def test_rolling_update_goes_from_the_highest_ordinal_down(cluster: cluster_mod.Cluster,
                                                           ns: str) -> None:
    cluster.kubectl("apply", "-n", ns, "-f", "-", input=sts_yaml("web", 3))
    rollout(cluster, ns, "web")
    first = cluster.kubectl_json("get", "sts", "web", "-n", ns)["status"]["updateRevision"]
    cluster.kubectl("set", "image", "sts/web", "-n", ns, "c=nginx:2")
    out = rollout(cluster, ns, "web")
    assert "partitioned roll out complete: 3 new pods have been updated" in out
    sts = cluster.kubectl_json("get", "sts", "web", "-n", ns)
    second = sts["status"]["updateRevision"]
    assert second != first and sts["status"]["currentRevision"] == second
    assert {p["metadata"]["labels"]["controller-revision-hash"] for p in pods(
        cluster, ns, "web")} == {second}
    assert {p["spec"]["containers"][0]["image"] for p in pods(cluster, ns, "web")} == {"nginx:2"}
    assert event_messages(cluster, ns, "SuccessfulDelete") == [
        f"delete Pod web-{i} in StatefulSet web successful" for i in (2, 1, 0)]
    revs = cluster.kubectl_json("get", "controllerrevisions", "-n", ns)["items"]
    assert sorted((r["revision"], r["metadata"]["name"]) for r in revs) == [
        (1, first), (2, second)]
    # A rollback returns to the first revision's template: that revision is renumbered.
    cluster.kubectl("rollout", "undo", "sts/web", "-n", ns)
    rollout(cluster, ns, "web")
    revs = cluster.kubectl_json("get", "controllerrevisions", "-n", ns)["items"]
    assert sorted((r["revision"], r["metadata"]["name"]) for r in revs) == [
        (2, second), (3, first)]
    assert {p["spec"]["containers"][0]["image"] for p in pods(cluster, ns, "web")} == {"nginx:1"}


def test_partition_keeps_lower_ordinals_on_the_old_revision(cluster: cluster_mod.Cluster,
                                                            ns: str) -> None:
    cluster.kubectl("apply", "-n", ns, "-f", "-", input=sts_yaml(
        "web", 3, extra_spec="\n  updateStrategy: {rollingUpdate: {partition: 2}}"))
    rollout(cluster, ns, "web")
    cluster.kubectl("set", "image", "sts/web", "-n", ns, "c=nginx:2")
    out = rollout(cluster, ns, "web")
    assert "partitioned roll out complete: 1 new pods have been updated" in out
    images = [p["spec"]["containers"][0]["image"] for p in pods(cluster, ns, "web")]
    assert images == ["nginx:1", "nginx:1", "nginx:2"]


def test_ordinals_start_and_parallel_policy(cluster: cluster_mod.Cluster, ns: str) -> None:
    cluster.kubectl("apply", "-n", ns, "-f", "-", input=sts_yaml(
        "web", 2, extra_spec="\n  podManagementPolicy: Parallel\n  ordinals: {start: 5}"))
    rollout(cluster, ns, "web")
    got = pods(cluster, ns, "web")
    assert [p["metadata"]["labels"]["apps.kubernetes.io/pod-index"] for p in got] == ["5", "6"]
    assert [p["metadata"]["name"] for p in got] == ["web-5", "web-6"]


def test_claims_are_made_per_pod_and_kept_on_scale_down(cluster: cluster_mod.Cluster,
                                                        ns: str) -> None:
    # Hollow nodes cannot bind local-path volumes: the claims stay Pending, the pods too.
    cluster.kubectl("apply", "-n", ns, "-f", "-", input=sts_yaml(
        "web", 2, claims=True, extra_spec="\n  podManagementPolicy: Parallel"))
    claims = cluster_mod.wait_for("two claims", lambda: cluster.kubectl_json(
        "get", "pvc", "-n", ns)["items"], lambda items: len(items) == 2)
    assert sorted(c["metadata"]["name"] for c in claims) == ["www-web-0", "www-web-1"]
    for c in claims:
        assert c["metadata"]["labels"] == {"app": "web"}
        assert c["status"]["phase"] == "Pending"
        assert not c["metadata"].get("ownerReferences")
    vols = pods(cluster, ns, "web")[0]["spec"]["volumes"]
    assert {"name": "www", "persistentVolumeClaim": {"claimName": "www-web-0"}} in vols
    assert "create Claim www-web-0 Pod web-0 in StatefulSet web success" in event_messages(
        cluster, ns, "SuccessfulCreate")
    # A pending pod whose claim is deleted gets the claim back.
    old_uid = next(c["metadata"]["uid"] for c in claims if c["metadata"]["name"] == "www-web-1")
    cluster.kubectl("delete", "pvc", "www-web-1", "-n", ns, "--wait=false")
    cluster_mod.wait_for("www-web-1 recreated", lambda: cluster.kubectl(
        "get", "pvc", "www-web-1", "-n", ns, "-o", "jsonpath={.metadata.uid}",
        check=False).stdout, lambda uid: uid not in ("", old_uid))
    cluster.kubectl("scale", "sts", "web", "-n", ns, "--replicas=0")
    cluster_mod.wait_for("pods gone", lambda: pods(cluster, ns, "web"), lambda ps: not ps)
    names = [c["metadata"]["name"] for c in cluster.kubectl_json("get", "pvc", "-n", ns)["items"]]
    assert sorted(names) == ["www-web-0", "www-web-1"]


def claim_names(cluster: cluster_mod.Cluster, ns: str) -> list[str]:
    return sorted(c["metadata"]["name"] for c in cluster.kubectl_json(
        "get", "pvc", "-n", ns)["items"])


def test_delete_retention_policy_removes_claims(cluster: cluster_mod.Cluster, ns: str) -> None:
    cluster.kubectl("apply", "-n", ns, "-f", "-", input=sts_yaml(
        "web", 2, claims=True, extra_spec="""
  podManagementPolicy: Parallel
  persistentVolumeClaimRetentionPolicy: {whenDeleted: Delete, whenScaled: Delete}"""))
    cluster_mod.wait_for("two claims", lambda: claim_names(cluster, ns),
                         lambda names: names == ["www-web-0", "www-web-1"])
    uid = cluster.kubectl_json("get", "sts", "web", "-n", ns)["metadata"]["uid"]
    claim = cluster.kubectl_json("get", "pvc", "www-web-0", "-n", ns)
    assert [(r["kind"], r["uid"], r["controller"]) for r in claim["metadata"][
        "ownerReferences"]] == [("StatefulSet", uid, True)]
    cluster.kubectl("scale", "sts", "web", "-n", ns, "--replicas=1")
    cluster_mod.wait_for("scaled-down pod's claim gone", lambda: claim_names(cluster, ns),
                         lambda names: names == ["www-web-0"])
    cluster.kubectl("delete", "sts", "web", "-n", ns)
    cluster_mod.wait_for("claims gone with the set", lambda: claim_names(cluster, ns),
                         lambda names: names == [])


@pytest.mark.parametrize("mount,ok", [("www", True), ("nope", False)],
                         ids=["claim-template", "unknown-volume"])
def test_containers_may_mount_claim_templates_only(cluster: cluster_mod.Cluster, ns: str,
                                                   mount: str, ok: bool) -> None:
    manifest = sts_yaml("web", 1, claims=True).replace(
        "        image: nginx:1", f"        image: nginx:1\n        volumeMounts: "
        f"[{{name: {mount}, mountPath: /data}}]")
    res = cluster.kubectl("apply", "-n", ns, "--dry-run=server", "-f", "-", input=manifest,
                          check=False)
    assert (res.returncode == 0) == ok, res.stderr
    if not ok:
        assert 'volumeMounts[0].name: Not found: "nope"' in res.stderr


# -- on a real node: a pod's claim outlives the pod ------------------------------------------

STORAGE_NS = "kubelite-sts-e2e"


@pytest.fixture(scope="module")
def node_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[cluster_mod.Cluster]:
    """A server with its agent (real runc containers): the claims get local-path volumes."""
    yield from agentenv.running_cluster(tmp_path_factory, STORAGE_NS)


def storage_sts_yaml() -> str:
    command = ('if [ -f /data/v ]; then echo "found $(cat /data/v)"; '
               'else echo stored > /data/v; echo wrote; fi; exec sleep 3600')
    return f"""apiVersion: apps/v1
kind: StatefulSet
metadata: {{name: disk, namespace: {STORAGE_NS}}}
spec:
  serviceName: disk
  replicas: 1
  selector: {{matchLabels: {{app: disk}}}}
  template:
    metadata: {{labels: {{app: disk}}}}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: main
        image: {agentenv.IMAGE}
        imagePullPolicy: Never
        command: ["sh", "-c", {json.dumps(command)}]
        volumeMounts: [{{name: data, mountPath: /data}}]
  volumeClaimTemplates:
  - metadata: {{name: data}}
    spec:
      accessModes: [ReadWriteOnce]
      resources: {{requests: {{storage: 64Mi}}}}
"""


def test_recreated_pod_finds_its_predecessors_data(node_cluster: cluster_mod.Cluster) -> None:
    c, ns = node_cluster, STORAGE_NS
    c.kubectl("apply", "-f", "-", input=storage_sts_yaml())
    try:
        rollout(c, ns, "disk")
        assert c.kubectl("logs", "disk-0", "-n", ns).stdout.strip() == "wrote"
        old_uid = c.kubectl_json("get", "pod", "disk-0", "-n", ns)["metadata"]["uid"]
        c.kubectl("delete", "pod", "disk-0", "-n", ns, "--wait=false")
        cluster_mod.wait_for("disk-0 recreated and ready", lambda: c.kubectl_json(
            "get", "pod", "disk-0", "-n", ns), lambda p: p["metadata"]["uid"] != old_uid and any(
            x["type"] == "Ready" and x["status"] == "True"
            for x in p.get("status", {}).get("conditions", [])), timeout=60)
        assert c.kubectl("logs", "disk-0", "-n", ns).stdout.strip() == "found stored"
        claim = c.kubectl_json("get", "pvc", "data-disk-0", "-n", ns)
        assert claim["status"]["phase"] == "Bound"
    finally:
        c.kubectl("delete", "sts", "disk", "-n", ns, "--timeout=60s", check=False, timeout=70)
