"""Which Ingresses this controller serves, and on which ports.

An IngressClass is ours when `spec.controller` is `kubelite.io/ingress`. Each class is bound
to an entry point: an HTTP port and an HTTPS port, from the class's annotations
`ingress.kubelite.io/http-port` and `ingress.kubelite.io/https-port` or else the
controller's defaults (`--ingress-http-port`, `--ingress-https-port`); "0" switches one
off. Classes naming the same port share its listener and routing table, so a `public`
class on 80/443 and an `admin` class on 8080 are served at once, each on its own ports.

An Ingress belongs to the class in `spec.ingressClassName`, else the deprecated
`kubernetes.io/ingress.class` annotation, else the default class: the newest of our
classes annotated `ingressclass.kubernetes.io/is-default-class: "true"` (upstream's
admission picks the newest default too).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger(__name__)

Obj = dict[str, Any]

CONTROLLER = "kubelite.io/ingress"
DEFAULT_CLASS = "ingressclass.kubernetes.io/is-default-class"
LEGACY_CLASS = "kubernetes.io/ingress.class"
HTTP_PORT = "ingress.kubelite.io/http-port"
HTTPS_PORT = "ingress.kubelite.io/https-port"

HTTP = "http"
HTTPS = "https"


@dataclass(frozen=True)
class EntryPoint:
    http_port: int
    https_port: int


@dataclass
class Listener:
    """One port: its scheme and the Ingresses its table is built from."""
    scheme: str
    classes: list[str] = field(default_factory=list)
    ingresses: list[Obj] = field(default_factory=list)


def _port(annotations: Obj, key: str, default: int) -> int:
    raw = annotations.get(key)
    if raw is None:
        return default
    port = int(str(raw).strip())  # ValueError on junk: the caller skips the class
    if not 0 <= port <= 65535:
        raise ValueError(f"port {port} out of range")
    return port


def entry_point(ic: Obj, default: EntryPoint) -> EntryPoint:
    """The class's ports; raises ValueError for a malformed annotation."""
    ann = ic["metadata"].get("annotations") or {}
    return EntryPoint(http_port=_port(ann, HTTP_PORT, default.http_port),
                      https_port=_port(ann, HTTPS_PORT, default.https_port))


def ours(classes: Iterable[Obj]) -> dict[str, Obj]:
    return {ic["metadata"]["name"]: ic for ic in classes
            if (ic.get("spec") or {}).get("controller") == CONTROLLER}


def default_class(classes: dict[str, Obj]) -> str:
    """The newest of our classes marked default ("" when none is)."""
    marked = [ic for ic in classes.values()
              if (ic["metadata"].get("annotations") or {}).get(DEFAULT_CLASS) == "true"]
    if not marked:
        return ""
    newest = max(marked, key=lambda ic: (ic["metadata"].get("creationTimestamp") or "",
                                         ic["metadata"]["name"]))
    return str(newest["metadata"]["name"])


def class_of(ing: Obj, default: str) -> str:
    name = (ing.get("spec") or {}).get("ingressClassName")
    if name:
        return str(name)
    legacy = (ing["metadata"].get("annotations") or {}).get(LEGACY_CLASS)
    return str(legacy) if legacy else default


def plan(ingresses: Iterable[Obj], classes: Iterable[Obj], default: EntryPoint
         ) -> dict[int, Listener]:
    """Port -> listener for every port some class of ours uses, with its Ingresses."""
    mine = ours(classes)
    listeners: dict[int, Listener] = {}
    ports_of: dict[str, list[int]] = {}
    for name in sorted(mine):
        try:
            ep = entry_point(mine[name], default)
        except ValueError as e:
            log.warning("ingress class skipped: bad port annotation class=%s error=%s", name, e)
            continue
        ports_of[name] = []
        for port, scheme in ((ep.http_port, HTTP), (ep.https_port, HTTPS)):
            if not port:
                continue
            lst = listeners.setdefault(port, Listener(scheme))
            if lst.scheme != scheme:
                log.warning("ingress class skipped on port: port=%d is %s for class=%s, "
                            "not %s", port, lst.scheme, lst.classes[0], scheme)
                continue
            lst.classes.append(name)
            ports_of[name].append(port)
    fallback = default_class(mine)
    for ing in ingresses:
        for port in ports_of.get(class_of(ing, fallback), ()):
            listeners[port].ingresses.append(ing)
    return listeners


def default_ingress_class() -> Obj:
    """The class the server creates on first start (as k3s ships one for its Traefik)."""
    return {"apiVersion": "networking.k8s.io/v1", "kind": "IngressClass",
            "metadata": {"name": "kubelite", "annotations": {DEFAULT_CLASS: "true"}},
            "spec": {"controller": CONTROLLER}}
