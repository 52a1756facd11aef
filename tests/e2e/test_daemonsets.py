"""DaemonSets against a real server with three hollow nodes, driven by the real kubectl.

One server for the module (`--sim-nodes 3`); tests that label or taint a node undo it.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import subprocess
from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e import cluster as cluster_mod
from tests.e2e import simenv

pytestmark = pytest.mark.e2e

NODES = ("hollow-0", "hollow-1", "hollow-2")
_names = itertools.count()
DEFAULT_TOLERATIONS = {
    ("node.kubernetes.io/not-ready", "NoExecute"), ("node.kubernetes.io/unreachable", "NoExecute"),
    ("node.kubernetes.io/disk-pressure", "NoSchedule"),
    ("node.kubernetes.io/memory-pressure", "NoSchedule"),
    ("node.kubernetes.io/pid-pressure", "NoSchedule"),
    ("node.kubernetes.io/unschedulable", "NoSchedule")}


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[cluster_mod.Cluster]:
    yield from simenv.running_cluster(tmp_path_factory, len(NODES))


@pytest.fixture
def ns(cluster: cluster_mod.Cluster) -> str:
    name = f"ds{next(_names)}-{os.getpid() % 10000}"
    cluster.kubectl("create", "namespace", name)
    return name


def ds_yaml(name: str, *, image: str = "nginx:1", node_selector: str = "") -> str:
    selector = f"\n      nodeSelector: {{{node_selector}}}" if node_selector else ""
    return f"""apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: {name}
spec:
  selector:
    matchLabels: {{app: {name}}}
  template:
    metadata:
      labels: {{app: {name}}}
    spec:{selector}
      containers:
      - name: c
        image: {image}
