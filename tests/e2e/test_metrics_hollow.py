"""kubectl top and metrics.k8s.io on a cluster of simulated nodes, and the API's errors.

Hollow nodes run nothing, so they and their pods report zero usage; a node whose agent
cannot be reached is left out of the metrics as metrics-server leaves it out.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e import cluster as cluster_mod
from tests.e2e import pyclient, simenv

NS = "kubelite-metrics-hollow"
NODES = ("hollow-0", "hollow-1")
DEPLOYMENT = f"""apiVersion: apps/v1
kind: Deployment
metadata: {{name: web, namespace: {NS}}}
spec:
  replicas: 2
  selector: {{matchLabels: {{app: web}}}}
  template:
    metadata: {{labels: {{app: web}}}}
    spec: {{containers: [{{name: nginx, image: nginx}}, {{name: log, image: busybox}}]}}
"""
GROUP = "/apis/metrics.k8s.io/v1beta1"


@pytest.fixture(scope="module")
def c(tmp_path_factory: pytest.TempPathFactory) -> Iterator[cluster_mod.Cluster]:
    for cl in simenv.running_cluster(tmp_path_factory, len(NODES)):
        # Nodes whose agents cannot be reached: one reports no address, one an agent port
        # where nothing listens.
        for name in ("down", "lost"):
            cl.kubectl("create", "-f", "-", input="apiVersion: v1\nkind: Node\n"
                       f"metadata: {{name: {name}, labels: {{type: real}}}}\n")
        cl.kubectl("patch", "node", "down", "--subresource=status", "--type=merge", "-p",
                   '{"status": {"addresses": [{"type": "InternalIP", "address": "127.0.0.1"}],'
                   ' "daemonEndpoints": {"kubeletEndpoint": {"Port": 1}}}}')
        cl.kubectl("create", "namespace", NS)
        cl.kubectl("apply", "-f", "-", input=DEPLOYMENT)
        cl.kubectl("rollout", "status", "-n", NS, "deployment/web", "--timeout=60s",
                   timeout=70)
        yield cl


@pytest.fixture(scope="module")
def api(c: cluster_mod.Cluster) -> Iterator[Any]:
    with pyclient.api_client(c.kubeconfig) as a:
        yield a


def rows(output: str) -> list[list[str]]:
    return [line.split() for line in output.strip().splitlines()[1:]]


def test_top_node_shows_hollow_nodes_and_unknown_for_the_unreachable(
        c: cluster_mod.Cluster) -> None:
    got = rows(c.kubectl("top", "node").stdout)
    unknown = ["<unknown>"] * 4
    assert got[:2] == [["hollow-0", "0m", "0%", "0Mi", "0%"], ["hollow-1", "0m", "0%", "0Mi", "0%"]]
    # kubectl prints the nodes without metrics after the others, in no fixed order
    assert sorted(got[2:]) == [["down", *unknown], ["lost", *unknown]]


def test_top_node_label_selector(c: cluster_mod.Cluster) -> None:
    assert [r[0] for r in rows(c.kubectl("top", "node", "-l", "type=kwok").stdout)] == \
        list(NODES)


def test_top_pod_on_hollow_nodes(c: cluster_mod.Cluster) -> None:
    out = c.kubectl("top", "pod", "-n", NS, "--containers").stdout
    got = sorted(r[1:] for r in rows(out))
    assert got == [["log", "0m", "0Mi"]] * 2 + [["nginx", "0m", "0Mi"]] * 2


@pytest.mark.parametrize(("path", "message"), [
    (f"{GROUP}/nodes/nosuch", 'node "nosuch" not found'),
    (f"{GROUP}/nodes/lost", 'nodemetrics.metrics.k8s.io "lost" not found'),
    (f"{GROUP}/nodes/down", 'nodemetrics.metrics.k8s.io "down" not found'),
    (f"{GROUP}/namespaces/{NS}/pods/nosuch", 'pods "nosuch" not found'),
    (f"{GROUP}/namespaces/{NS}/nodes", "the server could not find the requested resource"),
], ids=["node-missing", "node-without-address", "node-agent-down", "pod-missing", "nodes-are-not-namespaced"])
def test_not_found(c: cluster_mod.Cluster, path: str, message: str) -> None:
    res = c.kubectl("get", "--raw", path, check=False)
    assert res.returncode != 0 and message in res.stderr


def test_field_selector_on_names(c: cluster_mod.Cluster) -> None:
    body = json.loads(c.kubectl("get", "--raw",
                                f"{GROUP}/nodes?fieldSelector=metadata.name%3Dhollow-1").stdout)
    assert body["kind"] == "NodeMetricsList"
    assert [i["metadata"]["name"] for i in body["items"]] == ["hollow-1"]


def test_python_client_lists_and_cannot_watch_or_write(api: Any) -> None:
    from kubernetes import client
    from kubernetes.client.rest import ApiException

    objs = client.CustomObjectsApi(api)
    nodes = objs.list_cluster_custom_object("metrics.k8s.io", "v1beta1", "nodes")
    assert [n["metadata"]["name"] for n in nodes["items"]] == list(NODES)
    assert nodes["items"][0]["usage"] == {"cpu": "0", "memory": "0"}
    pods = objs.list_cluster_custom_object("metrics.k8s.io", "v1beta1", "pods",
                                           label_selector="app=web")
    assert {p["metadata"]["namespace"] for p in pods["items"]} == {NS}
    assert len(pods["items"]) == 2
    with pytest.raises(ApiException) as err:
        objs.list_cluster_custom_object("metrics.k8s.io", "v1beta1", "nodes", watch=True)
    status = json.loads(err.value.body)
    assert (err.value.status, status["reason"]) == (405, "MethodNotAllowed")
    assert status["message"] == 'watch is not supported on resources of kind ' \
                                '"nodes.metrics.k8s.io"'
    with pytest.raises(ApiException) as err:
        objs.create_cluster_custom_object("metrics.k8s.io", "v1beta1", "nodes",
                                          {"metadata": {"name": "x"}})
    assert err.value.status == 405
