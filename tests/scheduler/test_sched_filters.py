"""Each filter plugin alone: does the pod fit the node, and with which reason if not."""

from __future__ import annotations

from typing import Any

import pytest
from tests.scheduler import sched_builders as b

from kubelite.scheduler import handle, nodeinfo, podinfo, protocol
from kubelite.scheduler.plugins import (
    inter_pod_affinity,
    node_affinity,
    node_name,
    node_ports,
    node_resources_fit,
    node_unschedulable,
    pod_topology_spread,
    taint_toleration,
)


def run_filter(module: Any, pod: dict[str, Any], node: dict[str, Any], *others: dict[str, Any],
               pods: tuple[dict[str, Any], ...] = ()) -> protocol.Status | None:
    """pre_filter then filter of one plugin on `node` (others and pods make up the cluster)."""
    cache = b.cluster(node, *others, pods=pods)
    plugin = module.new(None, handle.Handle(cache=cache))
    info, state = podinfo.PodInfo(pod), {}
    if hasattr(plugin, "pre_filter"):
        _, status = plugin.pre_filter(state, info, cache.node_list())
        if status is not None and status.code == protocol.Code.SKIP:
            return None
        if status is not None:
            return status
    target = cache.get(node["metadata"]["name"])
    assert target is not None
    return plugin.filter(state, info, target)


def reasons(status: protocol.Status | None) -> tuple[str, ...]:
    return () if status is None else status.reasons


@pytest.mark.parametrize(
    ("pod", "existing", "expected"),
    [
        (b.pod("p", cpu="1", memory="1Gi"), (), ()),
        (b.pod("p", cpu="5"), (), ("Insufficient cpu",)),
        (b.pod("p", memory="33Gi"), (), ("Insufficient memory",)),
        (b.pod("p", cpu="3"), (b.pod("e", cpu="1500m", node_name="n"),), ("Insufficient cpu",)),
        (b.pod("p", cpu="2500m"), (b.pod("e", cpu="1500m", node_name="n"),), ()),
        (b.pod("p", cpu="9", memory="40Gi"), (), ("Insufficient cpu", "Insufficient memory")),
        (b.pod("p"), (), ()),
        (b.pod("p", overhead={"cpu": "4100m"}), (), ("Insufficient cpu",)),
    ],
    ids=["fits", "cpu", "memory", "cpu-used-by-others", "exactly-fits", "cpu-and-memory", "best-effort", "overhead"],
)
def test_node_resources_fit(pod: dict[str, Any], existing: tuple[dict[str, Any], ...], expected: tuple[str, ...]) -> None:
    status = run_filter(node_resources_fit, pod, b.node("n"), pods=existing)
    assert reasons(status) == expected
    if expected:
        assert status is not None and status.code == protocol.Code.UNSCHEDULABLE


def test_too_many_pods_and_extended_resources() -> None:
    full = b.node("n", pods="1", extra={"example.com/gpu": "1"})
    assert reasons(run_filter(node_resources_fit, b.pod("p"), full, pods=(b.pod("e", node_name="n"),))) == (
        "Too many pods",
    )
    gpu_pod = b.pod("p")
    gpu_pod["spec"]["containers"][0]["resources"] = {"limits": {"example.com/gpu": "2"}}
    assert reasons(run_filter(node_resources_fit, gpu_pod, full)) == ("Insufficient example.com/gpu",)


@pytest.mark.parametrize(
    ("pod", "node", "expected"),
    [
        (b.pod("p", node_name="a"), b.node("a"), ()),
        (b.pod("p", node_name="a"), b.node("b"), ("node(s) didn't match the requested node name",)),
        (b.pod("p"), b.node("b"), ()),
    ],
    ids=["same", "other", "unset"],
)
def test_node_name(pod: dict[str, Any], node: dict[str, Any], expected: tuple[str, ...]) -> None:
    assert reasons(run_filter(node_name, pod, node)) == expected


UNSCHEDULABLE_TOLERATION = {"key": "node.kubernetes.io/unschedulable", "operator": "Exists", "effect": "NoSchedule"}


@pytest.mark.parametrize(
    ("pod", "cordoned", "expected"),
    [
        (b.pod("p"), False, ()),
        (b.pod("p"), True, ("node(s) were unschedulable",)),
        (b.pod("p", tolerations=[UNSCHEDULABLE_TOLERATION]), True, ()),
    ],
    ids=["schedulable", "cordoned", "tolerated"],
)
def test_node_unschedulable(pod: dict[str, Any], cordoned: bool, expected: tuple[str, ...]) -> None:
    assert reasons(run_filter(node_unschedulable, pod, b.node("n", unschedulable=cordoned), b.node("x"))) == expected