"""


def pods_by_node(cluster: cluster_mod.Cluster, ns: str, app: str) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {}
    for pod in cluster.kubectl_json("get", "pods", "-n", ns, "-l", f"app={app}")["items"]:
        if not pod["metadata"].get("deletionTimestamp"):
            out.setdefault(pod["spec"].get("nodeName", ""), []).append(pod)
    return out


def wait_nodes(cluster: cluster_mod.Cluster, ns: str, app: str, nodes: set[str]) -> None:
    """Until exactly `nodes` run one daemon pod each, all Running."""
    cluster_mod.wait_for(
        f"daemon pods on {sorted(nodes)}", lambda: pods_by_node(cluster, ns, app),
        lambda got: set(got) == nodes and all(
            len(p) == 1 and p[0]["status"].get("phase") == "Running" for p in got.values()))


def test_one_pod_per_node_pinned_labelled_and_shown(cluster: cluster_mod.Cluster,
                                                     ns: str) -> None:
    cluster.kubectl("apply", "-n", ns, "-f", "-", input=ds_yaml("agent"))
    wait_nodes(cluster, ns, "agent", set(NODES))
    cluster.kubectl("rollout", "status", "ds/agent", "-n", ns, "--timeout=60s")
    [rev] = cluster.kubectl_json("get", "controllerrevisions", "-n", ns)["items"]
    hash_ = rev["metadata"]["labels"]["controller-revision-hash"]
    assert rev["metadata"]["name"] == f"agent-{hash_}" and rev["revision"] == 1
    for node, [pod] in pods_by_node(cluster, ns, "agent").items():
        assert re.fullmatch(r"agent-[a-z0-9]{5}", pod["metadata"]["name"])
        assert pod["metadata"]["labels"]["controller-revision-hash"] == hash_
        assert pod["metadata"]["labels"]["pod-template-generation"] == "1"
        terms = pod["spec"]["affinity"]["nodeAffinity"][
            "requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]
        assert terms == [{"matchFields": [{"key": "metadata.name", "operator": "In",
                                           "values": [node]}]}]
        assert DEFAULT_TOLERATIONS <= {(t["key"], t["effect"]) for t in pod["spec"]["tolerations"]}
    lines = cluster.kubectl("get", "ds", "-n", ns).stdout.splitlines()
    assert lines[0].split() == ["NAME", "DESIRED", "CURRENT", "READY", "UP-TO-DATE", "AVAILABLE",
                                "NODE", "SELECTOR", "AGE"]
    assert lines[1].split()[:7] == ["agent", "3", "3", "3", "3", "3", "<none>"]
    described = cluster.kubectl("describe", "ds", "agent", "-n", ns).stdout
    assert "SuccessfulCreate" in described and "Created pod: agent-" in described


def test_deleted_pod_is_recreated_and_deleting_the_set_removes_its_pods(
        cluster: cluster_mod.Cluster, ns: str) -> None:
    cluster.kubectl("apply", "-n", ns, "-f", "-", input=ds_yaml("logs"))
    wait_nodes(cluster, ns, "logs", set(NODES))
    [victim] = pods_by_node(cluster, ns, "logs")["hollow-1"]
    cluster.kubectl("delete", "pod", victim["metadata"]["name"], "-n", ns)
    cluster_mod.wait_for("a new pod on hollow-1", lambda: pods_by_node(cluster, ns, "logs"),
                         lambda got: len(got.get("hollow-1", [])) == 1 and got["hollow-1"][0][
                             "metadata"]["name"] != victim["metadata"]["name"])
    cluster.kubectl("delete", "ds", "logs", "-n", ns)
    cluster_mod.wait_for("daemon pods gone", lambda: cluster.kubectl_json(
        "get", "pods", "-n", ns)["items"], lambda items: items == [])


def test_node_labelled_later_gets_a_pod_and_loses_it_when_unlabelled(
        cluster: cluster_mod.Cluster, ns: str) -> None:
    label = f"ds-{ns}"
    cluster.kubectl("apply", "-n", ns, "-f", "-", input=ds_yaml("picky",
                                                                node_selector=f"{label}: 'yes'"))
    cluster.kubectl("wait", "-n", ns, "ds/picky", "--timeout=30s",
                    "--for=jsonpath={.status.observedGeneration}=1")
    assert cluster.kubectl_json("get", "ds", "picky", "-n", ns)["status"][
        "desiredNumberScheduled"] == 0
    cluster.kubectl("label", "node", "hollow-1", f"{label}=yes")
    try:
        wait_nodes(cluster, ns, "picky", {"hollow-1"})
        cluster.kubectl("wait", "-n", ns, "ds/picky", "--timeout=30s",
                        "--for=jsonpath={.status.numberAvailable}=1")
        lines = cluster.kubectl("get", "ds", "-n", ns).stdout.splitlines()
        assert lines[1].split()[:7] == ["picky", "1", "1", "1", "1", "1", f"{label}=yes"]
    finally:
        cluster.kubectl("label", "node", "hollow-1", f"{label}-")
    wait_nodes(cluster, ns, "picky", set())


def test_tainted_node_without_toleration_gets_no_pod(cluster: cluster_mod.Cluster,
                                                     ns: str) -> None:
    taint = f"ds-{ns}=x:NoSchedule"
    cluster.kubectl("taint", "node", "hollow-2", taint)
    try:
        cluster.kubectl("apply", "-n", ns, "-f", "-", input=ds_yaml("shy"))
        wait_nodes(cluster, ns, "shy", {"hollow-0", "hollow-1"})
        cluster.kubectl("wait", "-n", ns, "ds/shy", "--timeout=30s",
                        "--for=jsonpath={.status.numberAvailable}=2")
        status = cluster.kubectl_json("get", "ds", "shy", "-n", ns)["status"]
        assert (status["desiredNumberScheduled"], status["currentNumberScheduled"]) == (2, 2)
    finally:
        cluster.kubectl("taint", "node", "hollow-2", f"{taint}-")
    wait_nodes(cluster, ns, "shy", set(NODES))


def _watch_events(text: str) -> list[tuple[str, Any]]:
    decoder, out, pos = json.JSONDecoder(), [], 0
    while pos < len(text):
        if text[pos].isspace():
            pos += 1
            continue
        try:
            event, pos = decoder.raw_decode(text, pos)
        except json.JSONDecodeError:
            break                      # the watcher was stopped mid-event
        out.append((event["type"], event["object"]))
    return out


def _fewest_available(events: list[tuple[str, Any]], old_image: str) -> int:
    """Replaying pod events: the fewest nodes that had a live, ready pod at any moment
    after the first pod of the rollout was touched."""
    pods: dict[str, Any] = {}
    fewest, started = len(NODES), False
    for kind, pod in events:
        name = pod["metadata"]["name"]
        if kind == "DELETED":
            pods.pop(name, None)
        else:
            pods[name] = pod
        started = started or kind == "DELETED" or bool(pod["metadata"].get(
            "deletionTimestamp")) or pod["spec"]["containers"][0]["image"] != old_image
        nodes = {p["spec"].get("nodeName") for p in pods.values()
                 if not p["metadata"].get("deletionTimestamp") and any(
                     c["type"] == "Ready" and c["status"] == "True"
                     for c in p.get("status", {}).get("conditions", []))}
        if started:
            fewest = min(fewest, len(nodes))
    return fewest


def rollout_watched(cluster: cluster_mod.Cluster, ns: str, name: str, image: str) -> int:
    """Set a new image and wait for `kubectl rollout status`; return the fewest nodes with
    an available pod seen by a pod watch meanwhile."""
    cluster.kubectl("rollout", "status", f"ds/{name}", "-n", ns, "--timeout=60s")
    old = cluster.kubectl_json("get", "ds", name, "-n", ns)["spec"]["template"]["spec"][
        "containers"][0]["image"]
    watcher = subprocess.Popen(
        [cluster_mod.KUBECTL, "get", "pods", "-n", ns, "-w", "--output-watch-events",
         "-o", "json"], stdout=subprocess.PIPE, text=True, env=cluster.env())
    assert watcher.stdout is not None
    listed = [watcher.stdout.readline() for _ in NODES]    # the watch has listed every pod
    try:
        cluster.kubectl("set", "image", f"ds/{name}", f"c={image}", "-n", ns)
        out = cluster.kubectl("rollout", "status", f"ds/{name}", "-n", ns,
                              "--timeout=60s").stdout
    finally:
        watcher.terminate()
        stream, _ = watcher.communicate(timeout=10)
    assert out.strip().endswith(f'daemon set "{name}" successfully rolled out')
    return _fewest_available(_watch_events("".join(listed) + stream), old)


def test_rolling_update_one_node_at_a_time_then_history_and_undo(
        cluster: cluster_mod.Cluster, ns: str) -> None:
    cluster.kubectl("apply", "-n", ns, "-f", "-", input=ds_yaml("roll", image="nginx:1"))
    assert rollout_watched(cluster, ns, "roll", "nginx:2") == len(NODES) - 1
    images = {p[0]["spec"]["containers"][0]["image"]
              for p in pods_by_node(cluster, ns, "roll").values()}
    assert images == {"nginx:2"}
    history = cluster.kubectl("rollout", "history", "ds/roll", "-n", ns).stdout
    assert [line.split()[0] for line in history.splitlines()[2:] if line.strip()] == ["1", "2"]
    cluster.kubectl("rollout", "undo", "ds/roll", "-n", ns)
    cluster.kubectl("rollout", "status", "ds/roll", "-n", ns, "--timeout=60s")
    ds = cluster.kubectl_json("get", "ds", "roll", "-n", ns)
    assert ds["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:1"
    history = cluster.kubectl("rollout", "history", "ds/roll", "-n", ns).stdout
    assert [line.split()[0] for line in history.splitlines()[2:] if line.strip()] == ["2", "3"]
    skipped = cluster.kubectl("rollout", "undo", "ds/roll", "-n", ns, "--to-revision=3").stdout
    assert "skipped rollback (current template already matches revision 3)" in skipped


def test_surge_update_starts_the_new_pod_before_the_old_one_goes(
        cluster: cluster_mod.Cluster, ns: str) -> None:
    surge = ds_yaml("surge").replace("spec:\n  selector:", "spec:\n  updateStrategy:\n"
                                      "    rollingUpdate: {maxSurge: 1, maxUnavailable: 0}\n"
                                      "  selector:")
    cluster.kubectl("apply", "-n", ns, "-f", "-", input=surge)
    assert rollout_watched(cluster, ns, "surge", "nginx:2") == len(NODES)
    images = {p[0]["spec"]["containers"][0]["image"]
              for p in pods_by_node(cluster, ns, "surge").values()}
    assert images == {"nginx:2"}


def test_on_delete_waits_for_the_user_to_delete_old_pods(cluster: cluster_mod.Cluster,
                                                         ns: str) -> None:
    manual = ds_yaml("manual").replace("spec:\n  selector:",
                                       "spec:\n  updateStrategy: {type: OnDelete}\n  selector:")
    cluster.kubectl("apply", "-n", ns, "-f", "-", input=manual)
    wait_nodes(cluster, ns, "manual", set(NODES))
    cluster.kubectl("set", "image", "ds/manual", "c=nginx:2", "-n", ns)
    cluster.kubectl("wait", "-n", ns, "ds/manual", "--timeout=30s",
                    "--for=jsonpath={.status.observedGeneration}=2")
    status = cluster.kubectl_json("get", "ds", "manual", "-n", ns)["status"]
    assert (status["desiredNumberScheduled"], status.get("updatedNumberScheduled", 0)) == (3, 0)
    [old] = pods_by_node(cluster, ns, "manual")["hollow-0"]
    assert old["spec"]["containers"][0]["image"] == "nginx:1"
    cluster.kubectl("delete", "pod", old["metadata"]["name"], "-n", ns)
    cluster.kubectl("wait", "-n", ns, "ds/manual", "--timeout=30s",
                    "--for=jsonpath={.status.updatedNumberScheduled}=1")
    cluster_mod.wait_for("only hollow-0 updated", lambda: {
        node: [p["spec"]["containers"][0]["image"] for p in here]
        for node, here in pods_by_node(cluster, ns, "manual").items()},
        lambda got: got == {"hollow-0": ["nginx:2"], "hollow-1": ["nginx:1"],
                            "hollow-2": ["nginx:1"]})
    rollout = cluster.kubectl("rollout", "status", "ds/manual", "-n", ns, check=False)
    assert rollout.returncode != 0
    assert "rollout status is only available for RollingUpdate strategy type" in rollout.stderr


def test_recreated_set_adopts_orphaned_pods_and_revisions(cluster: cluster_mod.Cluster,
                                                          ns: str) -> None:
    cluster.kubectl("apply", "-n", ns, "-f", "-", input=ds_yaml("keep"))
    cluster.kubectl("rollout", "status", "ds/keep", "-n", ns, "--timeout=60s")
    before = {p["metadata"]["name"] for here in pods_by_node(cluster, ns, "keep").values()
              for p in here}
    cluster.kubectl("delete", "ds", "keep", "-n", ns, "--cascade=orphan")
    cluster.kubectl("apply", "-n", ns, "-f", "-", input=ds_yaml("keep"))
    uid = cluster.kubectl_json("get", "ds", "keep", "-n", ns)["metadata"]["uid"]
    cluster_mod.wait_for("revision adopted", lambda: cluster.kubectl_json(
        "get", "controllerrevisions", "-n", ns)["items"],
        lambda revs: len(revs) == 1 and revs[0]["metadata"]["ownerReferences"][0]["uid"] == uid)
    cluster.kubectl("rollout", "status", "ds/keep", "-n", ns, "--timeout=60s")
    after = cluster.kubectl_json("get", "pods", "-n", ns, "-l", "app=keep")["items"]
    assert {p["metadata"]["name"] for p in after} == before
    assert {p["metadata"]["ownerReferences"][0]["uid"] for p in after} == {uid}


def test_cordoned_node_still_gets_a_daemon_pod(cluster: cluster_mod.Cluster, ns: str) -> None:
    cluster.kubectl("cordon", "hollow-0")
    try:
        cluster.kubectl("apply", "-n", ns, "-f", "-", input=ds_yaml("tough"))
        wait_nodes(cluster, ns, "tough", set(NODES))
    finally:
        cluster.kubectl("uncordon", "hollow-0")


def test_failed_pod_is_replaced_and_reported(cluster: cluster_mod.Cluster, ns: str) -> None:
    cluster.kubectl("apply", "-n", ns, "-f", "-", input=ds_yaml("flaky"))
    wait_nodes(cluster, ns, "flaky", set(NODES))
    [victim] = pods_by_node(cluster, ns, "flaky")["hollow-2"]
    name = victim["metadata"]["name"]
    cluster.kubectl("patch", "pod", name, "-n", ns, "--subresource=status", "--type=merge",
                    "-p", '{"status": {"phase": "Failed"}}')
    cluster_mod.wait_for("a new pod on hollow-2", lambda: pods_by_node(cluster, ns, "flaky"),
                         lambda got: [p["metadata"]["name"] for p in got.get("hollow-2", [])
                                      if p["status"].get("phase") == "Running"] not in ([], [name]))
    described = cluster.kubectl("describe", "ds", "flaky", "-n", ns).stdout
    assert f"Found failed daemon pod {ns}/{name} on node hollow-2, will try to kill it" in \
        " ".join(described.split())
