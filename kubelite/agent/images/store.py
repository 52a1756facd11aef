"""The on-disk image store. Layout under the root:

    blobs/sha256/<hex>        manifests, configs and layer blobs, by digest
    layers/<hex of diff ID>/  unpacked layers, read-only lower dirs for overlayfs
    images/<hex>.json         one record per image name: name, manifest digest, config, layers
    tmp/                      staging for pulls and imports

Writers stage everything under tmp/ and `commit` moves it in under an exclusive file lock,
so a failed pull or import leaves the store as it was. Blobs and layers are shared between
images; `remove` deletes those no image refers to and no mounted overlay still uses.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from kubelite.agent.images import reference, unpack


class ImageNotFound(LookupError):
    """No image in the store matches the reference."""


class DigestMismatch(ValueError):
    """Content does not hash to the digest that names it."""


@dataclass(frozen=True)
class Image:
    """One named image: the manifest it came from, its config, its layers bottom to top."""

    name: str
    digest: str
    id: str
    diff_ids: tuple[str, ...]
    size: int
    created: float

    @property
    def repository(self) -> str:
        return reference.parse(self.name).repository

    @property
    def tag(self) -> str:
        return reference.parse(self.name).tag


def sha256_file(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return "sha256:" + h.hexdigest()


def _hex(digest: str) -> str:
    algo, _, value = digest.partition(":")
    if algo != "sha256" or len(value) != 64 or not all(c in "0123456789abcdef" for c in value):
        raise DigestMismatch(f"unsupported digest {digest!r}")
    return value


class Staging:
    """A scratch area for one pull or import; nothing here is visible until committed."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.dir = tempfile.mkdtemp(prefix="stage-", dir=os.path.join(store.root, "tmp"))
        self.blobs: dict[str, str] = {}
        self.layers: dict[str, str] = {}
        self.images: list[dict[str, Any]] = []

    def blob_path(self, digest: str) -> str | None:
        """Where the blob is, staged or already stored; None if neither."""
        if digest in self.blobs:
            return self.blobs[digest]
        path = self.store.blob_path(digest)
        return path if os.path.exists(path) else None

    def new_blob_file(self) -> str:
        fd, path = tempfile.mkstemp(prefix="blob-", dir=self.dir)
        os.close(fd)
        return path

    def add_blob_file(self, path: str, digest: str) -> str:
        """Adopt the file at `path` (inside this staging dir) as blob `digest`, after checking it."""
        actual = sha256_file(path)
        if actual != digest:
            raise DigestMismatch(f"blob {digest} has digest {actual}")
        self.blobs[digest] = path
        return path

    def add_blob_bytes(self, data: bytes, digest: str | None = None) -> str:
        """Stage `data`; check it against `digest` when given; return its digest."""
        actual = "sha256:" + hashlib.sha256(data).hexdigest()
        if digest is not None and actual != digest:
            raise DigestMismatch(f"blob {digest} has digest {actual}")
        if actual not in self.blobs:
            path = self.new_blob_file()
            with open(path, "wb") as f:
                f.write(data)
            self.blobs[actual] = path
        return actual

    def unpack_layer(self, blob_digest: str, diff_id: str) -> None:
        """Unpack a staged or stored layer blob unless the layer is already stored."""
        if diff_id in self.layers or os.path.isdir(self.store.layer_dir(diff_id)):
            return
        src = self.blob_path(blob_digest)
        if src is None:
            raise ImageNotFound(f"layer blob {blob_digest} is missing")
        dest = tempfile.mkdtemp(prefix="layer-", dir=self.dir)
        actual = unpack.unpack(src, dest)
        if actual != diff_id:
            raise DigestMismatch(f"layer {blob_digest} unpacks to {actual}, config says {diff_id}")
        self.layers[diff_id] = dest

    def add_image(self, name: str, manifest_digest: str, config_digest: str,
                  diff_ids: list[str], size: int) -> None:
        self.images.append({"name": name, "digest": manifest_digest, "id": config_digest,
                            "diffIDs": diff_ids, "size": size, "created": time.time()})


