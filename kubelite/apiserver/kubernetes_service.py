"""The `kubernetes` Service in default and its Endpoints/EndpointSlice (upstream's
bootstrap controller and master endpoints reconciler, for one API server).

The Service takes the first address of the service range, port 443 -> the API server's
port; its endpoints point at the API server's own address. Run at every start, so a
server that comes back on another port fixes its endpoints.
"""

from __future__ import annotations

from typing import Any

from kubelite.api import errors
from kubelite.apiserver import admission_services, context, params
from kubelite.apiserver.handlers import write

Obj = dict[str, Any]
NAMESPACE, NAME = "default", "kubernetes"
LABELS = {"component": "apiserver", "provider": "kubernetes"}


def service(port: int) -> Obj:
    return {"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": NAME, "namespace": NAMESPACE, "labels": dict(LABELS)},
            "spec": {"type": "ClusterIP", "clusterIP": admission_services.CONFIG.first_ip,
                     "ports": [{"name": "https", "port": 443, "protocol": "TCP",
                                "targetPort": port}],
                     "sessionAffinity": "None"}}


def endpoints(host: str, port: int) -> Obj:
    return {"apiVersion": "v1", "kind": "Endpoints",
            "metadata": {"name": NAME, "namespace": NAMESPACE,
                         "labels": {"endpointslice.kubernetes.io/skip-mirror": "true"}},
            "subsets": [{"addresses": [{"ip": host}],
                         "ports": [{"name": "https", "port": port, "protocol": "TCP"}]}]}


def endpoint_slice(host: str, port: int) -> Obj:
    return {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
            "metadata": {"name": NAME, "namespace": NAMESPACE,
                         "labels": {"kubernetes.io/service-name": NAME}},
            "addressType": "IPv6" if ":" in host else "IPv4",
            "endpoints": [{"addresses": [host], "conditions": {"ready": True}}],
            "ports": [{"name": "https", "port": port, "protocol": "TCP"}]}


async def ensure(ctx: context.Context, host: str, port: int) -> None:
    """Create the three objects, or bring their ports and address up to date."""
    await _ensure(ctx, ("", "v1", "services"), service(port), [("spec", "ports")])
    await _ensure(ctx, ("", "v1", "endpoints"), endpoints(host, port), [("subsets",)])
    await _ensure(ctx, ("discovery.k8s.io", "v1", "endpointslices"), endpoint_slice(host, port),
                  [("endpoints",), ("ports",)])


def _get(obj: Obj, path: tuple[str, ...]) -> Any:
    for key in path:
        obj = (obj or {}).get(key)  # type: ignore[assignment]
    return obj


async def _ensure(ctx: context.Context, gvr: tuple[str, str, str], want: Obj,
                  paths: list[tuple[str, ...]]) -> None:
    rt = ctx.registry.lookup(*gvr)
    assert rt is not None
    opts = params.WriteOptions(False, "kube-apiserver", "Strict", False)
    entry = await ctx.objects.get_entry(rt, NAMESPACE, NAME)
    if entry is None:
        try:
            await write.create_object(ctx, rt, want, NAMESPACE, opts)
        except errors.AlreadyExists:
            pass
        return
    if all(_get(entry.decode(), p) == _get(want, p) for p in paths):
        return

    async def mutate(current: Obj) -> Obj:
        for path in paths:
            parent = current
            for key in path[:-1]:
                parent = parent.setdefault(key, {})
            parent[path[-1]] = _get(want, path)
        return current

    await ctx.objects.guaranteed_update(rt, NAMESPACE, NAME, mutate)
