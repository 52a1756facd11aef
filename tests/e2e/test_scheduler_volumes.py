"""The scheduler places pods that use PersistentVolumeClaims (real server, three hollow nodes).

What a user sees with kubectl: a pod waits (FailedScheduling) for a missing or unbound
claim and is scheduled once it can be; a claim bound to a volume with node affinity pins
its pods to that node; local-path claims need a node that offers local-path storage.
"""

from __future__ import annotations

from tests.e2e import cluster as cluster_mod
from tests.e2e import test_scheduling as scheduling

LOCAL_PATH_ROOT = "kubelite.io/local-path-root"


# the scheduling tests' module server (three hollow nodes) and per-test namespace
cluster = scheduling.cluster
ns = scheduling.ns


def pod_yaml(name: str, claim: str, node: str = "") -> str:
    selector = f"\n  nodeSelector: {{kubernetes.io/hostname: {node}}}" if node else ""
    return f"""apiVersion: v1
kind: Pod
metadata:
  name: {name}
spec:{selector}
  containers:
  - name: c
    image: nginx
  volumes:
  - name: data
    persistentVolumeClaim: {{claimName: {claim}}}
"""


def pv_yaml(name: str, node: str, cls: str = '""') -> str:
    return f"""apiVersion: v1
kind: PersistentVolume
metadata:
  name: {name}
spec:
  capacity: {{storage: 1Gi}}
  accessModes: [ReadWriteOnce]
  storageClassName: {cls}
  hostPath: {{path: /tmp/{name}}}
  nodeAffinity:
    required:
      nodeSelectorTerms:
      - matchExpressions:
        - {{key: kubernetes.io/hostname, operator: In, values: [{node}]}}
"""


def claim_yaml(name: str, *, volume: str = "", cls: str = '""', selector: str = "") -> str:
    extra = (f"\n  volumeName: {volume}" if volume else "") + (
        f"\n  selector: {{matchLabels: {{{selector}: none}}}}" if selector else "")
    return f"""apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: {name}
spec:
  accessModes: [ReadWriteOnce]
  storageClassName: {cls}
  resources: {{requests: {{storage: 1Gi}}}}{extra}
"""


def apply(cluster: cluster_mod.Cluster, ns: str, yaml: str) -> None:
    cluster.kubectl("apply", "-n", ns, "-f", "-", input=yaml)


def wait_on_node(cluster: cluster_mod.Cluster, ns: str, pod: str, node: str) -> None:
    cluster.kubectl("wait", "-n", ns, f"--for=jsonpath={{.spec.nodeName}}={node}", f"pod/{pod}",
                    "--timeout=30s")


def wait_unschedulable(cluster: cluster_mod.Cluster, ns: str, pod: str) -> str:
    cluster.kubectl("wait", "-n", ns, "--for=condition=PodScheduled=False", f"pod/{pod}",
                    "--timeout=30s")
    return scheduling.wait_failed_scheduling(cluster, ns, pod)


def test_pod_waits_for_its_missing_claim_then_follows_the_volume(cluster: cluster_mod.Cluster,
                                                                  ns: str) -> None:
    apply(cluster, ns, pod_yaml("app", "data"))
    message = wait_unschedulable(cluster, ns, "app")
    assert message.startswith('0/3 nodes are available: persistentvolumeclaim "data" not found.'), \
        message
    apply(cluster, ns, pv_yaml(f"{ns}-pv", "hollow-2"))
    apply(cluster, ns, claim_yaml("data", volume=f"{ns}-pv"))
    wait_on_node(cluster, ns, "app", "hollow-2")


