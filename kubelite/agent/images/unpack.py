"""Unpack a layer tar into its own directory, in the form overlayfs reads as a lower layer.

OCI whiteouts become overlay whiteouts: `.wh.NAME` turns into a 0/0 character device NAME,
and `.wh..wh..opq` marks its directory opaque (xattr trusted.overlay.opaque=y). Nothing is
written outside the destination: absolute names, `..` and paths through symlinks are refused.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import posixpath
import shutil
import tarfile
from typing import IO

WHITEOUT = ".wh."
OPAQUE = ".wh..wh..opq"


class LayerError(ValueError):
    """A layer is corrupt, truncated or tries to escape its directory."""


class _HashingReader:
    """Counts and hashes the uncompressed stream so the diff ID can be checked."""

    def __init__(self, raw: IO[bytes]) -> None:
        self.raw = raw
        self.sha = hashlib.sha256()

    def read(self, n: int = -1) -> bytes:
        data = self.raw.read(n)
        self.sha.update(data)
        return data

    def drain(self) -> None:
        while self.read(1 << 20):
            pass


def open_layer(path: str) -> IO[bytes]:
    """Open a layer blob, transparently gunzipping it (zstd is not supported)."""
    with open(path, "rb") as f:
        magic = f.read(4)
    if magic[:2] == b"\x1f\x8b":
        return gzip.open(path, "rb")  # type: ignore[return-value]
    if magic == b"\x28\xb5\x2f\xfd":
        raise LayerError("zstd-compressed layers are not supported")
    return open(path, "rb")


def unpack(blob_path: str, dest: str) -> str:
    """Extract the layer at `blob_path` into the empty directory `dest`; return its diff ID."""
    dest = os.path.realpath(dest)
    with open_layer(blob_path) as raw:
        reader = _HashingReader(raw)
        try:
            with tarfile.open(fileobj=reader, mode="r|") as tar:  # type: ignore[call-overload]
                for member in tar:
                    _extract(tar, member, dest)
            reader.drain()
        except (tarfile.TarError, EOFError, OSError, gzip.BadGzipFile) as e:
            raise LayerError(f"corrupt layer: {e}") from e
    return "sha256:" + reader.sha.hexdigest()


def _extract(tar: tarfile.TarFile, member: tarfile.TarInfo, dest: str) -> None:
    name = _clean(member.name)
    if not name:
        return
    parent, base = posixpath.split(name)
    target_dir = _inside(dest, parent)
    if base == OPAQUE:
        os.makedirs(target_dir, exist_ok=True)
        os.setxattr(target_dir, "trusted.overlay.opaque", b"y")
        return
    if base.startswith(WHITEOUT):
        os.makedirs(target_dir, exist_ok=True)
        path = os.path.join(target_dir, base[len(WHITEOUT):])
        _remove(path)
        os.mknod(path, 0o600 | 0o020000, os.makedev(0, 0))
        return
    path = os.path.join(target_dir, base)
    if not (member.isdir() and os.path.isdir(path) and not os.path.islink(path)):
        _remove(path)
    if member.islnk():
        link = _clean(member.linkname)
        member.linkname = os.path.relpath(_inside(dest, link), dest)
    member.name = os.path.relpath(path, dest)
    tar.extract(member, dest, numeric_owner=True, filter="fully_trusted")


def _clean(name: str) -> str:
    name = posixpath.normpath("/" + name).lstrip("/")
    return "" if name == "." else name


def _inside(dest: str, rel: str) -> str:
    """`dest/rel` with symlinks in it resolved; refuse when that leaves `dest`."""
    root = os.path.realpath(dest)
    real = os.path.realpath(os.path.join(root, rel))
    if real != root and not real.startswith(root + os.sep):
        raise LayerError(f"layer entry {rel!r} escapes the layer directory")
    return real


def _remove(path: str) -> None:
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path)
    elif os.path.lexists(path):
        os.unlink(path)
