"""Subresources with their own shape: scale, pods/binding, pods/eviction, namespaces/finalize.

`status` needs nothing here: the generic GET/PUT/PATCH handle it with the status
strategy. Streaming subresources (log, exec, attach, portforward) are proxied to node
agents by the node proxy when one is configured.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from kubelite.api import errors, registry, schemas
from kubelite.api.patch import jsonpatch, mergepatch, strategic
from kubelite.apiserver import context, negotiation, objects, params, strategy
from kubelite.apiserver.handlers import delete as deletes
from kubelite.apiserver.handlers import read, write
from kubelite.apiserver.requestinfo import RequestInfo

Obj = dict[str, Any]


def _selector_string(obj: Obj) -> str:
    sel = (obj.get("spec") or {}).get("selector") or {}
    if obj.get("kind") == "ReplicationController":
        return ",".join(f"{k}={v}" for k, v in sel.items())
    parts = [f"{k}={v}" for k, v in (sel.get("matchLabels") or {}).items()]
    for e in sel.get("matchExpressions") or []:
        op, key, values = e.get("operator"), e.get("key"), e.get("values") or []
        if op == "In":
            parts.append(f"{key} in ({','.join(values)})")
        elif op == "NotIn":
            parts.append(f"{key} notin ({','.join(values)})")
        elif op == "Exists":
            parts.append(key)
        elif op == "DoesNotExist":
            parts.append("!" + key)
    return ",".join(parts)


def to_scale(obj: Obj) -> Obj:
    meta = obj["metadata"]
    return {
        "kind": "Scale", "apiVersion": "autoscaling/v1",
        "metadata": {k: meta[k] for k in ("name", "namespace", "uid", "resourceVersion",
                                          "creationTimestamp") if k in meta},
        "spec": {"replicas": (obj.get("spec") or {}).get("replicas", 0)},
        "status": {"replicas": (obj.get("status") or {}).get("replicas", 0),
                   "selector": _selector_string(obj)},
    }


def _scale_replicas(rt: registry.ResourceType, scale: Obj, name: str) -> int:
    replicas = (scale.get("spec") or {}).get("replicas", 0)
    if not isinstance(replicas, int) or isinstance(replicas, bool) or replicas < 0:
        from kubelite.api.errors import Cause, Invalid

        raise Invalid("autoscaling", "Scale", name, [Cause(
            "spec.replicas", f"Invalid value: {replicas}: must be greater than or equal to 0")])
    return replicas


async def scale(ctx: context.Context, request: web.Request, rt: registry.ResourceType,
                info: RequestInfo, accept: negotiation.Accept) -> web.Response:
    if request.method == "GET":
        return negotiation.json_response(to_scale(await ctx.objects.get(rt, info.namespace,
                                                                        info.name)))
    opts = params.WriteOptions.parse(request.query, request.headers.get("User-Agent", ""))
    body = await negotiation.read_body(request)
    content_type = negotiation.media_type(request.headers.get("Content-Type", ""))

    async def mutate(current: Obj) -> Obj:
        current_scale = to_scale(current)
        if request.method == "PUT":
            new_scale = negotiation.decode_object(body, content_type)
        elif content_type == negotiation.JSON_PATCH:
            new_scale = jsonpatch.apply(current_scale, negotiation.parse_json(body))
        elif content_type == negotiation.STRATEGIC_PATCH:
            new_scale = strategic.apply(current_scale, negotiation.parse_json(body),
                                        schemas.definition("io.k8s.api.autoscaling.v1.Scale"))
        elif content_type == negotiation.MERGE_PATCH:
            new_scale = mergepatch.apply(current_scale, negotiation.parse_json(body))
        else:
            raise errors.UnsupportedMediaType(content_type)
        want = (new_scale.get("metadata") or {}).get("resourceVersion")
        if want and want != current["metadata"]["resourceVersion"]:
            raise objects.conflict(rt, info.name)
        updated = dict(current)
        updated["spec"] = dict(current.get("spec") or {})
        updated["spec"]["replicas"] = _scale_replicas(rt, new_scale, info.name)
        return updated

    scaled_info = RequestInfo(info.group, info.version, info.resource, info.namespace, info.name)
    stored, _ = await write.update_object(ctx, rt, scaled_info, mutate, opts)
    return negotiation.json_response(to_scale(read.present(rt, stored)))


async def bind(ctx: context.Context, rt: registry.ResourceType, namespace: str,
               binding: Obj) -> None:
    """Assign a pod to a node (what the scheduler does), once."""
    name = (binding.get("metadata") or {}).get("name", "")
    target = binding.get("target") or {}
    node = target.get("name")
    if not node:
        raise errors.Invalid("", "Binding", name, [errors.Cause(
            "target.name", "Required value", "FieldValueRequired")])

    async def mutate(pod: Obj) -> Obj:
        spec = pod.setdefault("spec", {})
        if pod["metadata"].get("deletionTimestamp"):
            raise errors.Conflict("", "pods", name, "pod is being deleted, cannot be assigned "
                                                    "to a host")
        if spec.get("nodeName"):
            raise errors.Conflict("", "pods/binding", name,
                                  f"pod {name} is already assigned to node "
                                  f'"{spec["nodeName"]}"')
        spec["nodeName"] = node
        status = pod.setdefault("status", {})
        conds = [c for c in status.get("conditions") or [] if c.get("type") != "PodScheduled"]
        conds.append({"type": "PodScheduled", "status": "True", "lastProbeTime": None,
                      "lastTransitionTime": strategy.now_rfc3339()})
        status["conditions"] = conds
        return pod

    await ctx.objects.guaranteed_update(rt, namespace, name, mutate)


async def binding(ctx: context.Context, request: web.Request, rt: registry.ResourceType,
                  info: RequestInfo, accept: negotiation.Accept) -> web.Response:
    body = await write.body_object(request)
    body.setdefault("metadata", {}).setdefault("name", info.name)
    if info.name and body["metadata"]["name"] != info.name:
        raise errors.BadRequest("the name of the binding does not match the pod in the URL")
    await bind(ctx, rt, info.namespace, body)
    return negotiation.json_response({"kind": "Status", "apiVersion": "v1", "metadata": {},
                                      "status": "Success", "code": 201}, 201)


async def eviction(ctx: context.Context, request: web.Request, rt: registry.ResourceType,
                   info: RequestInfo, accept: negotiation.Accept) -> web.Response:
    body = await write.body_object(request)
    opts = params.DeleteOptions.parse(request.query, body.get("deleteOptions"))
    await deletes.delete_object(ctx, rt, info.namespace, info.name, opts)
    return negotiation.json_response({"kind": "Status", "apiVersion": "v1", "metadata": {},
                                      "status": "Success", "code": 201}, 201)


async def finalize(ctx: context.Context, request: web.Request, rt: registry.ResourceType,
                   info: RequestInfo, accept: negotiation.Accept) -> web.Response:
    """PUT namespaces/{name}/finalize: only spec.finalizers changes."""
    opts = params.WriteOptions.parse(request.query, request.headers.get("User-Agent", ""))
    new = await write.body_object(request)

    async def mutate(current: Obj) -> Obj:
        updated = dict(current)
        updated["spec"] = dict(current.get("spec") or {})
        updated["spec"]["finalizers"] = (new.get("spec") or {}).get("finalizers") or []
        return updated

    target = RequestInfo(info.group, info.version, info.resource, "", info.name, "finalize")
    stored, _ = await write.update_object(ctx, rt, target, mutate, opts)
    return read.respond_object(ctx, rt, stored, accept)
