"""Import a `docker save` archive or an OCI image layout tar into the store.

Everything is read, verified and unpacked in a staging area first; a corrupt or truncated
archive raises ArchiveError and leaves the store exactly as it was.
"""

from __future__ import annotations

import gzip
import json
import logging
import posixpath
import shutil
import tarfile
from typing import Any

from kubelite.agent.images import manifests, reference, store, unpack

log = logging.getLogger(__name__)


class ArchiveError(ValueError):
    """The file is not a readable image archive; nothing was imported."""


def import_archive(images: store.Store, path: str) -> list[store.Image]:
    """Import every image in the archive at `path`; return the stored images."""
    try:
        with tarfile.open(path, "r:*") as tar:
            members = {posixpath.normpath(m.name): m for m in tar.getmembers()}
            with images.staging() as stage:
                reader = _Reader(tar, members, stage)
                if "index.json" in members:
                    reader.oci_layout()
                elif "manifest.json" in members:
                    reader.docker_save()
                else:
                    raise ArchiveError(f"{path}: neither an OCI layout nor a docker save archive")
                if not stage.images:
                    raise ArchiveError(f"{path}: the archive names no image")
                done = images.commit(stage)
    except (tarfile.TarError, EOFError, gzip.BadGzipFile, unpack.LayerError, store.DigestMismatch,
            manifests.ManifestError, KeyError, json.JSONDecodeError, reference.InvalidReference) as e:
        raise ArchiveError(f"cannot import {path}: {type(e).__name__}: {e}") from e
    log.info("imported archive=%s images=%s", path, [i.name for i in done])
    return done


class _Reader:
    def __init__(self, tar: tarfile.TarFile, members: dict[str, tarfile.TarInfo],
                 stage: store.Staging) -> None:
        self.tar = tar
        self.members = members
        self.stage = stage

    def read(self, name: str) -> bytes:
        f = self.tar.extractfile(self.members[posixpath.normpath(name)])
        if f is None:
            raise ArchiveError(f"{name} is not a regular file in the archive")
        return f.read()

    def copy_blob(self, name: str, digest: str | None) -> str:
        """Stage the member `name` as a blob; check `digest` when given; return the digest."""
        path = self.stage.new_blob_file()
        src = self.tar.extractfile(self.members[posixpath.normpath(name)])
        if src is None:
            raise ArchiveError(f"{name} is not a regular file in the archive")
        with open(path, "wb") as out:
            shutil.copyfileobj(src, out, 1 << 20)
        actual = store.sha256_file(path)
        self.stage.add_blob_file(path, digest or actual)
        return actual

    def oci_layout(self) -> None:
        index = json.loads(self.read("index.json"))
        for desc in index.get("manifests", []):
            name = _oci_name(desc)
            digest = desc["digest"]
            doc = json.loads(self._oci_blob(digest))
            if manifests.media_type(doc, desc.get("mediaType", "")) in manifests.INDEXES:
                digest = manifests.choose_platform(doc)
                doc = json.loads(self._oci_blob(digest))
            self._add(doc, digest, name)

    def _oci_blob(self, digest: str) -> bytes:
        data = self.read("blobs/" + digest.replace(":", "/"))
        self.stage.add_blob_bytes(data, digest)
        return data

    def _add(self, doc: dict[str, Any], digest: str, name: str) -> None:
        config = json.loads(self._oci_blob(doc["config"]["digest"]))
        diff_ids = manifests.check_image(doc, config)
        for layer, diff_id in zip(doc["layers"], diff_ids):
            if self.stage.blob_path(layer["digest"]) is None:
                self.copy_blob("blobs/" + layer["digest"].replace(":", "/"), layer["digest"])
            self.stage.unpack_layer(layer["digest"], diff_id)
        size = sum(int(layer.get("size", 0)) for layer in doc["layers"])
        self.stage.add_image(reference.parse(name).name, digest, doc["config"]["digest"], diff_ids, size)

    def docker_save(self) -> None:
        for entry in json.loads(self.read("manifest.json")):
            raw_config = self.read(entry["Config"])
            config_digest = self.stage.add_blob_bytes(raw_config)
            diff_ids = list(json.loads(raw_config)["rootfs"]["diff_ids"])
            layers: list[dict[str, Any]] = []
            for member, diff_id in zip(entry["Layers"], diff_ids, strict=True):
                digest = self.copy_blob(member, None)
                self.stage.unpack_layer(digest, diff_id)
                size = self.members[posixpath.normpath(member)].size
                layers.append({"mediaType": _layer_type(digest, diff_id), "digest": digest, "size": size})
            doc: dict[str, Any] = {"schemaVersion": 2, "mediaType": manifests.OCI_MANIFEST,
                   "config": {"mediaType": manifests.OCI_CONFIG, "digest": config_digest,
                              "size": len(raw_config)},
                   "layers": layers}
            digest = self.stage.add_blob_bytes(json.dumps(doc, separators=(",", ":")).encode())
            size = sum(int(layer["size"]) for layer in layers)
            for tag in entry.get("RepoTags") or []:
                self.stage.add_image(reference.parse(tag).name, digest, config_digest, diff_ids, size)


def _layer_type(digest: str, diff_id: str) -> str:
    return manifests.OCI_LAYER if digest == diff_id else manifests.OCI_LAYER + "+gzip"


def _oci_name(desc: dict[str, Any]) -> str:
    notes = desc.get("annotations") or {}
    name = notes.get("io.containerd.image.name") or notes.get("org.opencontainers.image.ref.name")
    if not name:
        raise ArchiveError("OCI layout entry has no image name annotation")
    return str(name)
