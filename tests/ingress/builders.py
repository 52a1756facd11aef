"""Small builders of Ingress objects for the ingress unit tests."""

from __future__ import annotations

from typing import Any

Obj = dict[str, Any]


def backend(service: str, port: int | str = 80) -> Obj:
    ref = {"number": port} if isinstance(port, int) else {"name": port}
    return {"service": {"name": service, "port": ref}}


def path(p: str, kind: str, service: str, port: int | str = 80) -> Obj:
    return {"path": p, "pathType": kind, "backend": backend(service, port)}


def ingress(name: str, *rules: tuple[str, list[Obj]], namespace: str = "default",
            default: str = "", created: str = "2026-01-01T00:00:00Z", cls: str = "",
            annotations: Obj | None = None, tls: list[Obj] | None = None) -> Obj:
    spec: Obj = {"rules": [{**({"host": h} if h else {}), "http": {"paths": paths}}
                           for h, paths in rules]}
    if default:
        spec["defaultBackend"] = backend(default)
    if cls:
        spec["ingressClassName"] = cls
    if tls is not None:
        spec["tls"] = tls
    return {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
            "metadata": {"name": name, "namespace": namespace, "creationTimestamp": created,
                         "annotations": annotations or {}},
            "spec": spec}


def ingress_class(name: str, *, controller: str = "kubelite.io/ingress", default: bool = False,
                  http: str | None = None, https: str | None = None,
                  created: str = "2026-01-01T00:00:00Z") -> Obj:
    ann: Obj = {}
    if default:
        ann["ingressclass.kubernetes.io/is-default-class"] = "true"
    if http is not None:
        ann["ingress.kubelite.io/http-port"] = http
    if https is not None:
        ann["ingress.kubelite.io/https-port"] = https
    return {"apiVersion": "networking.k8s.io/v1", "kind": "IngressClass",
            "metadata": {"name": name, "annotations": ann, "creationTimestamp": created},
            "spec": {"controller": controller}}
