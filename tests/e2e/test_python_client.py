"""The official Python client, unmodified, against a real server."""

from __future__ import annotations

import threading
import time

import pytest
from kubernetes import client, dynamic, utils, watch
from kubernetes.client.exceptions import ApiException

from tests.e2e.cluster import Cluster

pytestmark = pytest.mark.e2e


def _pod(name: str, **labels: str) -> client.V1Pod:
    return client.V1Pod(
        metadata=client.V1ObjectMeta(name=name, labels=labels or None),
        spec=client.V1PodSpec(containers=[client.V1Container(name="main", image="busybox")]))


def test_crud_core_kinds(api_client: client.ApiClient, ns: str) -> None:
    core = client.CoreV1Api(api_client)
    created = core.create_namespaced_config_map(ns, client.V1ConfigMap(
        metadata=client.V1ObjectMeta(name="cfg"), data={"a": "1"}))
    assert created.metadata.uid and created.metadata.resource_version
    got = core.read_namespaced_config_map("cfg", ns)
    assert got.data == {"a": "1"}
    got.data["b"] = "2"
    replaced = core.replace_namespaced_config_map("cfg", ns, got)
    assert int(replaced.metadata.resource_version) > int(created.metadata.resource_version)
    patched = core.patch_namespaced_config_map("cfg", ns, {"data": {"c": "3"}})
    assert patched.data == {"a": "1", "b": "2", "c": "3"}
    core.delete_namespaced_config_map("cfg", ns)
    with pytest.raises(ApiException) as e:
        core.read_namespaced_config_map("cfg", ns)
    assert e.value.status == 404


def test_pods_secrets_services_and_defaults(api_client: client.ApiClient, ns: str) -> None:
    core = client.CoreV1Api(api_client)
    pod = core.create_namespaced_pod(ns, _pod("p1", app="x"))
    assert pod.spec.restart_policy == "Always"
    assert pod.spec.containers[0].image_pull_policy == "Always"   # untagged image
    assert pod.spec.termination_grace_period_seconds == 30
    assert pod.status.phase == "Pending"
    secret = core.create_namespaced_secret(ns, client.V1Secret(
        metadata=client.V1ObjectMeta(name="s"), string_data={"k": "v"}))
    assert secret.data == {"k": "dg=="} and secret.type == "Opaque"
    svc = core.create_namespaced_service(ns, client.V1Service(
        metadata=client.V1ObjectMeta(name="svc"),
        spec=client.V1ServiceSpec(selector={"app": "x"},
                                  ports=[client.V1ServicePort(port=80)])))
    assert svc.spec.type == "ClusterIP" and svc.spec.ports[0].target_port == 80
    assert [p.metadata.name for p in core.list_namespaced_pod(ns, label_selector="app=x").items] \
        == ["p1"]


def test_watch_stream_sees_changes(api_client: client.ApiClient, ns: str) -> None:
    core = client.CoreV1Api(api_client)
    w = watch.Watch()
    seen: list[tuple[str, str]] = []
    ready = threading.Event()

    def writer() -> None:
        ready.wait(10)
        core.create_namespaced_config_map(ns, client.V1ConfigMap(
            metadata=client.V1ObjectMeta(name="w1")))
        core.patch_namespaced_config_map("w1", ns, {"data": {"x": "y"}})
        core.delete_namespaced_config_map("w1", ns)

    t = threading.Thread(target=writer)
    t.start()
    listed = core.list_namespaced_config_map(ns)
    ready.set()
    for event in w.stream(core.list_namespaced_config_map, ns,
                          resource_version=listed.metadata.resource_version, timeout_seconds=20):
        if event["object"].metadata.name == "w1":
            seen.append((event["type"], event["object"].metadata.name))
        if event["type"] == "DELETED":
            w.stop()
    t.join()
    assert seen == [("ADDED", "w1"), ("MODIFIED", "w1"), ("DELETED", "w1")]


def test_create_from_yaml_and_apps(api_client: client.ApiClient, ns: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    manifest = tmp_path / "app.yaml"
    manifest.write_text(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: fy}\nspec:\n  replicas: 2\n"
        "  selector: {matchLabels: {app: fy}}\n  template:\n    metadata: {labels: {app: fy}}\n"
        "    spec: {containers: [{name: c, image: 'nginx:1.27'}]}\n---\n"
        "apiVersion: v1\nkind: Service\nmetadata: {name: fy}\nspec:\n  selector: {app: fy}\n"
        "  ports: [{port: 80}]\n")
    utils.create_from_yaml(api_client, str(manifest), namespace=ns)
    apps = client.AppsV1Api(api_client)
    dep = apps.read_namespaced_deployment("fy", ns)
    assert dep.spec.replicas == 2
    scaled = apps.patch_namespaced_deployment_scale("fy", ns, {"spec": {"replicas": 4}})
    assert scaled.spec.replicas == 4
    assert apps.read_namespaced_deployment("fy", ns).spec.replicas == 4