def test_pods_of_a_bound_claim_only_fit_the_volumes_node(cluster: cluster_mod.Cluster,
                                                         ns: str) -> None:
    apply(cluster, ns, pv_yaml(f"{ns}-pv", "hollow-1"))
    apply(cluster, ns, claim_yaml("data", volume=f"{ns}-pv"))
    for i in range(3):
        apply(cluster, ns, pod_yaml(f"app-{i}", "data"))
    for i in range(3):
        wait_on_node(cluster, ns, f"app-{i}", "hollow-1")
    apply(cluster, ns, pod_yaml("elsewhere", "data", node="hollow-0"))
    message = wait_unschedulable(cluster, ns, "elsewhere")
    assert message.startswith(
        "0/3 nodes are available: 1 node(s) had volume node affinity conflict, "
        "2 node(s) didn't match Pod's node affinity/selector."), message
    described = cluster.kubectl("describe", "pod", "elsewhere", "-n", ns).stdout
    assert "volume node affinity conflict" in described


def test_unbound_immediate_claim_keeps_the_pod_pending(cluster: cluster_mod.Cluster,
                                                       ns: str) -> None:
    apply(cluster, ns, claim_yaml("data", selector=f"match-{ns}"))
    apply(cluster, ns, pod_yaml("app", "data"))
    message = wait_unschedulable(cluster, ns, "app")
    assert message.startswith(
        "0/3 nodes are available: pod has unbound immediate PersistentVolumeClaims."), message
    pod = cluster.kubectl_json("get", "pod", "app", "-n", ns)
    assert pod["status"]["phase"] == "Pending" and not pod["spec"].get("nodeName")


def class_yaml(name: str, provisioner: str) -> str:
    return f"""apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata:
  name: {name}
provisioner: {provisioner}
reclaimPolicy: Delete
volumeBindingMode: WaitForFirstConsumer
"""


def test_local_volumes_of_a_class_without_provisioner_are_bound_where_the_pod_goes(
        cluster: cluster_mod.Cluster, ns: str) -> None:
    cls = f"manual-{ns}"
    apply(cluster, ns, class_yaml(cls, "kubernetes.io/no-provisioner"))
    apply(cluster, ns, pv_yaml(f"{ns}-on-1", "hollow-1", cls) + "---\n" + pv_yaml(f"{ns}-on-2", "hollow-2", cls))
    apply(cluster, ns, claim_yaml("data", cls=cls) + "---\n" + claim_yaml("more", cls=cls))
    apply(cluster, ns, pod_yaml("app", "data", node="hollow-2"))
    wait_on_node(cluster, ns, "app", "hollow-2")
    cluster.kubectl("wait", "-n", ns, "--for=jsonpath={.status.phase}=Bound", "pvc/data",
                    "--timeout=30s")
    assert cluster.kubectl_json("get", "pvc", "data", "-n", ns)["spec"]["volumeName"] == f"{ns}-on-2"
    apply(cluster, ns, pod_yaml("other", "more", node="hollow-2"))
    message = wait_unschedulable(cluster, ns, "other")
    assert message.startswith(
        "0/3 nodes are available: 1 node(s) didn't find available persistent volumes to bind, "
        "2 node(s) didn't match Pod's node affinity/selector."), message


def test_local_path_claim_needs_a_node_offering_local_path(cluster: cluster_mod.Cluster,
                                                          ns: str) -> None:
    cls = f"lp-{ns}"
    apply(cluster, ns, class_yaml(cls, "kubelite.io/local-path"))
    apply(cluster, ns, claim_yaml("data", cls=cls))
    apply(cluster, ns, pod_yaml("app", "data"))
    message = wait_unschedulable(cluster, ns, "app")
    assert message.startswith(
        "0/3 nodes are available: 3 node(s) did not offer local-path storage "
        f"(no {LOCAL_PATH_ROOT} annotation)."), message
    cluster.kubectl("annotate", "node", "hollow-0", f"{LOCAL_PATH_ROOT}=/var/lib/kubelite/storage")
    try:
        wait_on_node(cluster, ns, "app", "hollow-0")
    finally:
        cluster.kubectl("annotate", "node", "hollow-0", f"{LOCAL_PATH_ROOT}-")
