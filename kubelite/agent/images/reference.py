"""Image references, normalised as Docker does (`busybox` -> docker.io/library/busybox:latest)."""

from __future__ import annotations

import re
from dataclasses import dataclass

DOCKER_HUB = "docker.io"
_DIGEST = re.compile(r"^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-fA-F0-9]{32,}$")
_TAG = re.compile(r"^[\w][\w.-]{0,127}$")
_PATH = re.compile(r"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$")


class InvalidReference(ValueError):
    """The text is not an image reference."""


@dataclass(frozen=True)
class Reference:
    """A fully qualified image reference: registry host, repository path, tag and/or digest."""

    host: str
    path: str
    tag: str = ""
    digest: str = ""

    @property
    def repository(self) -> str:
        return f"{self.host}/{self.path}"

    @property
    def name(self) -> str:
        """The canonical string: host/path:tag or host/path@digest (tag wins when both)."""
        if self.tag:
            return f"{self.repository}:{self.tag}"
        return f"{self.repository}@{self.digest}"

    @property
    def locator(self) -> str:
        """What to ask the registry's manifest endpoint for: the digest if pinned, else the tag."""
        return self.digest or self.tag


def parse(text: str) -> Reference:
    """Parse and normalise a reference; raise InvalidReference with the reason."""
    rest, digest = text, ""
    if "@" in rest:
        rest, digest = rest.split("@", 1)
        if not _DIGEST.match(digest):
            raise InvalidReference(f"invalid digest in reference {text!r}")
    host, path = _split_host(rest)
    tag = ""
    last = path.rsplit("/", 1)[-1]
    if ":" in last:
        path, tag = path.rsplit(":", 1)
        if not _TAG.match(tag):
            raise InvalidReference(f"invalid tag in reference {text!r}")
    if host == DOCKER_HUB and "/" not in path:
        path = f"library/{path}"
    if not path or not _PATH.match(path):
        raise InvalidReference(f"invalid repository name in reference {text!r}")
    if not tag and not digest:
        tag = "latest"
    return Reference(host=host, path=path, tag=tag, digest=digest)


def _split_host(text: str) -> tuple[str, str]:
    first, sep, rest = text.partition("/")
    if sep and ("." in first or ":" in first or first == "localhost"):
        host = "docker.io" if first in ("index.docker.io", "registry-1.docker.io") else first
        return host, rest
    return DOCKER_HUB, text
