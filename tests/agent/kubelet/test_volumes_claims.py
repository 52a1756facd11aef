"""persistentVolumeClaim pod volumes: claim -> PersistentVolume -> host directory."""

from __future__ import annotations

import os
from typing import Any

import pytest

from kubelite.agent.kubelet import objects, volumes

Obj = dict[str, Any]
UID = "c1-uid"


class FakeObjects:
    """objects.Objects over in-memory claims and volumes."""

    def __init__(self, claims: list[Obj], pvs: list[Obj]) -> None:
        self.claims = {(c["metadata"]["namespace"], c["metadata"]["name"]): c for c in claims}
        self.pvs = {p["metadata"]["name"]: p for p in pvs}
        self.lookups = 0

    async def claim(self, namespace: str, name: str) -> Obj | None:
        self.lookups += 1
        return self.claims.get((namespace, name))

    async def volume(self, name: str) -> Obj | None:
        return self.pvs.get(name)


def claim(*, phase: str = "Bound", volume_name: str = "pv1", uid: str = UID) -> Obj:
    return {"metadata": {"name": "data", "namespace": "ns", "uid": uid},
            "spec": {"volumeName": volume_name} if volume_name else {},
            "status": {"phase": phase}}


def pv(source: Obj, *, uid: str = UID, annotations: Obj | None = None, **spec: Any) -> Obj:
    return {"metadata": {"name": "pv1", "annotations": annotations or {}},
            "spec": {**source, "claimRef": {"namespace": "ns", "name": "data", "uid": uid},
                     **spec}}


def pod(read_only: bool = False) -> Obj:
    vol: Obj = {"claimName": "data"}
    if read_only:
        vol["readOnly"] = True
    return {"metadata": {"name": "p", "namespace": "ns", "uid": "pod-uid"},
            "spec": {"volumes": [{"name": "vol", "persistentVolumeClaim": vol}],
                     "containers": [{"name": "a", "volumeMounts": [
                         {"name": "vol", "mountPath": "/data"}]}]}}


async def setup(fake: FakeObjects, pod_obj: Obj, tmp_path: Any) -> volumes.Paths:
    return await volumes.setup(fake, pod_obj, str(tmp_path / "pod"))  # type: ignore[arg-type]


async def test_bound_claim_resolves_to_the_hostpath_volume(tmp_path) -> None:  # type: ignore[no-untyped-def]
    target = tmp_path / "pvdir"
    fake = FakeObjects([claim()], [pv({"hostPath": {"path": str(target),
                                                     "type": "DirectoryOrCreate"}})])
    paths = await setup(fake, pod(), tmp_path)
    assert paths == {"vol": str(target)}
    assert target.is_dir() and (target.stat().st_mode & 0o777) == 0o755
    mount, = volumes.mounts(pod()["spec"]["containers"][0], paths)
    assert (mount.host_path, mount.container_path, mount.readonly) == (str(target), "/data", False)


async def test_provisioned_directory_is_world_writable(tmp_path) -> None:  # type: ignore[no-untyped-def]
    target = tmp_path / "root" / "pvc-x"
    fake = FakeObjects([claim()], [pv(
        {"hostPath": {"path": str(target), "type": "DirectoryOrCreate"}},
        annotations={volumes.PROVISIONED_BY: volumes.LOCAL_PATH_PROVISIONER})])
    await setup(fake, pod(), tmp_path)
    assert (target.stat().st_mode & 0o777) == 0o777


async def test_local_volume_and_read_only_claim(tmp_path) -> None:  # type: ignore[no-untyped-def]
    fake = FakeObjects([claim()], [pv({"local": {"path": str(tmp_path)}})])
    paths = await setup(fake, pod(read_only=True), tmp_path)
    assert paths["vol"] == str(tmp_path)
    mount, = volumes.mounts(pod()["spec"]["containers"][0], paths)
    assert mount.readonly