def test_dynamic_client(api_client: client.ApiClient, ns: str) -> None:
    dyn = dynamic.DynamicClient(api_client)
    cms = dyn.resources.get(api_version="v1", kind="ConfigMap")
    cms.create(body={"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "dyn"},
                     "data": {"k": "v"}}, namespace=ns)
    got = cms.get(name="dyn", namespace=ns)
    assert got.data.k == "v"
    listed = cms.get(namespace=ns)
    assert "dyn" in [i.metadata.name for i in listed.items]


def test_pagination(api_client: client.ApiClient, ns: str) -> None:
    core = client.CoreV1Api(api_client)
    for i in range(7):
        core.create_namespaced_config_map(ns, client.V1ConfigMap(
            metadata=client.V1ObjectMeta(name=f"page-{i}")))
    names: list[str] = []
    token = None
    pages = 0
    while True:
        page = core.list_namespaced_config_map(ns, limit=3, _continue=token)
        pages += 1
        names += [i.metadata.name for i in page.items if i.metadata.name.startswith("page-")]
        token = page.metadata._continue
        if not token:
            break
    assert names == [f"page-{i}" for i in range(7)]
    assert pages >= 3


def test_dry_run_writes_nothing(api_client: client.ApiClient, ns: str) -> None:
    core = client.CoreV1Api(api_client)
    out = core.create_namespaced_config_map(ns, client.V1ConfigMap(
        metadata=client.V1ObjectMeta(name="dry")), dry_run="All")
    assert out.metadata.name == "dry"
    with pytest.raises(ApiException) as e:
        core.read_namespaced_config_map("dry", ns)
    assert e.value.status == 404


CORE_OBJECTS = {
    "ConfigMap": {"data": {"k": "v"}},
    "Secret": {"stringData": {"k": "v"}},
    "ServiceAccount": {},
    "Endpoints": {"subsets": [{"addresses": [{"ip": "10.42.0.9"}], "ports": [{"port": 80}]}]},
    "Event": {"involvedObject": {"kind": "Pod", "name": "p", "namespace": "NS"},
              "reason": "Tested", "message": "hello", "type": "Normal"},
    "LimitRange": {"spec": {"limits": [{"type": "Container", "default": {"cpu": "100m"}}]}},
    "ResourceQuota": {"spec": {"hard": {"pods": "10"}}},
    "PersistentVolumeClaim": {"spec": {"accessModes": ["ReadWriteOnce"],
                                       "resources": {"requests": {"storage": "1Gi"}}}},
    "PodTemplate": {"template": {"spec": {"containers": [{"name": "c", "image": "busybox"}]}}},
    "ReplicationController": {"spec": {"replicas": 0, "selector": {"app": "rc"}, "template": {
        "metadata": {"labels": {"app": "rc"}},
        "spec": {"containers": [{"name": "c", "image": "busybox"}]}}}},
}


@pytest.mark.parametrize("kind", sorted(CORE_OBJECTS))
def test_dynamic_crud_on_core_kinds(api_client: client.ApiClient, ns: str, kind: str) -> None:
    dyn = dynamic.DynamicClient(api_client)
    res = dyn.resources.get(api_version="v1", kind=kind)
    body = {"apiVersion": "v1", "kind": kind, "metadata": {"name": "obj", "labels": {"t": "1"}}}
    body.update(json_fix(CORE_OBJECTS[kind], ns))
    created = res.create(body=body, namespace=ns)
    assert created.metadata.uid
    res.patch(name="obj", namespace=ns, body={"metadata": {"labels": {"t": "2"}}},
              content_type="application/merge-patch+json")
    assert res.get(name="obj", namespace=ns).metadata.labels["t"] == "2"
    assert [i.metadata.name for i in res.get(namespace=ns, label_selector="t=2").items] == ["obj"]
    res.delete(name="obj", namespace=ns)
    # a claim goes once its in-use protection lifts (nothing uses it): not always at once
    deadline = time.monotonic() + 10
    with pytest.raises(ApiException) as e:
        while time.monotonic() < deadline:
            assert res.get(name="obj", namespace=ns).metadata.deletionTimestamp
            time.sleep(0.1)
    assert e.value.status == 404


def json_fix(spec: dict, ns: str) -> dict:  # type: ignore[type-arg]
    import json

    return json.loads(json.dumps(spec).replace('"NS"', f'"{ns}"'))
