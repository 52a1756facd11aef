"""HorizontalPodAutoscalers on a server with simulated nodes, through the real kubectl.

Hollow nodes run nothing, so their pods use no CPU or memory: an HPA there can only
scale its target down to minReplicas (memory is used for that, since CPU samples of
freshly started pods are not trusted yet). Pods that never run have no metrics at all,
which the HPA reports as a failure to read its metric. Scale-up is covered by the unit
tests with a fake metrics source.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e import cluster as cluster_mod
from tests.e2e import simenv

pytestmark = pytest.mark.e2e

NS = "kubelite-hpa"
Obj = dict[str, Any]


def deployment(name: str, replicas: int, node_selector: str = "") -> str:
    selector = f"\n      nodeSelector: {{{node_selector}}}" if node_selector else ""
    return f"""apiVersion: apps/v1
kind: Deployment
metadata: {{name: {name}, namespace: {NS}}}
spec:
  replicas: {replicas}
  selector: {{matchLabels: {{app: {name}}}}}
  template:
    metadata: {{labels: {{app: {name}}}}}
    spec:{selector}
      containers:
      - name: c
        image: nginx
        resources: {{requests: {{cpu: 100m, memory: 64Mi}}}}
"""


def hpa(name: str, metric: str, target: int, low: int = 1) -> str:
    return f"""apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {{name: {name}, namespace: {NS}}}
spec:
  scaleTargetRef: {{apiVersion: apps/v1, kind: Deployment, name: {name}}}
  minReplicas: {low}
  maxReplicas: 5
  metrics:
  - type: Resource
    resource: {{name: {metric}, target: {{type: Utilization, averageUtilization: {target}}}}}
  behavior:
    scaleDown: {{stabilizationWindowSeconds: 0}}
