"""VolumeBinding: which nodes a pod using PersistentVolumeClaims fits, and the reasons why not."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from kubelite.api import claims, errors
from kubelite.client import factory
from kubelite.scheduler import fiterror, handle, podinfo, protocol, scheduler
from kubelite.scheduler.plugins import volume_binding
from tests.scheduler import sched_builders as b
from tests.scheduler import test_wiring as wiring

Obj = dict[str, Any]
UNRESOLVABLE = protocol.Code.UNSCHEDULABLE_AND_UNRESOLVABLE


def claim(name: str, *, volume: str = "", cls: str | None = None, phase: str = "Pending",
          annotations: dict[str, str] | None = None, deleting: bool = False) -> Obj:
    spec: Obj = {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}
    if volume:
        spec["volumeName"] = volume
    if cls is not None:
        spec["storageClassName"] = cls
    meta: Obj = {"name": name, "namespace": "default", "uid": f"uid-{name}",
                 "annotations": annotations or {}}
    if deleting:
        meta["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    return {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": meta, "spec": spec,
            "status": {"phase": "Bound" if volume and phase == "Pending" else phase}}


def pv(name: str, *hosts: str, cls: str = "") -> Obj:
    spec: Obj = {"capacity": {"storage": "1Gi"}, "hostPath": {"path": f"/data/{name}"},
                 "accessModes": ["ReadWriteOnce"], "storageClassName": cls}
    if hosts:
        expr = {"key": "kubernetes.io/hostname", "operator": "In", "values": list(hosts)}
        spec["nodeAffinity"] = {"required": {"nodeSelectorTerms": [{"matchExpressions": [expr]}]}}
    return {"apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": name, "resourceVersion": "5"},
            "spec": spec, "status": {"phase": "Available"}}


def storage_class(name: str, mode: str, provisioner: str = volume_binding.LOCAL_PATH_PROVISIONER) -> Obj:
    return {"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass", "metadata": {"name": name},
            "provisioner": provisioner, "volumeBindingMode": mode}


CLASSES = {
    "local-path": storage_class("local-path", "WaitForFirstConsumer"),
    "fast": storage_class("fast", "Immediate", "example.com/fast"),
    "later": storage_class("later", "WaitForFirstConsumer", "example.com/later"),
    "manual": storage_class("manual", "WaitForFirstConsumer", volume_binding.NO_PROVISIONER),
}
VOLUMES = {v["metadata"]["name"]: v for v in (
    pv("pv-a", "a"), pv("pv-any"), pv("pv-b", "b"), pv("local-a", "a", cls="manual"))}


def using(*claims: str, name: str = "p") -> Obj:
    return b.pod(name, volumes=[{"name": f"v{i}", "persistentVolumeClaim": {"claimName": c}}
                                for i, c in enumerate(claims)])


def local_node(name: str) -> Obj:
    node = b.node(name)
    node["metadata"]["annotations"] = {volume_binding.LOCAL_PATH_ROOT: "/var/lib/kubelite/storage"}
    return node


def new_handle(claims: list[Obj], cache: Any = None) -> handle.Handle:
    by_name = {c["metadata"]["name"]: c for c in claims}
    return handle.Handle(
        cache=cache if cache is not None else b.cluster(),
        claim=lambda ns, name: by_name.get(name) if ns == "default" else None,
        volume=VOLUMES.get, storage_class=CLASSES.get, volumes=lambda: list(VOLUMES.values()))


def run(pod: Obj, claims: list[Obj], node: Obj) -> protocol.Status | None:
    """pre_filter then filter on one node; None when the pod fits it."""
    cache = b.cluster(node)
    plugin = volume_binding.new(None, new_handle(claims, cache))
    info, state = podinfo.PodInfo(pod), {}
    _, status = plugin.pre_filter(state, info, cache.node_list())
    if status is not None:
        return None if status.code == protocol.Code.SKIP else status
    target = cache.get(node["metadata"]["name"])
    assert target is not None
    return plugin.filter(state, info, target)


@pytest.mark.parametrize(
    ("pod", "claims", "node", "reasons"),
    [
        (b.pod("p"), [], b.node("a"), ()),
        (b.pod("p", volumes=[{"name": "t", "emptyDir": {}}]), [], b.node("a"), ()),
        (using("data"), [], b.node("a"), ('persistentvolumeclaim "data" not found',)),
        (using("data"), [claim("data", volume="pv-a", deleting=True)], b.node("a"),
         ('persistentvolumeclaim "data" is being deleted',)),
        (using("data"), [claim("data", volume="pv-gone", phase="Lost")], b.node("a"),
         ('persistentvolumeclaim "data" bound to non-existent persistentvolume "pv-gone"',)),
        (using("data"), [claim("data", volume="pv-a")], b.node("a"), ()),
        (using("data"), [claim("data", volume="pv-a")], b.node("b"),
         ("node(s) had volume node affinity conflict",)),
        (using("data"), [claim("data", volume="pv-any")], b.node("b"), ()),
        (using("data"), [claim("data", volume="pv-gone")], b.node("a"),
         ("pvc(s) bound to non-existent pv(s)",)),
        (using("x", "y"), [claim("x", volume="pv-b"), claim("y", volume="pv-gone")], b.node("a"),
         ("node(s) had volume node affinity conflict", "pvc(s) bound to non-existent pv(s)")),
        (using("data"), [claim("data", cls="")], b.node("a"),
         ("pod has unbound immediate PersistentVolumeClaims",)),
        (using("data"), [claim("data", cls="fast")], b.node("a"),
         ("pod has unbound immediate PersistentVolumeClaims",)),
        (using("data"), [claim("data", cls="no-such-class")], b.node("a"),
         ("pod has unbound immediate PersistentVolumeClaims",)),
        (using("data"), [claim("data", cls="later")], b.node("a"), ()),
        (using("data"), [claim("data", cls="local-path")], local_node("a"), ()),
        (using("data"), [claim("data", cls="local-path")], b.node("a"), (volume_binding.ERR_NO_LOCAL_PATH,)),
        (using("data"), [claim("data", cls="fast", annotations={
            claims.BETA_CLASS: "local-path"})], local_node("a"), ()),
        (using("data"), [claim("data", cls="later", annotations={volume_binding.SELECTED_NODE: "b"})],
         b.node("a"), ("node(s) didn't find available persistent volumes to bind",)),
        (using("data"), [claim("data", cls="later", annotations={volume_binding.SELECTED_NODE: "a"})],
         b.node("a"), ()),
        (using("data"), [claim("data", cls="manual")], b.node("a"), ()),
        (using("data"), [claim("data", cls="manual")], b.node("b"),
         ("node(s) didn't find available persistent volumes to bind",)),
        (using("x", "y"), [claim("x", cls="manual"), claim("y", cls="manual")], b.node("a"),
         ("node(s) didn't find available persistent volumes to bind",)),
    ],
    ids=["no-volumes", "no-claims", "missing", "deleting", "lost", "bound-here", "bound-elsewhere",
         "bound-anywhere", "pv-missing", "two-problems", "unbound-no-class", "unbound-immediate",
         "unbound-unknown-class", "wait-for-consumer", "local-path-node", "not-a-local-path-node",
         "beta-class-annotation", "selected-other-node", "selected-this-node", "static-volume-here",
         "static-volume-elsewhere", "one-static-volume-for-two-claims"],
)
def test_fits(pod: Obj, claims: list[Obj], node: Obj, reasons: tuple[str, ...]) -> None:
    status = run(pod, claims, node)
    assert (() if status is None else status.reasons) == reasons
    if reasons:
        assert status is not None and status.code == UNRESOLVABLE


def test_ephemeral_volume_waits_for_its_claim_and_checks_the_owner() -> None:
    pod = b.pod("web", volumes=[{"name": "scratch", "ephemeral": {"volumeClaimTemplate": {"spec": {}}}}])
    status = run(pod, [], b.node("a"))
    assert status is not None and status.reasons == (
        'waiting for ephemeral volume controller to create the persistentvolumeclaim "web-scratch"',)
    stranger = claim("web-scratch", volume="pv-a")
    status = run(pod, [stranger], b.node("a"))
    assert status is not None and status.reasons == (
        "PVC default/web-scratch was not created for pod default/web (pod is not owner)",)
    owned = claim("web-scratch", volume="pv-a")
    owned["metadata"]["ownerReferences"] = [{"uid": "uid-default-web", "controller": True}]
    assert run(pod, [owned], b.node("a")) is None


def test_the_default_profile_reports_why_no_node_fits() -> None:
    cache = b.cluster(b.node("a"), b.node("b"), b.node("c"))
    fw = b.new_framework(cache, **vars_of(new_handle([claim("data", volume="pv-a")], cache)))
    result = fw.schedule_one(using("data"))
    assert not isinstance(result, fiterror.FitError) and result.node_name == "a"
    missing = fw.schedule_one(using("other", name="q"))
    assert isinstance(missing, fiterror.FitError)
    assert missing.message().startswith('0/3 nodes are available: persistentvolumeclaim "other" not found.')
    assert missing.unschedulable_plugins == {volume_binding.NAME}


def test_nodes_elsewhere_are_counted_in_the_message() -> None:
    cache = b.cluster(b.node("b"), b.node("c"))
    fw = b.new_framework(cache, **vars_of(new_handle([claim("data", volume="pv-a")], cache)))
    result = fw.schedule_one(using("data"))
    assert isinstance(result, fiterror.FitError)
    assert result.message().startswith("0/2 nodes are available: 2 node(s) had volume node affinity conflict.")


def vars_of(h: handle.Handle) -> dict[str, Any]:
    return {"claim": h.claim, "volume": h.volume, "storage_class": h.storage_class, "volumes": h.volumes}


async def test_a_pod_waiting_for_its_claim_is_retried_when_the_claim_appears() -> None:
    fake = wiring.RecordingClient()
    sched = scheduler.Scheduler(fake, factory.InformerFactory(fake))
    wiring.feed(sched.nodes, wiring.node("a"), wiring.node("b"))
    wiring.feed(sched.volumes, pv("pv-b", "b"))
    waiting, bystander = using("data"), using("other", name="q")
    for obj in (waiting, bystander):
        obj.update(kind="Pod", apiVersion="v1")
        obj["metadata"]["resourceVersion"] = "1"
    wiring.feed(sched.pods, waiting, bystander)
    for _ in range(2):
        await wiring.cycle(sched)
    await fake.wait_for(lambda calls: len(fake.posted("/status")) == 2)
    assert sched.queue.pending()["unschedulable"] == 2
    sched.queue.initial_backoff = sched.queue.max_backoff = 0
    wiring.feed(sched.claims, claim("data", volume="pv-b"))
    assert sched.queue.pending()["unschedulable"] == 1  # only the pod using the claim moves
    await asyncio.wait_for(wiring.cycle(sched), 5)
    [binding] = fake.posted("/namespaces/default/pods/p/binding")
    assert binding["target"]["name"] == "b"


def test_a_node_gaining_a_local_path_root_is_a_node_update() -> None:
    plain, annotated = wiring.node("a"), local_node("a")
    annotated.update(kind="Node", apiVersion="v1")
    assert scheduler._node_shape(plain) != scheduler._node_shape(annotated)
    for event in (protocol.PVC_ADD, protocol.PV_UPDATE, protocol.STORAGE_CLASS_ADD, protocol.NODE_UPDATE):
        assert event in volume_binding.new(None, handle.Handle()).events_to_register()


async def test_a_static_volume_is_reserved_and_prebound_before_the_pod_is_bound() -> None:
    cache = b.cluster(b.node("a"), b.node("b"))
    writes: list[tuple[str, str]] = []

    async def bind_volume(pv: Obj, claim: Obj) -> None:
        writes.append(("pv", f"{pv['metadata']['name']}->{claim['metadata']['name']}"))

    async def bind(pod: Obj, node: str) -> None:
        writes.append(("pod", f"{pod['metadata']['name']}->{node}"))

    claims = [claim("first", cls="manual"), claim("second", cls="manual")]
    fw = b.new_framework(cache, **vars_of(new_handle(claims, cache)), bind_volume=bind_volume, bind=bind)
    result = fw.schedule_one(using("first"))
    assert not isinstance(result, fiterror.FitError) and result.node_name == "a"
    # the only volume is reserved for "first": "second" finds none, even before the write
    other = fw.schedule_one(using("second", name="q"))
    assert isinstance(other, fiterror.FitError)
    assert "2 node(s) didn't find available persistent volumes to bind" in other.message()
    assert await fw.bind(result) is None
    assert writes == [("pv", "local-a->first"), ("pod", "p->a")]


async def test_a_failed_prebind_frees_the_volume_and_does_not_bind_the_pod() -> None:
    cache = b.cluster(b.node("a"))
    bound: list[str] = []

    async def bind_volume(pv: Obj, claim: Obj) -> None:
        raise errors.Conflict("", "persistentvolumes", pv["metadata"]["name"], "the object has been modified")

    async def bind(pod: Obj, node: str) -> None:
        bound.append(pod["metadata"]["name"])

    claims = [claim("first", cls="manual"), claim("second", cls="manual")]
    fw = b.new_framework(cache, **vars_of(new_handle(claims, cache)), bind_volume=bind_volume, bind=bind)
    result = fw.schedule_one(using("first"))
    assert not isinstance(result, fiterror.FitError)
    status = await fw.bind(result)
    assert status is not None and status.code == protocol.Code.ERROR
    assert "binding volumes:" in status.message() and not bound
    retried = fw.schedule_one(using("second", name="q"))
    assert not isinstance(retried, fiterror.FitError) and retried.node_name == "a"
