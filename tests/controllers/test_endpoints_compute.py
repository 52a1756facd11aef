"""What the Endpoints and EndpointSlice controllers compute for a Service and its pods."""

from __future__ import annotations

from typing import Any

import pytest

from kubelite.controllers import endpoints, endpointslice

Obj = dict[str, Any]


def pod(name: str, ip: str = "", *, ready: bool = True, deleting: bool = False,
        phase: str = "Running", ports: list[Obj] | None = None) -> Obj:
    meta: Obj = {"name": name, "namespace": "ns", "uid": f"uid-{name}", "labels": {"app": "web"}}
    if deleting:
        meta["deletionTimestamp"] = "2025-01-01T00:00:00Z"
    status: Obj = {"phase": phase, "conditions": [
        {"type": "Ready", "status": "True" if ready else "False"}]}
    if ip:
        status["podIP"] = ip
    return {"metadata": meta, "status": status,
            "spec": {"nodeName": "n1", "containers": [{"name": "c", "ports": ports or []}]}}


def service(*ports: Obj, publish: bool = False, cluster_ip: str = "10.43.0.9") -> Obj:
    return {"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": "web", "namespace": "ns", "uid": "svc-uid",
                         "labels": {"team": "a"}},
            "spec": {"selector": {"app": "web"}, "clusterIP": cluster_ip,
                     "publishNotReadyAddresses": publish,
                     "ports": list(ports) or [{"port": 80, "targetPort": 8080, "protocol": "TCP"}]}}


def ips(addresses: list[Obj] | None) -> list[str]:
    return [a["ip"] for a in addresses or []]


@pytest.mark.parametrize("pods, publish, ready, not_ready", [
    ([pod("a", "10.0.0.2"), pod("b", "10.0.0.1")], False, ["10.0.0.1", "10.0.0.2"], []),
    ([pod("a", "10.0.0.1"), pod("b", "10.0.0.2", ready=False)], False, ["10.0.0.1"], ["10.0.0.2"]),
    ([pod("a", "10.0.0.1", ready=False)], True, ["10.0.0.1"], []),
    ([pod("a"), pod("b", "10.0.0.2", deleting=True)], False, [], []),
    ([pod("a", "10.0.0.1", phase="Succeeded")], False, [], []),
], ids=["ready-sorted", "unready-apart", "publish-not-ready", "no-ip-or-terminating",
        "finished"])
def test_endpoints_addresses(pods: list[Obj], publish: bool, ready: list[str],
                             not_ready: list[str]) -> None:
    subsets = endpoints.subsets(service(publish=publish), pods)
    if not ready and not not_ready:
        assert subsets == []
        return
    [subset] = subsets
    assert ips(subset.get("addresses")) == ready
    assert ips(subset.get("notReadyAddresses")) == not_ready
    assert subset["ports"] == [{"port": 8080, "protocol": "TCP"}]


def test_endpoints_address_names_the_pod_and_node() -> None:
    [subset] = endpoints.subsets(service(), [pod("a", "10.0.0.1")])
    assert subset["addresses"] == [{"ip": "10.0.0.1", "nodeName": "n1", "targetRef": {
        "kind": "Pod", "namespace": "ns", "name": "a", "uid": "uid-a"}}]


def test_named_target_ports_resolve_per_pod() -> None:
    svc = service({"name": "http", "port": 80, "targetPort": "web", "protocol": "TCP"})
    pods = [pod("a", "10.0.0.1", ports=[{"name": "web", "containerPort": 8080}]),
            pod("b", "10.0.0.2", ports=[{"name": "web", "containerPort": 9090}]),
            pod("c", "10.0.0.3", ports=[{"name": "other", "containerPort": 1}])]
    subsets = endpoints.subsets(svc, pods)
    assert [(ips(s["addresses"]), s["ports"]) for s in subsets] == [
        (["10.0.0.1"], [{"name": "http", "port": 8080, "protocol": "TCP"}]),
        (["10.0.0.2"], [{"name": "http", "port": 9090, "protocol": "TCP"}])]


def test_endpoints_unchanged_means_no_write_and_labels_follow_the_service() -> None:
    svc, pods = service(), [pod("a", "10.0.0.1")]
    first = endpoints.desired(svc, pods, None)
    assert first is not None
    assert first["metadata"]["labels"] == {"team": "a"}
    assert "endpoints.kubernetes.io/last-change-trigger-time" in first["metadata"]["annotations"]
    assert endpoints.desired(svc, pods, first) is None
    headless = endpoints.desired(service(cluster_ip="None"), pods, first)
    assert headless is not None
    assert headless["metadata"]["labels"]["service.kubernetes.io/headless"] == ""


@pytest.mark.parametrize("p, publish, conditions", [
    (pod("a", "10.0.0.1"), False, {"ready": True, "serving": True, "terminating": False}),
    (pod("a", "10.0.0.1", ready=False), False,
     {"ready": False, "serving": False, "terminating": False}),
    (pod("a", "10.0.0.1", deleting=True), False,
     {"ready": False, "serving": True, "terminating": True}),
    (pod("a", "10.0.0.1", ready=False), True,
     {"ready": True, "serving": True, "terminating": False}),
], ids=["ready", "unready", "terminating", "publish-not-ready"])
def test_slice_conditions(p: Obj, publish: bool, conditions: Obj) -> None:
    [(ports, eps)] = endpointslice.desired_groups(service(publish=publish), [p])
    assert eps[0]["conditions"] == conditions
    assert ports == [{"name": "", "port": 8080, "protocol": "TCP"}]


def test_slices_are_labelled_owned_and_reused() -> None:
    svc = service()
    pods = [pod(f"p{i}", f"10.0.{i // 250}.{i % 250 + 1}") for i in range(150)]
    writes, deletes = endpointslice.plan(svc, pods, [])
    assert deletes == [] and [len(w["endpoints"]) for w in writes] == [100, 50]
    meta = writes[0]["metadata"]
    assert meta["generateName"] == "web-"
    assert meta["labels"] == {"team": "a", "kubernetes.io/service-name": "web",
                              "endpointslice.kubernetes.io/managed-by":
                                  "endpointslice-controller.k8s.io"}
    assert meta["ownerReferences"][0]["uid"] == "svc-uid"
    assert writes[0]["addressType"] == "IPv4"
    stored = [dict(w, metadata=dict(w["metadata"], name=f"web-{i}", resourceVersion="1"))
              for i, w in enumerate(writes)]
    assert endpointslice.plan(svc, pods, stored) == ([], [])
    writes, deletes = endpointslice.plan(svc, pods[:1], stored)
    assert [w["metadata"]["name"] for w in writes] == ["web-0"]
    assert [d["metadata"]["name"] for d in deletes] == ["web-1"]


def test_a_service_without_endpoints_keeps_a_placeholder_slice() -> None:
    writes, _ = endpointslice.plan(service(), [], [])
    assert [(w["ports"], w["endpoints"]) for w in writes] == [([], [])]