"""


@pytest.fixture(scope="module")
def c(tmp_path_factory: pytest.TempPathFactory) -> Iterator[cluster_mod.Cluster]:
    for cl in simenv.running_cluster(tmp_path_factory, 2):
        cl.kubectl("create", "namespace", NS)
        yield cl


def conditions(c: cluster_mod.Cluster, name: str) -> dict[str, Obj]:
    obj = c.kubectl_json("get", "hpa", "-n", NS, name)
    return {x["type"]: x for x in obj["status"]["conditions"]}


def wait(c: cluster_mod.Cluster, what: str, name: str) -> None:
    c.kubectl("wait", "-n", NS, f"--for={what}", f"hpa/{name}", "--timeout=30s", timeout=40)


def event_messages(c: cluster_mod.Cluster, name: str, reason: str) -> list[str]:
    c.kubectl("wait", "-n", NS, "--for=create", "events", "--timeout=30s",
              f"--field-selector=involvedObject.name={name},reason={reason}", check=False)
    listed = c.kubectl_json("get", "events", "-n", NS, "--field-selector",
                            f"involvedObject.name={name},reason={reason}")
    return [e["message"] for e in listed["items"]]


def test_scale_down_to_min_replicas(c: cluster_mod.Cluster) -> None:
    c.kubectl("apply", "-f", "-", input=deployment("idle", 3))
    c.kubectl("rollout", "status", "-n", NS, "deployment/idle", "--timeout=60s", timeout=70)
    c.kubectl("apply", "-f", "-", input=hpa("idle", "memory", 50, low=1))
    wait(c, "jsonpath={.status.desiredReplicas}=1", "idle")
    c.kubectl("wait", "-n", NS, "--for=jsonpath={.spec.replicas}=1", "deployment/idle",
              "--timeout=30s", timeout=40)
    got = conditions(c, "idle")
    assert (got["AbleToScale"]["status"], got["AbleToScale"]["reason"]) == (
        "True", "SucceededRescale")
    assert got["AbleToScale"]["message"] == \
        "the HPA controller was able to update the target scale to 1"
    assert (got["ScalingActive"]["status"], got["ScalingActive"]["reason"]) == (
        "True", "ValidMetricFound")
    assert got["ScalingActive"]["message"] == ("the HPA was able to successfully calculate a "
                                               "replica count from memory resource "
                                               "utilization (percentage of request)")
    assert (got["ScalingLimited"]["status"], got["ScalingLimited"]["reason"]) == (
        "True", "TooFewReplicas")
    status = c.kubectl_json("get", "hpa", "-n", NS, "idle")["status"]
    assert status["currentReplicas"] == 3 and status["lastScaleTime"]
    assert status["currentMetrics"] == [{"type": "Resource", "resource": {
        "name": "memory", "current": {"averageValue": "0", "averageUtilization": 0}}}]
    assert event_messages(c, "idle", "SuccessfulRescale") == [
        "New size: 1; reason: All metrics below target"]
    row = c.kubectl("get", "hpa", "-n", NS, "idle").stdout.splitlines()
    assert row[0].split() == ["NAME", "REFERENCE", "TARGETS", "MINPODS", "MAXPODS",
                              "REPLICAS", "AGE"]
    assert row[1].split()[:7] == ["idle", "Deployment/idle", "memory:", "0%/50%", "1", "5",
                                  "3"]


def test_missing_metrics(c: cluster_mod.Cluster) -> None:
    c.kubectl("apply", "-f", "-", input=deployment("nowhere", 2, "no-such: node"))
    c.kubectl("apply", "-f", "-", input=hpa("nowhere", "cpu", 50))
    wait(c, "condition=ScalingActive=False", "nowhere")
    got = conditions(c, "nowhere")
    err = ("failed to get cpu utilization: unable to get metrics for resource cpu: no metrics "
           "returned from resource metrics API")
    assert got["ScalingActive"]["reason"] == "FailedGetResourceMetric"
    assert got["ScalingActive"]["message"] == \
        f"the HPA was unable to compute the replica count: {err}"
    assert got["AbleToScale"]["reason"] == "SucceededGetScale"
    assert got["AbleToScale"]["message"] == \
        "the HPA controller was able to get the target's current scale"
    assert event_messages(c, "nowhere", "FailedGetResourceMetric") == [err]
    assert event_messages(c, "nowhere", "FailedComputeMetricsReplicas") == [
        f"invalid metrics (1 invalid out of 1), first error is: {err}"]
    assert c.kubectl_json("get", "deployment", "-n", NS, "nowhere")["spec"]["replicas"] == 2
    row = c.kubectl("get", "hpa", "-n", NS, "nowhere", "--no-headers").stdout.split()
    assert row[2:4] == ["cpu:", "<unknown>/50%"]


def test_missing_target(c: cluster_mod.Cluster) -> None:
    c.kubectl("apply", "-f", "-", input=hpa("ghost", "cpu", 50))
    wait(c, "condition=AbleToScale=False", "ghost")
    got = conditions(c, "ghost")["AbleToScale"]
    assert got["reason"] == "FailedGetScale"
    assert got["message"].startswith("the HPA controller was unable to get the target's "
                                     "current scale: ")
    assert 'deployments.apps "ghost" not found' in got["message"]


def test_kubectl_autoscale_and_describe(c: cluster_mod.Cluster) -> None:
    c.kubectl("apply", "-f", "-", input=deployment("web", 2))
    c.kubectl("autoscale", "deployment", "web", "-n", NS, "--cpu-percent=50", "--min=1",
              "--max=5")
    wait(c, "jsonpath={.status.currentReplicas}=2", "web")
    text = c.kubectl("describe", "hpa", "-n", NS, "web").stdout
    assert re.search(r"^Reference:\s+Deployment/web$", text, re.MULTILINE), text
    assert re.search(r"^Min replicas:\s+1$", text, re.MULTILINE), text
    assert re.search(r"^Max replicas:\s+5$", text, re.MULTILINE), text
    assert re.search(r"resource cpu on pods\s+\(as a percentage of request\):\s+"
                     r"(<unknown>|\d+% \(\d+m?\))\s+/\s+50%", text), text
    assert re.search(r"AbleToScale\s+True\s+SucceededGetScale", text), text
    row = c.kubectl("get", "hpa", "-n", NS, "web", "--no-headers").stdout.split()
    assert row[:2] == ["web", "Deployment/web"]
    assert re.fullmatch(r"(<unknown>|\d+%)/50%", row[3]), row
