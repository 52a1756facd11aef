"""Reclaim of provisioned local-path volumes: which PVs, and never data outside the root."""

from __future__ import annotations

import os
from typing import Any

import pytest

from kubelite.agent.kubelet import localpath, volumes

Obj = dict[str, Any]


def pv(*, phase: str = "Released", policy: str = "Delete", node: str = "n1",
       provisioned: bool = True) -> Obj:
    ann = {volumes.PROVISIONED_BY: volumes.LOCAL_PATH_PROVISIONER} if provisioned else {}
    return {"metadata": {"name": "pvc-1", "annotations": ann},
            "spec": {"persistentVolumeReclaimPolicy": policy, "hostPath": {"path": "/x"},
                     "nodeAffinity": {"required": {"nodeSelectorTerms": [{"matchExpressions": [
                         {"key": "kubernetes.io/hostname", "operator": "In",
                          "values": [node]}]}]}}},
            "status": {"phase": phase}}


@pytest.mark.parametrize(("obj", "expected"), [
    (pv(), True),
    (pv(phase="Bound"), False),
    (pv(policy="Retain"), False),
    (pv(node="n2"), False),
    (pv(provisioned=False), False),
], ids=["released-delete", "bound", "retain", "other-node", "not-provisioned"])
def test_reclaimable(obj: Obj, expected: bool) -> None:
    assert localpath.reclaimable(obj, "n1") is expected


def test_root_dir_is_absolute_storage_under_data_dir() -> None:
    assert localpath.root_dir("rel/agent") == os.path.join(os.getcwd(), "rel/agent", "storage")


def test_remove_data_inside_root(tmp_path) -> None:  # type: ignore[no-untyped-def]
    root = tmp_path / "storage"
    vol = root / "pvc-1_ns_data"
    (vol / "sub").mkdir(parents=True)
    (vol / "sub" / "f").write_text("x")
    assert localpath.remove_data(str(root), str(vol))
    assert not vol.exists() and root.is_dir()
    assert localpath.remove_data(str(root), str(vol))   # already gone: still done


@pytest.mark.parametrize("where", ["outside", "root-itself", "dotdot", "symlink-out"])
def test_remove_data_never_leaves_the_root(tmp_path, where: str) -> None:  # type: ignore[no-untyped-def]
    root, outside = tmp_path / "storage", tmp_path / "precious"
    root.mkdir()
    outside.mkdir()
    (outside / "f").write_text("keep")
    path = {"outside": str(outside), "root-itself": str(root),
            "dotdot": str(root / ".." / "precious")}.get(where)
    if where == "symlink-out":
        (root / "link").symlink_to(outside)
        path = str(root / "link")
    assert path is not None
    assert not localpath.remove_data(str(root), path)
    assert (outside / "f").read_text() == "keep" and root.is_dir()
