"""Rows of the built-in kinds other than Pod, cell by cell as `kubectl get -o wide` shows them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from kubelite.api import registry
from kubelite.api.printers import table

NOW = datetime(2025, 1, 10, 12, 0, 0, tzinfo=UTC)
REG = registry.Registry()
CREATED = "2025-01-10T11:00:00Z"  # 60m before NOW
TEMPLATE = {"metadata": {"labels": {"app": "web"}},
            "spec": {"containers": [{"name": "a", "image": "nginx:1"}, {"name": "b", "image": "busybox"}]}}


def obj(name: str = "x", **fields: Any) -> dict:
    return {"metadata": {"name": name, "namespace": "default", "creationTimestamp": CREATED},
            **fields}


def cells_of(group: str, version: str, plural: str, o: dict) -> list:
    rt = REG.lookup(group, version, plural)
    assert rt is not None
    return table.rows(rt, [o], now=NOW)[0]["cells"]


CASES: list[tuple[str, str, str, dict, list]] = [
    ("apps", "v1", "deployments",
     obj("web", spec={"replicas": 3, "selector": {"matchLabels": {"app": "web"}}, "template": TEMPLATE},
         status={"readyReplicas": 2, "updatedReplicas": 3, "availableReplicas": 2}),
     ["web", "2/3", 3, 2, "60m", "a,b", "nginx:1,busybox", "app=web"]),
    ("apps", "v1", "replicasets",
     obj("web-1", spec={"replicas": 2, "selector": {"matchLabels": {"app": "web"}}, "template": TEMPLATE},
         status={"replicas": 2, "readyReplicas": 1}),
     ["web-1", 2, 2, 1, "60m", "a,b", "nginx:1,busybox", "app=web"]),
    ("apps", "v1", "statefulsets",
     obj("db", spec={"replicas": 3, "template": TEMPLATE}, status={"readyReplicas": 3}),
     ["db", "3/3", "60m", "a,b", "nginx:1,busybox"]),
    ("apps", "v1", "daemonsets",
     obj("agent", spec={"selector": {"matchLabels": {"app": "agent"}},
                        "template": {"spec": {"nodeSelector": {"os": "linux"}, "containers": []}}},
         status={"desiredNumberScheduled": 3, "currentNumberScheduled": 3, "numberReady": 2,
                 "updatedNumberScheduled": 3, "numberAvailable": 2}),
     ["agent", 3, 3, 2, 3, 2, "os=linux", "60m", "", "", "app=agent"]),
    ("apps", "v1", "controllerrevisions",
     obj("agent-7d", revision=2, metadata={"name": "agent-7d", "creationTimestamp": CREATED,
                                           "ownerReferences": [{"apiVersion": "apps/v1",
                                                                "kind": "DaemonSet", "name": "agent",
                                                                "controller": True}]}),
     ["agent-7d", "daemonset.apps/agent", 2, "60m"]),
    ("", "v1", "services",
     obj("web", spec={"type": "ClusterIP", "clusterIP": "10.43.0.10", "clusterIPs": ["10.43.0.10"],
                      "ports": [{"port": 80, "protocol": "TCP"}], "selector": {"app": "web"}}),
     ["web", "ClusterIP", "10.43.0.10", "<none>", "80/TCP", "60m", "app=web"]),
    ("", "v1", "services",
     obj("lb", spec={"type": "LoadBalancer", "clusterIPs": ["10.43.0.11"],
                     "ports": [{"port": 80, "nodePort": 30080, "protocol": "TCP"},
                               {"port": 53, "nodePort": 30053, "protocol": "UDP"}]}),
     ["lb", "LoadBalancer", "10.43.0.11", "<pending>", "80:30080/TCP,53:30053/UDP", "60m", "<none>"]),
    ("", "v1", "services",
     obj("lb2", spec={"type": "LoadBalancer", "clusterIPs": ["10.43.0.12"], "externalIPs": ["1.2.3.4"],
                      "ports": []},
         status={"loadBalancer": {"ingress": [{"ip": "5.6.7.8"}, {"hostname": "lb.example.com"}]}}),
     ["lb2", "LoadBalancer", "10.43.0.12", "5.6.7.8,lb.example.com,1.2.3.4", "<none>", "60m",
      "<none>"]),
    ("", "v1", "services",
     obj("ext", spec={"type": "ExternalName", "externalName": "db.example.com", "clusterIP": ""}),
     ["ext", "ExternalName", "<none>", "db.example.com", "<none>", "60m", "<none>"]),
    ("", "v1", "nodes",
     obj("n1", metadata={"name": "n1", "creationTimestamp": CREATED,
                         "labels": {"node-role.kubernetes.io/control-plane": "",
                                    "node-role.kubernetes.io/master": "", "kubernetes.io/role": "edge"}},
         spec={"unschedulable": True},
         status={"conditions": [{"type": "MemoryPressure", "status": "False"},
                                {"type": "Ready", "status": "True"}],
                 "addresses": [{"type": "InternalIP", "address": "192.168.1.5"},
                               {"type": "Hostname", "address": "n1"}],
                 "nodeInfo": {"kubeletVersion": "v1.32.4", "osImage": "Debian 12",
                              "kernelVersion": "6.1.0", "containerRuntimeVersion": "crun://1.14"}}),
     ["n1", "Ready,SchedulingDisabled", "control-plane,edge,master", "60m", "v1.32.4", "192.168.1.5",
      "<none>", "Debian 12", "6.1.0", "crun://1.14"]),
    ("", "v1", "nodes", obj("n2", status={"conditions": [{"type": "Ready", "status": "Unknown"}]}),
     ["n2", "NotReady", "<none>", "60m", "", "<none>", "<none>", "<unknown>", "<unknown>",
      "<unknown>"]),
    ("", "v1", "namespaces", obj("kube-system", status={"phase": "Active"}),
     ["kube-system", "Active", "60m"]),
    ("", "v1", "configmaps", obj("cfg", data={"a": "1", "b": "2"}, binaryData={"c": "AA=="}),
     ["cfg", 3, "60m"]),
    ("", "v1", "secrets", obj("tls", type="kubernetes.io/tls", data={"tls.crt": "", "tls.key": ""}),
     ["tls", "kubernetes.io/tls", 2, "60m"]),
    ("", "v1", "serviceaccounts", obj("default"), ["default", 0, "60m"]),
    ("", "v1", "endpoints",
     obj("web", subsets=[{"addresses": [{"ip": "10.1.0.1"}, {"ip": "10.1.0.2"}],
                          "ports": [{"port": 80}, {"port": 443}]}]),
     ["web", "10.1.0.1:80,10.1.0.2:80,10.1.0.1:443 + 1 more...", "60m"]),
    ("", "v1", "endpoints", obj("none"), ["none", "<none>", "60m"]),
    ("", "v1", "replicationcontrollers",
     obj("rc", spec={"replicas": 2, "selector": {"app": "web"}, "template": TEMPLATE},
         status={"replicas": 2, "readyReplicas": 2}),
     ["rc", 2, 2, 2, "60m", "a,b", "nginx:1,busybox", "app=web"]),
    ("", "v1", "resourcequotas",
     obj("q", status={"hard": {"pods": "10", "limits.cpu": "2", "requests.memory": "1Gi"},
                      "used": {"pods": "3", "limits.cpu": "500m"}}),
     ["q", "60m", "pods: 3/10, requests.memory: 0/1Gi", "limits.cpu: 500m/2"]),
    ("", "v1", "podtemplates", obj("pt", template=TEMPLATE), ["pt", "a,b", "nginx:1,busybox", "app=web"]),
    ("", "v1", "persistentvolumes",
     obj("pv1", spec={"capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteMany", "ReadWriteOnce"],
                      "persistentVolumeReclaimPolicy": "Retain", "storageClassName": "local",
                      "claimRef": {"namespace": "default", "name": "data"}, "volumeMode": "Filesystem"},
         status={"phase": "Bound"}),
     ["pv1", "1Gi", "RWO,RWX", "Retain", "Bound", "default/data", "local", "<unset>", "", "60m",
      "Filesystem"]),
    ("", "v1", "persistentvolumeclaims",
     obj("data", spec={"volumeName": "pv1", "storageClassName": "local",
                       "resources": {"requests": {"storage": "1Gi"}}},
         status={"phase": "Bound", "capacity": {"storage": "1024Mi"}, "accessModes": ["ReadWriteOnce"]}),
     ["data", "Bound", "pv1", "1Gi", "RWO", "local", "<unset>", "60m", "<unset>"]),
    ("", "v1", "persistentvolumeclaims",
     obj("pending", spec={"resources": {"requests": {"storage": "1Gi"}}}, status={"phase": "Pending"}),
     ["pending", "Pending", "", "", "", "", "<unset>", "60m", "<unset>"]),
    ("batch", "v1", "jobs",
     obj("pi", spec={"completions": 3, "selector": {"matchLabels": {"job": "pi"}}, "template": TEMPLATE},
         status={"succeeded": 1, "startTime": "2025-01-10T11:30:00Z"}),
     ["pi", "Running", "1/3", "30m", "60m", "a,b", "nginx:1,busybox", "job=pi"]),
    ("batch", "v1", "jobs",
     obj("done", spec={"parallelism": 2, "template": TEMPLATE},
         status={"succeeded": 2, "startTime": "2025-01-10T11:00:00Z",
                 "completionTime": "2025-01-10T11:00:42Z",
                 "conditions": [{"type": "Complete", "status": "True"}]}),
     ["done", "Complete", "2/1 of 2", "42s", "60m", "a,b", "nginx:1,busybox", "<none>"]),
    ("batch", "v1", "jobs",
     obj("held", spec={"template": TEMPLATE}, status={"conditions": [{"type": "Suspended", "status": "True"}]}),
     ["held", "Suspended", "0/1", "", "60m", "a,b", "nginx:1,busybox", "<none>"]),
    ("batch", "v1", "cronjobs",
     obj("nightly", spec={"schedule": "0 3 * * *", "suspend": False, "jobTemplate": {"spec": {"template": TEMPLATE}}},
         status={"active": [{"name": "nightly-1"}], "lastScheduleTime": "2025-01-10T11:58:00Z"}),
     ["nightly", "0 3 * * *", "<none>", "False", 1, "2m", "60m", "a,b", "nginx:1,busybox", "<none>"]),
    ("autoscaling", "v2", "horizontalpodautoscalers",
     obj("web", spec={"scaleTargetRef": {"kind": "Deployment", "name": "web"}, "minReplicas": 1,
                      "maxReplicas": 5, "metrics": [
                          {"type": "Resource", "resource": {"name": "cpu", "target": {
                              "type": "Utilization", "averageUtilization": 80}}},
                          {"type": "Pods", "pods": {"metric": {"name": "qps"}, "target": {
                              "type": "AverageValue", "averageValue": "10"}}},
                          {"type": "Resource", "resource": {"name": "memory", "target": {
                              "type": "AverageValue", "averageValue": "100Mi"}}}]},
         status={"currentReplicas": 2, "currentMetrics": [
             {"type": "Resource", "resource": {"name": "cpu", "current": {"averageUtilization": 12}}}]}),
     ["web", "Deployment/web", "cpu: 12%/80%, <unknown>/10 + 1 more...", "1", 5, 2, "60m"]),
    ("autoscaling", "v1", "horizontalpodautoscalers",
     obj("old", spec={"scaleTargetRef": {"kind": "Deployment", "name": "old"}, "maxReplicas": 3,
                      "targetCPUUtilizationPercentage": 50}, status={"currentReplicas": 1}),
     ["old", "Deployment/old", "cpu: <unknown>/50%", "<unset>", 3, 1, "60m"]),
    ("networking.k8s.io", "v1", "ingresses",
     obj("web", spec={"ingressClassName": "traefik", "tls": [{"hosts": ["a.example.com"]}],
                      "rules": [{"host": "a.example.com"}, {"host": "b.example.com"}, {},
                                {"host": "c.example.com"}, {"host": "d.example.com"}]},
         status={"loadBalancer": {"ingress": [{"ip": "192.168.1.5"}]}}),
     ["web", "traefik", "a.example.com,b.example.com,c.example.com + 2 more...", "192.168.1.5",
      "80, 443", "60m"]),
    ("networking.k8s.io", "v1", "ingresses", obj("any", spec={}),
     ["any", "<none>", "*", "", "80", "60m"]),
    ("networking.k8s.io", "v1", "ingressclasses",
     obj("traefik", spec={"controller": "traefik.io/ingress-controller",
                          "parameters": {"apiGroup": "k8s.example.com", "kind": "Params", "name": "p"}}),
     ["traefik", "traefik.io/ingress-controller", "Params.k8s.example.com/p", "60m"]),
    ("networking.k8s.io", "v1", "networkpolicies", obj("deny", spec={"podSelector": {}}),
     ["deny", "<none>", "60m"]),
    ("discovery.k8s.io", "v1", "endpointslices",
     obj("web-abc", addressType="IPv4", ports=[{"name": "http", "port": 80}, {"name": "x"}],
         endpoints=[{"addresses": ["10.1.0.1"]}, {"addresses": ["10.1.0.2"]}]),
     ["web-abc", "IPv4", "80,x", "10.1.0.1,10.1.0.2", "60m"]),
    ("coordination.k8s.io", "v1", "leases", obj("kube-scheduler", spec={"holderIdentity": "node-1_abc"}),
     ["kube-scheduler", "node-1_abc", "60m"]),
    ("rbac.authorization.k8s.io", "v1", "rolebindings",
     obj("rb", roleRef={"kind": "Role", "name": "reader"},
         subjects=[{"kind": "User", "name": "alice"}, {"kind": "Group", "name": "devs"},
                   {"kind": "ServiceAccount", "namespace": "ci", "name": "bot"},
                   {"kind": "User", "name": "bob"}]),
     ["rb", "Role/reader", "60m", "alice, bob", "devs", "ci/bot"]),
    ("rbac.authorization.k8s.io", "v1", "clusterrolebindings",
     obj("crb", roleRef={"kind": "ClusterRole", "name": "admin"}),
     ["crb", "ClusterRole/admin", "60m", "", "", ""]),
    ("storage.k8s.io", "v1", "storageclasses",
     obj("local-path", provisioner="rancher.io/local-path", volumeBindingMode="WaitForFirstConsumer",
         metadata={"name": "local-path", "creationTimestamp": CREATED,
                   "annotations": {"storageclass.kubernetes.io/is-default-class": "true"}}),
     ["local-path (default)", "rancher.io/local-path", "Delete", "WaitForFirstConsumer", False, "60m"]),
    ("storage.k8s.io", "v1", "csidrivers", obj("csi.example.com", spec={"volumeLifecycleModes": ["Persistent"]}),
     ["csi.example.com", True, False, False, "<unset>", False, "Persistent", "60m"]),
    ("policy", "v1", "poddisruptionbudgets",
     obj("pdb", spec={"minAvailable": "50%"}, status={"disruptionsAllowed": 1}),
     ["pdb", "50%", "N/A", 1, "60m"]),
    ("scheduling.k8s.io", "v1", "priorityclasses",
     obj("high", value=1000, globalDefault=False, preemptionPolicy="PreemptLowerPriority"),
     ["high", 1000, False, "60m", "PreemptLowerPriority"]),
    ("node.k8s.io", "v1", "runtimeclasses", obj("gvisor", handler="runsc"), ["gvisor", "runsc", "60m"]),
    ("rbac.authorization.k8s.io", "v1", "roles", obj("reader"), ["reader", "2025-01-10T11:00:00Z"]),
    ("", "v1", "limitranges", obj("limits"), ["limits", "2025-01-10T11:00:00Z"]),
    ("apiextensions.k8s.io", "v1", "customresourcedefinitions", obj("widgets.example.com"),
     ["widgets.example.com", "2025-01-10T11:00:00Z"]),
]


@pytest.mark.parametrize("group,version,plural,o,expected", CASES,
                         ids=[f"{c[2]}-{c[3]['metadata']['name']}" for c in CASES])
def test_row_cells(group: str, version: str, plural: str, o: dict, expected: list) -> None:
    assert cells_of(group, version, plural, o) == expected


EVENT_CORE = obj("web.17a", involvedObject={"kind": "Pod", "name": "web", "fieldPath": "spec.containers{a}"},
                 reason="Pulled", type="Normal", message="  Pulled image  \n", count=3,
                 source={"component": "kubelet", "host": "node-1"},
                 firstTimestamp="2025-01-10T11:50:00Z", lastTimestamp="2025-01-10T11:59:00Z")
EVENT_NEW = obj("web.17b", regarding={"kind": "Deployment", "name": "web"}, reason="ScalingReplicaSet",
                type="Normal", note="Scaled up", reportingController="deployment-controller",
                eventTime="2025-01-10T11:59:30.000000Z")


@pytest.mark.parametrize("version_group,o,expected", [
    (("", "v1"), EVENT_CORE,
     ["60s", "Normal", "Pulled", "pod/web", "spec.containers{a}", "kubelet, node-1", "Pulled image",
      "10m", 3, "web.17a"]),
    (("events.k8s.io", "v1"), EVENT_NEW,
     ["30s", "Normal", "ScalingReplicaSet", "deployment/web", "", "deployment-controller",
      "Scaled up", "30s", 1, "web.17b"]),
], ids=["core", "events.k8s.io"])
def test_event_rows(version_group: tuple[str, str], o: dict, expected: list) -> None:
    assert cells_of(*version_group, "events", o) == expected


def test_event_columns_put_name_last_and_wide() -> None:
    rt = REG.lookup("", "v1", "events")
    assert rt is not None
    defs = table.column_definitions(rt)
    assert [c["name"] for c in defs if c["priority"] == 0] == [
        "Last Seen", "Type", "Reason", "Object", "Message"]
    assert defs[-1] == {**defs[-1], "name": "Name", "format": "name", "priority": 1}