GPU_TAINT = {"key": "gpu", "value": "true", "effect": "NoSchedule"}


@pytest.mark.parametrize(
    ("taints", "tolerations", "expected"),
    [
        ([GPU_TAINT], [], ("node(s) had untolerated taint {gpu: true}",)),
        ([GPU_TAINT], [{"key": "gpu", "operator": "Equal", "value": "true", "effect": "NoSchedule"}], ()),
        ([GPU_TAINT], [{"key": "gpu", "value": "false"}], ("node(s) had untolerated taint {gpu: true}",)),
        ([GPU_TAINT], [{"key": "gpu", "operator": "Exists"}], ()),
        ([GPU_TAINT], [{"operator": "Exists"}], ()),
        ([GPU_TAINT], [{"key": "gpu", "operator": "Exists", "effect": "NoExecute"}],
         ("node(s) had untolerated taint {gpu: true}",)),
        ([{"key": "node.kubernetes.io/unreachable", "effect": "NoExecute"}], [],
         ("node(s) had untolerated taint {node.kubernetes.io/unreachable: }",)),
        ([{"key": "soft", "effect": "PreferNoSchedule"}], [], ()),
    ],
    ids=["untolerated", "equal", "wrong-value", "exists-key", "exists-all", "other-effect", "no-value", "prefer"],
)
def test_taint_toleration(taints: list[dict[str, Any]], tolerations: list[dict[str, Any]],
                          expected: tuple[str, ...]) -> None:
    status = run_filter(taint_toleration, b.pod("p", tolerations=tolerations), b.node("n", taints=taints))
    assert reasons(status) == expected
    if expected:
        assert status is not None and status.code == protocol.Code.UNSCHEDULABLE_AND_UNRESOLVABLE


def _required(*expressions: dict[str, Any], fields: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    term: dict[str, Any] = {"matchExpressions": list(expressions)}
    if fields:
        term["matchFields"] = fields
    return {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [term]}}}


AFFINITY_REASON = ("node(s) didn't match Pod's node affinity/selector",)


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ({"nodeSelector": {"disk": "ssd"}}, ()),
        ({"nodeSelector": {"disk": "hdd"}}, AFFINITY_REASON),
        ({"affinity": _required({"key": "zone", "operator": "In", "values": ["a", "b"]})}, ()),
        ({"affinity": _required({"key": "zone", "operator": "NotIn", "values": ["a"]})}, AFFINITY_REASON),
        ({"affinity": _required({"key": "gpu", "operator": "DoesNotExist"})}, ()),
        ({"affinity": _required({"key": "cores", "operator": "Gt", "values": ["8"]})}, ()),
        ({"affinity": _required({"key": "cores", "operator": "Lt", "values": ["8"]})}, AFFINITY_REASON),
        ({"affinity": _required(fields=[{"key": "metadata.name", "operator": "In", "values": ["n"]}])}, ()),
    ],
    ids=["selector", "selector-miss", "in", "notin", "doesnotexist", "gt", "lt", "field"],
)
def test_node_affinity(spec: dict[str, Any], expected: tuple[str, ...]) -> None:
    node = b.node("n", labels={"disk": "ssd", "zone": "a", "cores": "16"})
    assert reasons(run_filter(node_affinity, b.pod("p", **spec), node)) == expected


def _with_port(p: dict[str, Any], port: int, ip: str = "", protocol_name: str = "TCP") -> dict[str, Any]:
    entry: dict[str, Any] = {"containerPort": 80, "hostPort": port, "protocol": protocol_name}
    if ip:
        entry["hostIP"] = ip
    p["spec"]["containers"][0]["ports"] = [entry]
    return p


PORT_REASON = ("node(s) didn't have free ports for the requested pod ports",)


@pytest.mark.parametrize(
    ("wanted", "used", "expected"),
    [
        ((8080, "", "TCP"), (8080, "", "TCP"), PORT_REASON),
        ((8080, "", "TCP"), (8081, "", "TCP"), ()),
        ((8080, "", "UDP"), (8080, "", "TCP"), ()),
        ((8080, "10.0.0.1", "TCP"), (8080, "10.0.0.2", "TCP"), ()),
        ((8080, "10.0.0.1", "TCP"), (8080, "", "TCP"), PORT_REASON),
        ((8080, "", "TCP"), (8080, "10.0.0.2", "TCP"), PORT_REASON),
    ],
    ids=["same", "other-port", "other-protocol", "other-ip", "any-ip-used", "any-ip-wanted"],
)
def test_node_ports(wanted: tuple[int, str, str], used: tuple[int, str, str], expected: tuple[str, ...]) -> None:
    existing = _with_port(b.pod("e", node_name="n"), used[0], used[1], used[2])
    status = run_filter(node_ports, _with_port(b.pod("p"), *wanted), b.node("n"), pods=(existing,))
    assert reasons(status) == expected


