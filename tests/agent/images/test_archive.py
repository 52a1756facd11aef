"""Importing `docker save` archives and OCI layout tars; broken archives change nothing."""

from __future__ import annotations

import os

import pytest

from kubelite.agent.images import archive, store
from tests.agent.images import builder


def snapshot(images: store.Store) -> list[str]:
    out = []
    for sub in ("blobs", "layers", "images"):
        for dirpath, dirnames, filenames in os.walk(os.path.join(images.root, sub)):
            out += [os.path.join(dirpath, n) for n in filenames]
            if sub == "layers":
                out += [os.path.join(dirpath, n) for n in dirnames]
    return sorted(out)


@pytest.mark.parametrize("kind", ["docker-save", "oci-layout"])
def test_import_then_list_and_remove(tmp_path, images: store.Store, busybox_layer: bytes,  # type: ignore[no-untyped-def]
                                     kind: str) -> None:
    image = builder.Image([busybox_layer])
    path = str(tmp_path / "kubelite-image.tar")
    if kind == "docker-save":
        image.docker_save(path, "kubelite/app:v1")
    else:
        image.oci_layout(path, "docker.io/kubelite/app:v1")
    [got] = archive.import_archive(images, path)
    assert got.name == "docker.io/kubelite/app:v1"
    assert got.id == builder.sha(image.config())
    assert images.get("kubelite/app:v1") == got
    assert images.get(got.id[7:19]) == got
    assert os.path.isfile(os.path.join(images.layer_dirs(got)[0], "bin/busybox"))
    assert images.remove("kubelite/app:v1") == [got]
    assert snapshot(images) == []


@pytest.mark.parametrize("cut", [0.1, 0.9], ids=["in-first-members", "in-last-layer"])
def test_truncated_archive_is_refused_and_store_unchanged(tmp_path, images: store.Store,  # type: ignore[no-untyped-def]
                                                          busybox_layer: bytes, cut: float) -> None:
    builder.Image([builder.tar_bytes([("file", "a", "1")])]).docker_save(str(tmp_path / "ok.tar"), "x:1")
    archive.import_archive(images, str(tmp_path / "ok.tar"))
    before = snapshot(images)
    path = str(tmp_path / "kubelite-image.tar")
    builder.Image([busybox_layer]).docker_save(path, "kubelite/app:v1")
    with open(path, "rb") as f:
        data = f.read()
    with open(path, "wb") as f:
        f.write(data[: int(len(data) * cut)])
    with pytest.raises(archive.ArchiveError, match="cannot import"):
        archive.import_archive(images, path)
    assert snapshot(images) == before
    assert os.listdir(os.path.join(images.root, "tmp")) == []


def test_corrupt_layer_digest_is_refused(tmp_path, images: store.Store) -> None:  # type: ignore[no-untyped-def]
    image = builder.Image([builder.tar_bytes([("file", "a", "1")])])
    image.layers = [builder.tar_bytes([("file", "a", "2")])]
    cfg = image.config()
    image.config = lambda: cfg.replace(builder.sha(image.layers[0]).encode(), b"sha256:" + b"1" * 64)  # type: ignore[method-assign]
    image.docker_save(str(tmp_path / "bad.tar"), "x:1")
    with pytest.raises(archive.ArchiveError, match="unpacks to"):
        archive.import_archive(images, str(tmp_path / "bad.tar"))
    assert snapshot(images) == []


def test_not_an_archive(tmp_path, images: store.Store) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "junk").write_bytes(b"hello")
    with pytest.raises(archive.ArchiveError):
        archive.import_archive(images, str(tmp_path / "junk"))


def test_shared_layer_survives_removal_of_one_image(tmp_path, images: store.Store,  # type: ignore[no-untyped-def]
                                                    busybox_layer: bytes) -> None:
    base = builder.Image([busybox_layer])
    top = builder.Image([busybox_layer, builder.tar_bytes([("file", "etc/motd", "hi")])])
    base.docker_save(str(tmp_path / "a.tar"), "base:1")
    top.docker_save(str(tmp_path / "b.tar"), "top:1")
    [a] = archive.import_archive(images, str(tmp_path / "a.tar"))
    [b] = archive.import_archive(images, str(tmp_path / "b.tar"))
    images.remove("top:1")
    assert os.path.isdir(images.layer_dirs(a)[0])
    assert not os.path.exists(images.layer_dirs(b)[1])
    with pytest.raises(store.ImageNotFound):
        images.get("top:1")
