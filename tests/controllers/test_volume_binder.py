"""The binder's syncs against a recording in-memory client: what it writes for binding,
waiting, losing and reclaiming, and that a settled pair is left alone."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from kubelite.api import claims
from kubelite.client import factory
from kubelite.controllers.volume import binder, binding
from tests.controllers import deployment_fakes as fakes

Obj = dict[str, Any]
PV, PVC, SC = "persistentvolumes", "persistentvolumeclaims", "storageclasses"


class ListingClient(fakes.FakeClient):
    """The fake store, listable: informers relist from it as after a watch gap."""

    async def list(self, rt: Any, namespace: str = "", **_: Any) -> Obj:
        return {"metadata": {"resourceVersion": ""},
                "items": copy.deepcopy(self.objects(rt.plural))}


class Harness:
    """A binder over a fake store; `settle` feeds informers and runs queued keys dry."""

    def __init__(self) -> None:
        self.client = ListingClient()
        self.binder = binder.PersistentVolumeBinder(self.client,
                                                    factory.InformerFactory(self.client))
        self.recorder = fakes.FakeRecorder()
        self.binder.recorder = self.recorder  # type: ignore[assignment]
        self.rt = {PV: self.binder.pv_rt, PVC: self.binder.pvc_rt,
                   SC: self.client.resource("storage.k8s.io/v1", "StorageClass")}
        self.informers = {PV: self.binder.pv_informer, PVC: self.binder.pvc_informer,
                          SC: self.binder.sc_informer}

    async def refresh(self) -> None:
        for inf in self.informers.values():
            await inf._relist()

    async def settle(self) -> None:
        q = self.binder.queue
        for _ in range(200):
            await self.refresh()
            if not len(q):
                return
            key = await q.get()
            try:
                await self.binder.sync(key)
            finally:
                q.done(key)
        raise AssertionError("binder did not settle")

    async def create(self, plural: str, obj: Obj) -> Obj:
        ns = obj["metadata"].get("namespace", "")
        return await self.client.create(self.rt[plural], obj, ns)

    def get(self, plural: str, name: str) -> Obj:
        return self.client.store[(plural, "default" if plural == PVC else "", name)]

    async def delete(self, plural: str, name: str) -> None:
        await self.client.delete(self.rt[plural], name, "default" if plural == PVC else "")

    def writes(self) -> list[tuple[str, str, str]]:
        return [c for c in self.client.calls if c[0] != "create"]


def pv(name: str, size: str = "1Gi", *, cls: str = "", policy: str = "Retain",
       ref: Obj | None = None, notes: dict[str, str] | None = None) -> Obj:
    """A volume as the server stores it after defaulting (phase Pending)."""
    spec: Obj = {"capacity": {"storage": size}, "accessModes": ["ReadWriteOnce"],
                 "storageClassName": cls, "persistentVolumeReclaimPolicy": policy,
                 "volumeMode": "Filesystem", "hostPath": {"path": f"/srv/{name}"}}
    if ref is not None:
        spec["claimRef"] = ref
    return {"apiVersion": "v1", "kind": "PersistentVolume",
            "metadata": {"name": name, "annotations": dict(notes or {})}, "spec": spec,
            "status": {"phase": "Pending"}}


def pvc(name: str = "data", size: str = "1Gi", *, cls: str = "", volume: str = "") -> Obj:
    spec: Obj = {"accessModes": ["ReadWriteOnce"], "storageClassName": cls,
                 "resources": {"requests": {"storage": size}}, "volumeMode": "Filesystem"}
    if volume:
        spec["volumeName"] = volume
    return {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
            "metadata": {"name": name, "namespace": "default"}, "spec": spec,
            "status": {"phase": "Pending"}}


def phase(obj: Obj) -> str:
    return str(obj["status"]["phase"])


@pytest.fixture
def h() -> Harness:
    return Harness()


async def test_free_volume_becomes_available(h: Harness) -> None:
    await h.create(PV, pv("v1"))
    await h.settle()
    assert phase(h.get(PV, "v1")) == "Available"
    assert h.get(PV, "v1")["status"]["lastPhaseTransitionTime"]


async def test_binds_pair_and_resync_writes_nothing(h: Harness) -> None:
    await h.create(PV, pv("v1", "2Gi"))
    await h.settle()
    claim = await h.create(PVC, pvc(size="1Gi"))
    await h.settle()
    vol, got = h.get(PV, "v1"), h.get(PVC, "data")
    assert (phase(vol), phase(got)) == ("Bound", "Bound")
    assert vol["spec"]["claimRef"]["uid"] == claim["metadata"]["uid"]
    assert vol["metadata"]["annotations"][binding.BOUND_BY_CONTROLLER] == "yes"
    assert got["spec"]["volumeName"] == "v1"
    assert got["status"] == {"phase": "Bound", "accessModes": ["ReadWriteOnce"],
                             "capacity": {"storage": "2Gi"}}
    assert got["metadata"]["annotations"] == {binding.BIND_COMPLETED: "yes",
                                              binding.BOUND_BY_CONTROLLER: "yes"}
    before = list(h.client.calls)
    h.binder.queue.add("v1")
    h.binder.queue.add("default/data")
    await h.settle()
    assert h.client.calls == before


async def test_a_sync_on_a_stale_cache_does_not_bind_twice(h: Harness) -> None:
    await h.create(PV, pv("v1"))
    await h.create(PV, pv("v2"))
    await h.settle()
    await h.create(PVC, pvc())
    await h.refresh()
    await h.binder.sync("default/data")
    writes = len(h.writes())
    await h.binder.sync("default/data")          # the informers have not caught up
    assert len(h.writes()) == writes
    await h.settle()
    bound = [v["metadata"]["name"] for v in h.client.objects(PV) if phase(v) == "Bound"]
    assert bound == [h.get(PVC, "data")["spec"]["volumeName"]]


async def test_no_volume_no_class_tells_once_then_binds_a_new_volume(h: Harness) -> None:
    await h.create(PVC, pvc())
    await h.settle()
    await h.create(PV, pv("small", "1Mi"))       # a volume event re-syncs the claim
    await h.settle()
    assert h.recorder.events == [("Normal", "FailedBinding", binder.NO_CLASS)]
    assert phase(h.get(PVC, "data")) == "Pending"
    await h.create(PV, pv("v1"))
    await h.settle()
    assert h.get(PVC, "data")["spec"]["volumeName"] == "v1"


async def test_class_mismatch_waits_and_says_the_class_is_missing(h: Harness) -> None:
    await h.create(PV, pv("v1", cls="slow"))
    await h.create(PVC, pvc(cls="fast"))
    await h.settle()
    assert (phase(h.get(PV, "v1")), phase(h.get(PVC, "data"))) == ("Available", "Pending")
    assert h.recorder.events == [
        ("Warning", "ProvisioningFailed", 'storageclass.storage.k8s.io "fast" not found')]


async def test_wait_for_first_consumer_binds_only_a_volume_naming_the_claim(h: Harness) -> None:
    await h.create(SC, {"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
                        "metadata": {"name": "local"}, "provisioner": "kubelite.io/local-path",
                        "volumeBindingMode": "WaitForFirstConsumer"})
    await h.create(PV, pv("free", cls="local"))
    claim = await h.create(PVC, pvc(cls="local"))
    await h.settle()
    assert phase(h.get(PVC, "data")) == "Pending"
    assert h.recorder.events == [("Normal", "WaitForFirstConsumer", binder.WAITING)]
    ref = claims.claim_ref(claim)
    await h.create(PV, pv("pvc-x", cls="local", policy="Delete", ref=ref,
                          notes={binding.PROVISIONED_BY: "kubelite.io/local-path"}))
    await h.settle()
    made, got = h.get(PV, "pvc-x"), h.get(PVC, "data")
    assert (phase(made), phase(got), got["spec"]["volumeName"]) == ("Bound", "Bound", "pvc-x")
    assert binding.BOUND_BY_CONTROLLER not in made["metadata"]["annotations"]
    assert phase(h.get(PV, "free")) == "Available"


async def test_user_prebound_volume_waits_for_its_claim(h: Harness) -> None:
    await h.create(PV, pv("v1", ref={"namespace": "default", "name": "mine"}))
    await h.create(PVC, pvc("other"))
    await h.settle()
    assert (phase(h.get(PV, "v1")), phase(h.get(PVC, "other"))) == ("Available", "Pending")
    await h.create(PVC, pvc("mine"))
    await h.settle()
    assert h.get(PVC, "mine")["spec"]["volumeName"] == "v1"
    assert h.get(PV, "v1")["spec"]["claimRef"]["uid"] == h.get(PVC, "mine")["metadata"]["uid"]


async def test_claim_naming_a_volume_bound_elsewhere_waits(h: Harness) -> None:
    await h.create(PV, pv("v1"))
    await h.create(PVC, pvc("first"))
    await h.settle()
    await h.create(PVC, pvc("second", volume="v1"))
    await h.settle()
    assert phase(h.get(PVC, "second")) == "Pending"
    assert h.recorder.events[-1] == ("Warning", "FailedBinding",
                                     "volume 'v1' already bound to a different claim.")


@pytest.mark.parametrize(("policy", "notes", "want"), [
    ("Retain", {}, "Released"),
    ("Delete", {}, None),
    ("Delete", {binding.PROVISIONED_BY: "kubelite.io/local-path"}, "Released"),
    ("Recycle", {}, "Failed"),
], ids=["retain", "delete", "provisioned-delete", "recycle"])
async def test_reclaim_after_the_claim_is_deleted(h: Harness, policy: str,
                                                  notes: dict[str, str], want: str | None
                                                  ) -> None:
    await h.create(PV, pv("v1", policy=policy, notes=notes))
    await h.create(PVC, pvc())
    await h.settle()
    assert phase(h.get(PV, "v1")) == "Bound"
    await h.delete(PVC, "data")
    await h.settle()
    got = h.client.store.get((PV, "", "v1"))
    assert (phase(got) if got else None) == want
    if want == "Failed":
        assert got is not None and got["status"]["message"] == "recycling is not supported"


async def test_claim_recreated_with_the_same_name_leaves_volume_released(h: Harness) -> None:
    await h.create(PV, pv("v1"))
    await h.create(PVC, pvc())
    await h.settle()
    await h.delete(PVC, "data")
    await h.create(PVC, pvc())
    await h.settle()
    assert (phase(h.get(PV, "v1")), phase(h.get(PVC, "data"))) == ("Released", "Pending")


async def test_claim_is_lost_when_its_volume_is_deleted(h: Harness) -> None:
    await h.create(PV, pv("v1"))
    await h.create(PVC, pvc())
    await h.settle()
    await h.delete(PV, "v1")
    await h.settle()
    await h.settle()
    assert phase(h.get(PVC, "data")) == "Lost"
    assert h.recorder.events == [("Warning", "ClaimLost", (
        "Bound claim has lost its PersistentVolume. Data on the volume is lost!"))]