class Store:
    """The image store rooted at `root`; safe to share between processes (file lock)."""

    def __init__(self, root: str) -> None:
        self.root = os.path.abspath(root)
        for sub in ("blobs/sha256", "layers", "images", "tmp"):
            os.makedirs(os.path.join(self.root, sub), exist_ok=True)

    def blob_path(self, digest: str) -> str:
        return os.path.join(self.root, "blobs", "sha256", _hex(digest))

    def layer_dir(self, diff_id: str) -> str:
        return os.path.join(self.root, "layers", _hex(diff_id))

    def read_blob(self, digest: str) -> bytes:
        with open(self.blob_path(digest), "rb") as f:
            return f.read()

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        with open(os.path.join(self.root, "lock"), "a+") as f:
            fcntl.flock(f, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(f, fcntl.LOCK_UN)

    @contextlib.contextmanager
    def staging(self) -> Iterator[Staging]:
        """A staging area, removed afterwards whether or not it was committed."""
        stage = Staging(self)
        try:
            yield stage
        finally:
            shutil.rmtree(stage.dir, ignore_errors=True)

    def commit(self, stage: Staging) -> list[Image]:
        """Move staged blobs, layers and image records into the store, atomically per item."""
        with self.lock():
            for digest, path in stage.blobs.items():
                _move_new(path, self.blob_path(digest))
            for diff_id, path in stage.layers.items():
                os.chmod(path, 0o755)
                _move_new(path, self.layer_dir(diff_id))
            for record in stage.images:
                _write_json(self._record_path(record["name"]), record)
        return [_image(r) for r in stage.images]

    def list_images(self) -> list[Image]:
        out = []
        for entry in sorted(os.listdir(os.path.join(self.root, "images"))):
            if entry.endswith(".json"):
                with open(os.path.join(self.root, "images", entry), "rb") as f:
                    out.append(_image(json.load(f)))
        return sorted(out, key=lambda i: i.name)

    def get(self, ref: str) -> Image:
        """Find by name (normalised), by repo@digest, by manifest digest, or by ID (prefix)."""
        matches = self._match(ref)
        if not matches:
            raise ImageNotFound(f"image {ref!r} not found")
        return matches[0]

    def config(self, image: Image) -> dict[str, Any]:
        """The image's OCI config (Env, Entrypoint, Cmd, WorkingDir, User ...)."""
        data: dict[str, Any] = json.loads(self.read_blob(image.id))
        return data

    def layer_dirs(self, image: Image) -> list[str]:
        """The unpacked layers, bottom first."""
        return [self.layer_dir(d) for d in image.diff_ids]

    def remove(self, ref: str) -> list[Image]:
        """Remove every record matching `ref`, then collect unused blobs and layers."""
        with self.lock():
            matches = self._match(ref)
            if not matches:
                raise ImageNotFound(f"image {ref!r} not found")
            for image in matches:
                os.unlink(self._record_path(image.name))
            self._collect()
        return matches

    def _match(self, ref: str) -> list[Image]:
        images = self.list_images()
        by_id = [i for i in images if ref in (i.id, i.digest) or
                 (len(ref) >= 6 and i.id.removeprefix("sha256:").startswith(ref.removeprefix("sha256:")))]
        if by_id:
            return by_id
        try:
            parsed = reference.parse(ref)
        except reference.InvalidReference:
            return []
        if parsed.digest and not parsed.tag:
            return [i for i in images if i.digest == parsed.digest and
                    i.name.startswith(parsed.repository + ":")] or \
                [i for i in images if i.name == parsed.name]
        return [i for i in images if i.name == parsed.name]

    def _record_path(self, name: str) -> str:
        return os.path.join(self.root, "images", hashlib.sha256(name.encode()).hexdigest() + ".json")

    def _collect(self) -> None:
        keep_blobs: set[str] = set()
        keep_layers: set[str] = set()
        for image in self.list_images():
            keep_blobs.update({_hex(image.digest), _hex(image.id)})
            manifest = json.loads(self.read_blob(image.digest))
            keep_blobs.update(_hex(layer["digest"]) for layer in manifest.get("layers", []))
            keep_layers.update(_hex(d) for d in image.diff_ids)
        mounted = _mounted_lower_dirs()
        for name in os.listdir(os.path.join(self.root, "blobs", "sha256")):
            if name not in keep_blobs:
                os.unlink(os.path.join(self.root, "blobs", "sha256", name))
        for name in os.listdir(os.path.join(self.root, "layers")):
            path = os.path.join(self.root, "layers", name)
            if name not in keep_layers and path not in mounted:
                shutil.rmtree(path)


def _image(record: dict[str, Any]) -> Image:
    return Image(name=record["name"], digest=record["digest"], id=record["id"],
                 diff_ids=tuple(record["diffIDs"]), size=record["size"], created=record["created"])


def _move_new(src: str, dest: str) -> None:
    if os.path.exists(dest):
        return
    os.rename(src, dest)


def _write_json(path: str, data: dict[str, Any]) -> None:
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(data, f)
    os.replace(tmp, path)


def _mounted_lower_dirs() -> set[str]:
    """Every directory some overlay mount on this machine uses as a lower layer."""
    out: set[str] = set()
    with open("/proc/mounts", encoding="utf-8") as f:
        for line in f:
            fields = line.split()
            if len(fields) > 3 and fields[2] == "overlay":
                for opt in fields[3].split(","):
                    if opt.startswith("lowerdir="):
                        out.update(p.replace("\\040", " ") for p in opt[9:].split(":"))
    return out
