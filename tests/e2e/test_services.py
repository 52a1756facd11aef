"""Services against a real server with two hollow nodes, driven by the real kubectl:
cluster IPs and node ports, the `kubernetes` Service, Endpoints and EndpointSlices.
"""

from __future__ import annotations

import ipaddress
import itertools
import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.e2e import cluster as cluster_mod
from tests.e2e import simenv

_names = itertools.count()
SERVICE_RANGE = ipaddress.ip_network("10.43.0.0/16")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[cluster_mod.Cluster]:
    yield from simenv.running_cluster(tmp_path_factory, 2)


@pytest.fixture
def ns(cluster: cluster_mod.Cluster) -> str:
    name = f"svc{next(_names)}-{os.getpid() % 10000}"
    cluster.kubectl("create", "namespace", name)
    return name


@pytest.fixture(scope="module")
def core(cluster: cluster_mod.Cluster) -> Iterator[Any]:
    from kubernetes import client, config

    cfg = client.Configuration()
    config.load_kube_config(config_file=cluster.kubeconfig, client_configuration=cfg)
    with client.ApiClient(cfg) as api:
        yield api


def wait_for(list_fn: Callable[..., Any], ns: str, check: Callable[[list[Any]], bool],
             timeout: int = 30, **selectors: str) -> list[Any]:
    """Watch a namespaced list until `check` holds for the current items."""
    from kubernetes import watch

    items = {i.metadata.name: i for i in list_fn(ns, **selectors).items}
    if check(list(items.values())):
        return list(items.values())
    w = watch.Watch()
    for event in w.stream(list_fn, ns, timeout_seconds=timeout, **selectors):
        obj = event["object"]
        if event["type"] == "DELETED":
            items.pop(obj.metadata.name, None)
        else:
            items[obj.metadata.name] = obj
        if check(list(items.values())):
            w.stop()
            return list(items.values())
    raise AssertionError(f"timed out waiting; last state: {list(items.values())}")


def ready_addresses(endpoints: list[Any]) -> int:
    return sum(len(s.addresses or []) for e in endpoints for s in e.subsets or [])


def slice_endpoints(slices: list[Any]) -> int:
    return sum(len(s.endpoints or []) for s in slices)


def test_kubernetes_service_points_at_the_api_server(cluster: cluster_mod.Cluster) -> None:
    out = cluster.kubectl("get", "svc", "kubernetes", "-n", "default").stdout
    assert "10.43.0.1" in out and "443/TCP" in out
    eps = cluster.kubectl("get", "endpoints", "kubernetes", "-n", "default").stdout
    assert f"127.0.0.1:{cluster.port}" in eps
    svc = cluster.kubectl_json("get", "svc", "kubernetes", "-n", "default")
    assert svc["spec"]["ports"][0]["targetPort"] == cluster.port
    slices = cluster.kubectl_json("get", "endpointslices", "-n", "default",
                                  "-l", "kubernetes.io/service-name=kubernetes")["items"]
    assert [s["endpoints"][0]["addresses"] for s in slices] == [["127.0.0.1"]]


def test_exposed_deployment_endpoints_follow_its_ready_pods(cluster: cluster_mod.Cluster,
                                                           ns: str, core: Any) -> None:
    from kubernetes import client

    v1, discovery = client.CoreV1Api(core), client.DiscoveryV1Api(core)
    cluster.kubectl("create", "deployment", "web", "--image=nginx", "--replicas=3", "-n", ns)
    cluster.kubectl("expose", "deployment", "web", "--port=80", "-n", ns)
    svc = cluster.kubectl_json("get", "svc", "web", "-n", ns)
    assert ipaddress.ip_address(svc["spec"]["clusterIP"]) in SERVICE_RANGE
    assert svc["spec"]["clusterIP"] in cluster.kubectl("get", "svc", "web", "-n", ns).stdout

    by_name = {"field_selector": "metadata.name=web"}
    wait_for(v1.list_namespaced_endpoints, ns, lambda e: ready_addresses(e) == 3, **by_name)
    assert cluster.kubectl("get", "endpoints", "web", "-n", ns).stdout.count(":80") == 3
    by_service = {"label_selector": "kubernetes.io/service-name=web"}
    slices = wait_for(discovery.list_namespaced_endpoint_slice, ns,
                      lambda s: slice_endpoints(s) == 3, **by_service)
    assert all(e.conditions.ready for s in slices for e in s.endpoints)
    pod_ips = {p["status"]["podIP"] for p in cluster.kubectl_json(
        "get", "pods", "-n", ns, "-l", "app=web")["items"]}
    listed = cluster.kubectl_json("get", "endpointslices", "-n", ns, "-l",
                                  "kubernetes.io/service-name=web")["items"]
    assert {a for s in listed for e in s["endpoints"] for a in e["addresses"]} == pod_ips

    cluster.kubectl("scale", "deployment", "web", "--replicas=1", "-n", ns)
    wait_for(v1.list_namespaced_endpoints, ns, lambda e: ready_addresses(e) == 1, **by_name)
    wait_for(discovery.list_namespaced_endpoint_slice, ns,
             lambda s: slice_endpoints(s) == 1, **by_service)


def test_node_ports_are_allocated_and_not_shared(cluster: cluster_mod.Cluster, ns: str) -> None:
    cluster.kubectl("create", "service", "nodeport", "np", "--tcp=80:8080", "-n", ns)
    port = cluster.kubectl_json("get", "svc", "np", "-n", ns)["spec"]["ports"][0]["nodePort"]
    assert 30000 <= port <= 32767
    assert f"80:{port}/TCP" in cluster.kubectl("get", "svc", "np", "-n", ns).stdout
    res = cluster.kubectl("create", "service", "nodeport", "np2", "--tcp=80:8080",
                          f"--node-port={port}", "-n", ns, check=False)
    assert res.returncode != 0
    assert (f"spec.ports[0].nodePort: Invalid value: {port}: provided port is already "
            f"allocated") in res.stderr


def test_a_taken_cluster_ip_is_refused(cluster: cluster_mod.Cluster, ns: str) -> None:
    cluster.kubectl("create", "service", "clusterip", "a", "--tcp=80:8080", "-n", ns)
    ip = cluster.kubectl_json("get", "svc", "a", "-n", ns)["spec"]["clusterIP"]
    res = cluster.kubectl("create", "service", "clusterip", "b", "--tcp=80:8080",
                          f"--clusterip={ip}", "-n", ns, check=False)
    assert res.returncode != 0
    assert "provided IP is already allocated" in res.stderr
    assert "spec.clusterIPs" in res.stderr
    res = cluster.kubectl("create", "service", "clusterip", "c", "--tcp=80:8080",
                          "--clusterip=10.0.0.5", "-n", ns, check=False)
    assert "is not in the valid range" in res.stderr


def test_headless_and_external_name_services_get_no_address(cluster: cluster_mod.Cluster,
                                                            ns: str) -> None:
    cluster.kubectl("create", "service", "clusterip", "h", "--clusterip=None", "-n", ns)
    cluster.kubectl("create", "service", "externalname", "x", "--external-name=example.com",
                    "-n", ns)
    out = cluster.kubectl("get", "svc", "h", "x", "-n", ns, "-o",
                          "jsonpath={range .items[*]}{.spec.clusterIP};{end}").stdout
    assert out == "None;;"
