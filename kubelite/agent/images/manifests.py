"""Manifest media types and the few facts we read from manifests and indexes."""

from __future__ import annotations

import platform
from typing import Any

DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
ACCEPT = f"{OCI_INDEX}, {DOCKER_LIST}, {OCI_MANIFEST}, {DOCKER_MANIFEST}"
INDEXES = (OCI_INDEX, DOCKER_LIST)
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"

_ARCH = {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm", "ppc64le": "ppc64le",
         "s390x": "s390x", "riscv64": "riscv64"}


class ManifestError(ValueError):
    """A manifest is malformed, of an unsupported kind, or has no entry for this platform."""


def host_arch() -> str:
    machine = platform.machine()
    return _ARCH.get(machine, machine)


def media_type(doc: dict[str, Any], header: str = "") -> str:
    """The document's media type: its own field, else the HTTP Content-Type, else by shape."""
    mt = doc.get("mediaType") or header.split(";")[0].strip()
    if mt in (DOCKER_MANIFEST, DOCKER_LIST, OCI_MANIFEST, OCI_INDEX):
        return str(mt)
    if "manifests" in doc:
        return OCI_INDEX
    if "layers" in doc and "config" in doc:
        return OCI_MANIFEST
    raise ManifestError(f"unsupported manifest type {mt or 'unknown'!r}")


def choose_platform(index: dict[str, Any], arch: str | None = None) -> str:
    """The digest of the linux/<arch> manifest in an index (host arch by default)."""
    arch = arch or host_arch()
    for entry in index.get("manifests", []):
        plat = entry.get("platform") or {}
        if plat.get("os") == "linux" and plat.get("architecture") == arch:
            return str(entry["digest"])
    raise ManifestError(f"no manifest for linux/{arch} in the image index")


def check_image(manifest: dict[str, Any], config: dict[str, Any]) -> list[str]:
    """The config's diff IDs, after checking they match the manifest's layers one for one."""
    diff_ids = list((config.get("rootfs") or {}).get("diff_ids") or [])
    if len(diff_ids) != len(manifest.get("layers", [])):
        raise ManifestError("image config and manifest disagree on the number of layers")
    return diff_ids