def _pod_affinity(kind: str, labels: dict[str, str], key: str = "kubernetes.io/hostname") -> dict[str, Any]:
    term = {"labelSelector": {"matchLabels": labels}, "topologyKey": key}
    return {kind: {"requiredDuringSchedulingIgnoredDuringExecution": [term]}}


@pytest.mark.parametrize(
    ("pod", "existing_on_n", "expected"),
    [
        (b.pod("p", affinity=_pod_affinity("podAffinity", {"app": "db"})), [b.pod("db", labels={"app": "db"})], ()),
        (b.pod("p", affinity=_pod_affinity("podAffinity", {"app": "db"})), [],
         ("node(s) didn't match pod affinity rules",)),
        (b.pod("p", labels={"app": "db"}, affinity=_pod_affinity("podAffinity", {"app": "db"})), [], ()),
        (b.pod("p", affinity=_pod_affinity("podAntiAffinity", {"app": "web"})), [b.pod("w", labels={"app": "web"})],
         ("node(s) didn't match pod anti-affinity rules",)),
        (b.pod("p", labels={"app": "web"}),
         [b.pod("w", labels={"app": "x"}, affinity=_pod_affinity("podAntiAffinity", {"app": "web"}))],
         ("node(s) didn't satisfy existing pods anti-affinity rules",)),
        (b.pod("p", affinity=_pod_affinity("podAntiAffinity", {"app": "web"}, "zone")),
         [b.pod("w", labels={"app": "web"}, namespace="other")], ()),
    ],
    ids=["affinity-met", "affinity-unmet", "first-of-group", "anti-affinity", "existing-anti", "other-namespace"],
)
def test_inter_pod_affinity(pod: dict[str, Any], existing_on_n: list[dict[str, Any]], expected: tuple[str, ...]) -> None:
    placed = []
    for e in existing_on_n:
        e["spec"]["nodeName"] = "n"
        placed.append(e)
    # another node elsewhere holds a db pod in another zone, so "first of group" only applies without it
    status = run_filter(inter_pod_affinity, pod, b.node("n", labels={"zone": "a"}), b.node("m", labels={"zone": "b"}),
                        pods=tuple(placed))
    assert reasons(status) == expected


def _spread(key: str, max_skew: int = 1) -> dict[str, Any]:
    return {"topologySpreadConstraints": [{
        "maxSkew": max_skew, "topologyKey": key, "whenUnsatisfiable": "DoNotSchedule",
        "labelSelector": {"matchLabels": {"app": "web"}},
    }]}


def test_pod_topology_spread_skew_and_missing_label() -> None:
    web = {"app": "web"}
    existing = (b.pod("w1", labels=web, node_name="a"), b.pod("w2", labels=web, node_name="a"))
    a, c = b.node("a", labels={"zone": "z1"}), b.node("c", labels={"zone": "z2"})
    spread = b.pod("p", labels=web, **_spread("zone"))
    assert reasons(run_filter(pod_topology_spread, spread, a, c, pods=existing)) == (
        "node(s) didn't match pod topology spread constraints",
    )
    assert run_filter(pod_topology_spread, spread, c, a, pods=existing) is None
    assert run_filter(pod_topology_spread, b.pod("p", labels=web, **_spread("zone", 3)), a, c, pods=existing) is None
    unlabeled = b.node("u")
    assert reasons(run_filter(pod_topology_spread, spread, unlabeled, a, c, pods=existing)) == (
        "node(s) didn't match pod topology spread constraints (missing required label)",
    )


def test_node_info_accounts_requests_ports_and_pod_count() -> None:
    cache = nodeinfo.Cache()
    cache.add_node(b.node("n"))
    cache.add_pod(_with_port(b.pod("a", cpu="500m", memory="1Gi", node_name="n"), 80))
    cache.add_pod(b.pod("z", node_name="n"))
    info = cache.get("n")
    assert info is not None
    assert (info.requested.milli_cpu, info.requested.memory, len(info.pods)) == (500, 2**30, 2)
    assert (info.non_zero_cpu, info.non_zero_memory) == (600, 2**30 + 200 * 2**20)
    assert info.used_ports == {("TCP", 80): {"0.0.0.0"}}
    cache.remove_pod("uid-default-a")
    assert (info.requested.milli_cpu, info.used_ports, len(info.pods)) == (0, {}, 1)
