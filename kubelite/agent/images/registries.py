"""Registry configuration in the shape of k3s' registries.yaml: mirrors and per-host configs.

    mirrors:
      docker.io:
        endpoint: ["http://127.0.0.1:5000"]
    configs:
      "127.0.0.1:5000":
        auth: {username: u, password: p}

A pull tries each mirror endpoint in order, then the registry itself (unless the mirror list
is marked `fallback: false`, an extension that keeps a pull off the public network).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Any

import yaml

from kubelite.agent.images import reference


@dataclass(frozen=True)
class Credentials:
    username: str = ""
    password: str = ""
    token: str = ""  # an identity/registry token used as a Bearer token directly


@dataclass(frozen=True)
class Endpoint:
    """One place to fetch a repository from: base URL plus the path prefix rewrite."""

    url: str
    credentials: Credentials | None = None


@dataclass(frozen=True)
class Config:
    mirrors: dict[str, tuple[str, ...]] = field(default_factory=dict)
    no_fallback: frozenset[str] = frozenset()
    credentials: dict[str, Credentials] = field(default_factory=dict)

    def endpoints(self, ref: reference.Reference) -> list[Endpoint]:
        """The endpoints to try for `ref`, in order: mirrors (also `*`), then the default."""
        urls = list(self.mirrors.get(ref.host, ())) or list(self.mirrors.get("*", ()))
        if ref.host not in self.no_fallback:
            urls.append(default_endpoint(ref.host))
        seen: list[Endpoint] = []
        for url in urls:
            url = url.rstrip("/")
            if all(e.url != url for e in seen):
                seen.append(Endpoint(url, self.credentials.get(_host_of(url))))
        return seen


def default_endpoint(host: str) -> str:
    """The registry's own URL; loopback registries speak plain HTTP, as Docker assumes."""
    if host == reference.DOCKER_HUB:
        return "https://registry-1.docker.io"
    name = host.rsplit(":", 1)[0] if host.count(":") == 1 else host
    if name == "localhost" or _is_loopback(name):
        return f"http://{host}"
    return f"https://{host}"


def _is_loopback(name: str) -> bool:
    try:
        return ipaddress.ip_address(name.strip("[]")).is_loopback
    except ValueError:
        return False


def _host_of(url: str) -> str:
    return url.split("://", 1)[-1].split("/", 1)[0]


def from_dict(data: dict[str, Any]) -> Config:
    """Build a Config from the parsed YAML; unknown keys are an error, not ignored."""
    unknown = set(data) - {"mirrors", "configs"}
    if unknown:
        raise ValueError(f"registries config: unknown keys {sorted(unknown)}")
    mirrors: dict[str, tuple[str, ...]] = {}
    no_fallback: set[str] = set()
    for host, entry in (data.get("mirrors") or {}).items():
        mirrors[host] = tuple(entry.get("endpoint") or ())
        if entry.get("fallback") is False:
            no_fallback.add(host)
    creds: dict[str, Credentials] = {}
    for host, entry in (data.get("configs") or {}).items():
        auth = entry.get("auth") or {}
        creds[host] = Credentials(auth.get("username", ""), auth.get("password", ""),
                                  auth.get("identitytoken", "") or auth.get("token", ""))
    return Config(mirrors=mirrors, no_fallback=frozenset(no_fallback), credentials=creds)


def load(path: str) -> Config:
    """Read a registries.yaml; a missing file means no mirrors and no credentials."""
    try:
        with open(path, encoding="utf-8") as f:
            data = yaml.safe_load(f) or {}
    except FileNotFoundError:
        return Config()
    return from_dict(data)