async def test_resolved_claim_is_remembered(tmp_path) -> None:  # type: ignore[no-untyped-def]
    fake = FakeObjects([claim()], [pv({"local": {"path": str(tmp_path)}})])
    await setup(fake, pod(), tmp_path)
    fake.claims.clear()   # a running pod keeps its volume when the claim goes away
    assert (await setup(fake, pod(), tmp_path))["vol"] == str(tmp_path)
    assert fake.lookups == 1


@pytest.mark.parametrize(("claims", "pvs", "expected"), [
    ([], [], ('error processing PVC ns/data: failed to fetch PVC from API server: '
              'persistentvolumeclaims "data" not found')),
    ([claim(phase="Pending", volume_name="")], [], "error processing PVC ns/data: PVC is not bound"),
    ([claim(volume_name="")], [], "PVC has empty pvc.Spec.VolumeName"),
    ([claim()], [], 'failed to fetch PV pv1 from API server: persistentvolumes "pv1" not found'),
    ([claim()], [pv({"local": {"path": "/"}}, uid="other")],
     "its pv.Spec.ClaimRef.UID other does not point to claim.UID c1-uid"),
], ids=["missing-claim", "unbound", "no-volume-name", "missing-pv", "pv-bound-elsewhere"])
async def test_unresolvable_claim_fails_to_process(tmp_path, claims: list[Obj], pvs: list[Obj],  # type: ignore[no-untyped-def]
                                                   expected: str) -> None:
    with pytest.raises(objects.Missing) as e:
        await setup(FakeObjects(claims, pvs), pod(), tmp_path)
    assert str(e.value).startswith("Unable to attach or mount volumes: unmounted volumes=[vol], "
                                   "unattached volumes=[], failed to process volumes=[vol]: ")
    assert expected in str(e.value)
    assert not os.path.lexists(volumes.volume_dir(str(tmp_path / "pod"), "vol"))


@pytest.mark.parametrize(("source", "expected"), [
    ({"nfs": {"server": "x", "path": "/"}}, "unsupported volume source nfs"),
    ({"local": {"path": "/nonexistent/kubelite"}}, "is not a directory"),
    ({"hostPath": {"path": "/nonexistent/kubelite", "type": "Directory"}},
     "hostPath type check failed"),
], ids=["nfs", "local-missing", "hostpath-type"])
async def test_unusable_volume_fails_setup(tmp_path, source: Obj, expected: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(objects.Missing) as e:
        await setup(FakeObjects([claim()], [pv(source)]), pod(), tmp_path)
    assert str(e.value).startswith('MountVolume.SetUp failed for volume "vol" : ')
    assert expected in str(e.value)


def ephemeral_pod() -> Obj:
    return {"metadata": {"name": "p", "namespace": "ns", "uid": "pod-uid"},
            "spec": {"volumes": [{"name": "scratch", "ephemeral": {"volumeClaimTemplate": {
                "spec": {}}}}], "containers": [{"name": "a"}]}}


def owned_claim(owner_uid: str) -> Obj:
    c = claim()
    c["metadata"].update(name="p-scratch", ownerReferences=[
        {"kind": "Pod", "name": "p", "uid": owner_uid, "controller": True}])
    return c


async def test_an_ephemeral_volume_is_the_claim_its_pod_owns(tmp_path) -> None:  # type: ignore[no-untyped-def]
    target = tmp_path / "pvdir"
    volume = pv({"hostPath": {"path": str(target), "type": "DirectoryOrCreate"}})
    volume["spec"]["claimRef"]["name"] = "p-scratch"
    paths = await setup(FakeObjects([owned_claim("pod-uid")], [volume]), ephemeral_pod(),
                        tmp_path)
    assert paths == {"scratch": str(target)}


async def test_an_ephemeral_volume_refuses_a_claim_of_someone_else(tmp_path) -> None:  # type: ignore[no-untyped-def]
    volume = pv({"hostPath": {"path": str(tmp_path / "pvdir"), "type": "DirectoryOrCreate"}})
    with pytest.raises(objects.Missing, match=r"PVC ns/p-scratch was not created for pod ns/p "
                                              r"\(pod is not owner\)"):
        await setup(FakeObjects([owned_claim("other-uid")], [volume]), ephemeral_pod(),
                    tmp_path)
