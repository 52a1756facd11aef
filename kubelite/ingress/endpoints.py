"""Backend addresses: Service -> EndpointSlices -> ready pod IP:port, round-robin.

A backend names a Service port by number or by name; the EndpointSlices of the Service
carry the resolved target port (named targetPorts already looked up per pod) under the
Service port's name. Endpoints whose `ready` condition is false are skipped (unset means
ready, as upstream says). Results are cached per backend and dropped when the Service or
one of its slices changes.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from kubelite.ingress import routes

Obj = dict[str, Any]
SERVICE_NAME_LABEL = "kubernetes.io/service-name"

Address = tuple[str, int]


@dataclass(frozen=True)
class Resolved:
    """Either addresses to use, or why there are none (the 503's message)."""
    addresses: tuple[Address, ...] = ()
    problem: str = ""
    # Set when the Ingress names something that does not exist (worth an event on it):
    # "ServiceNotFound" or "ServicePortNotFound".
    reason: str = ""


def service_port(svc: Obj, port: int | str) -> Obj | None:
    for sp in (svc.get("spec") or {}).get("ports") or []:
        if (sp.get("port") == port) if isinstance(port, int) else (sp.get("name") == port):
            return dict(sp)
    return None


def _slice_port(slice_: Obj, name: str) -> int | None:
    for p in slice_.get("ports") or []:
        if (p.get("name") or "") == name and (p.get("protocol") or "TCP") == "TCP":
            port = p.get("port")
            return int(port) if port else None
    return None


def resolve(backend: routes.Backend, svc: Obj | None, slices: list[Obj]) -> Resolved:
    """The ready addresses of a backend (pure: the caller passes what the caches hold)."""
    where = f"{backend.namespace}/{backend.service}"
    if svc is None:
        return Resolved(problem=f"service {where} not found", reason="ServiceNotFound")
    sp = service_port(svc, backend.port)
    if sp is None:
        return Resolved(problem=f"service {where} has no port {backend.port}",
                        reason="ServicePortNotFound")
    if (svc.get("spec") or {}).get("type") == "ExternalName":
        return Resolved(problem=f"service {where} is ExternalName, which is not served")
    name = sp.get("name") or ""
    found: list[Address] = []
    for s in sorted(slices, key=lambda s: s["metadata"]["name"]):
        port = _slice_port(s, name)
        if port is None:
            continue
        for ep in s.get("endpoints") or []:
            if (ep.get("conditions") or {}).get("ready") is False or not ep.get("addresses"):
                continue
            found.append((ep["addresses"][0], port))
    if not found:
        return Resolved(problem=f"service {where} has no ready endpoints")
    return Resolved(addresses=tuple(found))


def slice_service_key(slice_: Obj) -> list[str]:
    """Index EndpointSlices by `namespace/service`."""
    name = (slice_["metadata"].get("labels") or {}).get(SERVICE_NAME_LABEL)
    return [f"{slice_['metadata'].get('namespace', '')}/{name}"] if name else []


class Balancer:
    """Resolves backends from informer caches and hands out addresses round-robin."""

    def __init__(self, get_service: Callable[[str], Obj | None],
                 slices_of: Callable[[str], list[Obj]]) -> None:
        self._get_service = get_service
        self._slices_of = slices_of
        self._cache: dict[routes.Backend, tuple[Resolved, Iterator[Address]]] = {}

    def invalidate(self, service_key: str) -> None:
        """Forget what was resolved for `namespace/service`."""
        for b in [b for b in self._cache if f"{b.namespace}/{b.service}" == service_key]:
            del self._cache[b]

    def clear(self) -> None:
        self._cache.clear()

    def lookup(self, backend: routes.Backend) -> Resolved:
        return self._entry(backend)[0]

    def pick(self, backend: routes.Backend) -> tuple[Resolved, Address | None]:
        """The backend's resolution and, if it has addresses, the next one in turn."""
        resolved, turn = self._entry(backend)
        return resolved, (next(turn) if resolved.addresses else None)

    def _entry(self, backend: routes.Backend) -> tuple[Resolved, Iterator[Address]]:
        entry = self._cache.get(backend)
        if entry is None:
            key = f"{backend.namespace}/{backend.service}"
            resolved = resolve(backend, self._get_service(key), self._slices_of(key))
            entry = (resolved, itertools.cycle(resolved.addresses))
            self._cache[backend] = entry
        return entry
