"""The resource metrics API (metrics.k8s.io/v1beta1): what metrics-server serves in a
cluster, here a read-only handler family inside the API server.

Why inside, scraping on demand: the API server already holds the nodes and pods (watch
cache) and a client certificate for node agents (pods/log), and each node's summary
already carries CPU rates over the node's own sampling window, so no second process, no
periodic scrape loop and no sample history are needed here; `metrics_scraper` caches
each node's summary briefly. Behaviour follows metrics-server: get and list only (watch
is 405 MethodNotSupported), label and field (metadata.name/namespace) selectors, pods
and nodes without metrics left out of lists and 404 for a get, items sorted by
namespace and name. Simulated nodes and their pods report zero usage.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any

from aiohttp import web

from kubelite.api import errors, fields, registry
from kubelite.api.printers import table as tables
from kubelite.apiserver import context, metrics_objects, metrics_scraper, negotiation, selection
from kubelite.apiserver.requestinfo import RequestInfo

Obj = dict[str, Any]
GROUP = "metrics.k8s.io"
_META_FIELDS = ("metadata.name", "metadata.namespace")


async def serve(ctx: context.Context, request: web.Request, rt: registry.ResourceType,
                info: RequestInfo, accept: negotiation.Accept) -> web.StreamResponse:
    """GET one or a list of NodeMetrics/PodMetrics."""
    if info.subresource or (info.namespace and not rt.namespaced):
        raise errors.PathNotFound()
    if request.method != "GET":
        raise errors.MethodNotAllowed(f"the server does not allow this method on the "
                                      f"requested resource ({request.method} {rt.plural})")
    if request.query.get("watch") in ("true", "1"):
        raise errors.APIError(f'watch is not supported on resources of kind '
                              f'"{rt.plural}.{GROUP}"', 405, "MethodNotAllowed",
                              group=GROUP, kind=rt.plural)
    scraper: metrics_scraper.Scraper | None = ctx.metrics
    if scraper is None:
        raise errors.ServiceUnavailable("the metrics API is not running on this server")
    source = _Source(ctx, scraper)
    if info.name:
        obj = await (source.pod(info.namespace, info.name) if rt.namespaced
                     else source.node(info.name))
        if accept.table:
            return negotiation.json_response(tables.to_table(rt, [obj], now=ctx.now()))
        return negotiation.encode_response(obj, accept)
    labels, field_text = (request.query.get("labelSelector", ""),
                          request.query.get("fieldSelector", ""))
    items = await (source.pods(info.namespace, labels, field_text) if rt.namespaced
                   else source.nodes(labels, field_text))
    if accept.table:
        return negotiation.json_response(tables.to_table(
            rt, items, now=ctx.now(), include_object=request.query.get("includeObject", "")))
    return negotiation.encode_response({"kind": rt.list_kind, "apiVersion": rt.api_version,
                                        "metadata": {}, "items": items}, accept)


def _field_filter(text: str) -> fields.FieldSelector | None:
    """metrics-server matches field selectors against metadata.name/namespace only."""
    sel = fields.parse(text) if text else None
    return None if sel is None or sel.empty() else sel


def _meta_fields(obj: Obj) -> dict[str, str]:
    meta = obj.get("metadata") or {}
    return {"metadata.name": meta.get("name", ""), "metadata.namespace": meta.get("namespace", "")}


class _Source:
    """One request's view: objects from the watch cache, usage from node summaries."""

    def __init__(self, ctx: context.Context, scraper: metrics_scraper.Scraper) -> None:
        self.ctx = ctx
        self.scraper = scraper
        self.now = ctx.now()
        self.node_rt = ctx.resource("", "v1", "nodes")
        self.pod_rt = ctx.resource("", "v1", "pods")

    async def _objects(self, rt: registry.ResourceType, namespace: str, labels: str,
                       field_text: str) -> list[Obj]:
        await self.ctx.cache.wait_fresh()
        match = selection.build(rt, namespace, labels, "")
        fsel = _field_filter(field_text)
        objs = [e.decode() for e in self.ctx.cache.bucket(rt.key_prefix()).scan(namespace)
                if match(e)]
        return [o for o in objs if fsel is None or fsel.matches_fields(_meta_fields(o))]

    async def _summaries(self, nodes: Iterable[Obj], pods: list[Obj]) -> dict[str, Obj]:
        """Node name -> summary (hollow nodes synthesised), for the nodes that have one."""
        by_node: dict[str, list[Obj]] = {}
        for pod in pods:
            by_node.setdefault((pod.get("spec") or {}).get("nodeName") or "", []).append(pod)
        nodes = list(nodes)

        async def one(node: Obj) -> Obj | None:
            if metrics_objects.is_hollow(node):
                return metrics_objects.hollow_summary(
                    node, by_node.get(node["metadata"]["name"], []), self.now)
            return await self.scraper.summary(node)
        found = await asyncio.gather(*(one(n) for n in nodes))
        return {n["metadata"]["name"]: s for n, s in zip(nodes, found, strict=True) if s}

    async def nodes(self, labels: str, field_text: str) -> list[Obj]:
        nodes = await self._objects(self.node_rt, "", labels, field_text)
        summaries = await self._summaries(nodes, [])
        out = [metrics_objects.node_metrics(n, summaries[n["metadata"]["name"]], self.now)
               for n in nodes if n["metadata"]["name"] in summaries]
        return sorted((m for m in out if m), key=lambda m: m["metadata"]["name"])

    async def node(self, name: str) -> Obj:
        entry = await self.ctx.objects.get_entry(self.node_rt, "", name)
        if entry is None:
            raise errors.NotFound("", "node", name)
        found = await self.nodes("", f"metadata.name={name}")
        if not found:
            raise errors.NotFound(GROUP, "nodemetrics", name)
        return found[0]

    async def pods(self, namespace: str, labels: str, field_text: str) -> list[Obj]:
        pods = [p for p in await self._objects(self.pod_rt, namespace, labels, field_text)
                if (p.get("spec") or {}).get("nodeName")]
        wanted = {p["spec"]["nodeName"] for p in pods}
        nodes = [n for n in await self._objects(self.node_rt, "", "", "")
                 if n["metadata"]["name"] in wanted]
        summaries = await self._summaries(nodes, pods)
        index = {name: metrics_objects.pods_by_name(s) for name, s in summaries.items()}
        out = []
        for pod in pods:
            meta = pod["metadata"]
            entry = index.get(pod["spec"]["nodeName"], {}).get((meta["namespace"], meta["name"]))
            m = metrics_objects.pod_metrics(pod, entry, self.now) if entry else None
            if m is not None:
                out.append(m)
        return sorted(out, key=lambda m: (m["metadata"]["namespace"], m["metadata"]["name"]))

    async def pod(self, namespace: str, name: str) -> Obj:
        entry = await self.ctx.objects.get_entry(self.pod_rt, namespace, name)
        if entry is None:
            raise errors.NotFound("", "pods", name)
        found = await self.pods(namespace, "", f"metadata.name={name}")
        if not found:
            raise errors.NotFound(GROUP, "podmetrics", f"{namespace}/{name}")
        return found[0]
