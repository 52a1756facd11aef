"""DELETE of one object or a collection: finalizers, propagation and graceful pods.

An object with finalizers (or one whose deletion adds the orphan/foregroundDeletion
finalizer) only gets deletionTimestamp here; it leaves the store when the last finalizer
is removed. A pod bound to a node is deleted gracefully: its node agent stops the
containers and then deletes it with a zero grace period.
"""

from __future__ import annotations

import datetime
from typing import Any

import orjson
from aiohttp import web

from kubelite.api import errors, registry
from kubelite.apiserver import context, negotiation, objects, params
from kubelite.apiserver.handlers import read
from kubelite.apiserver.requestinfo import RequestInfo

Obj = dict[str, Any]
_FINALIZER_FOR = {"Orphan": "orphan", "Foreground": "foregroundDeletion"}
_RETURNS_OBJECT = {("", "Pod"), ("", "Namespace"), ("", "Service"),
                   ("apiextensions.k8s.io", "CustomResourceDefinition")}


async def _options(request: web.Request) -> params.DeleteOptions:
    body = await negotiation.read_body(request)
    parsed = negotiation.parse_json(body) if body.strip() else None
    if parsed is not None and not isinstance(parsed, dict):
        raise errors.BadRequest("DeleteOptions must be a JSON object")
    return params.DeleteOptions.parse(request.query, parsed)


async def delete(ctx: context.Context, request: web.Request, rt: registry.ResourceType,
                 info: RequestInfo, accept: negotiation.Accept) -> web.Response:
    opts = await _options(request)
    obj, gone = await delete_object(ctx, rt, info.namespace, info.name, opts)
    if gone and (rt.group, rt.kind) not in _RETURNS_OBJECT:
        details = {"name": info.name, "kind": rt.plural, "uid": obj["metadata"].get("uid", "")}
        if rt.group:
            details["group"] = rt.group
        return negotiation.json_response({"kind": "Status", "apiVersion": "v1", "metadata": {},
                                          "status": "Success", "details": details})
    return read.respond_object(ctx, rt, obj, accept, 200 if gone else 202)


def _check_preconditions(rt: registry.ResourceType, obj: Obj, opts: params.DeleteOptions) -> None:
    meta = obj["metadata"]
    if opts.uid and opts.uid != meta.get("uid"):
        raise errors.Conflict(rt.group, rt.plural, meta["name"],
                              f"Precondition failed: UID in precondition: {opts.uid}, UID in "
                              f"object meta: {meta.get('uid')}")
    if opts.resource_version and opts.resource_version != meta.get("resourceVersion"):
        raise errors.Conflict(rt.group, rt.plural, meta["name"],
                              f"Precondition failed: ResourceVersion in precondition: "
                              f"{opts.resource_version}, ResourceVersion in object meta: "
                              f"{meta.get('resourceVersion')}")


def _grace_period(rt: registry.ResourceType, obj: Obj, opts: params.DeleteOptions) -> int:
    """Seconds a pod gets to stop; 0 means delete at once."""
    if rt.group != "" or rt.kind != "Pod":
        return 0
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    if not spec.get("nodeName") or status.get("phase") in ("Succeeded", "Failed"):
        return 0
    if opts.grace_period is not None:
        return max(opts.grace_period, 0)
    return int(spec.get("terminationGracePeriodSeconds", 30) or 0)


def _mark_deleting(rt: registry.ResourceType, obj: Obj, opts: params.DeleteOptions,
                   grace: int) -> bool:
    """Set deletion metadata; True when the object must stay (finalizers or grace)."""
    meta = obj["metadata"]
    finalizers = list(meta.get("finalizers") or [])
    extra = _FINALIZER_FOR.get(opts.propagation or "")
    if extra and extra not in finalizers:
        finalizers.append(extra)
        if extra == "orphan" and "foregroundDeletion" in finalizers:
            finalizers.remove("foregroundDeletion")
    ns_pending = rt.group == "" and rt.kind == "Namespace" and (obj.get("spec") or {}).get(
        "finalizers")
    if not finalizers and not grace and not ns_pending:
        return False
    meta["finalizers"] = finalizers
    if not finalizers:
        meta.pop("finalizers")
    now = datetime.datetime.now(datetime.UTC)
    if not meta.get("deletionTimestamp") or grace < int(meta.get("deletionGracePeriodSeconds") or 0):
        when = now + datetime.timedelta(seconds=grace)
        meta["deletionTimestamp"] = when.strftime("%Y-%m-%dT%H:%M:%SZ")
        meta["deletionGracePeriodSeconds"] = grace
    if ns_pending:
        obj.setdefault("status", {})["phase"] = "Terminating"
    return True


async def delete_object(ctx: context.Context, rt: registry.ResourceType, namespace: str,
                        name: str, opts: params.DeleteOptions) -> tuple[Obj, bool]:
    """Delete or mark for deletion; returns the object and whether it left the store."""
    for _ in range(objects.MAX_CAS_RETRIES):
        kv = await ctx.objects.read_current(rt, namespace, name)
        obj = objects.decode(kv)
        _check_preconditions(rt, obj, opts)
        grace = _grace_period(rt, obj, opts)
        before = orjson.dumps(obj["metadata"]) + orjson.dumps(obj.get("status"))
        if _mark_deleting(rt, obj, opts, grace):
            if before == orjson.dumps(obj["metadata"]) + orjson.dumps(obj.get("status")):
                return obj, False
            try:
                return await ctx.objects.update(rt, obj, kv.mod_revision, dry_run=opts.dry_run), False
            except errors.Conflict:
                await objects.settle()
                continue
        try:
            return await ctx.objects.delete(rt, namespace, name, kv.mod_revision,
                                            dry_run=opts.dry_run), True
        except errors.Conflict:
            await objects.settle()
            continue
    raise objects.conflict(rt, name)


async def delete_collection(ctx: context.Context, request: web.Request,
                            rt: registry.ResourceType, info: RequestInfo,
                            accept: negotiation.Accept) -> web.Response:
    opts = await _options(request)
    list_opts = params.ListOptions.parse(request.query)
    entries, revision, _, _ = await read.list_entries(ctx, rt, info.namespace, list_opts)
    items = []
    for entry in entries:
        try:
            obj, _ = await delete_object(ctx, rt, entry.namespace, entry.name, opts)
            items.append(read.present(rt, obj))
        except errors.NotFound:
            continue
    body = {"kind": rt.list_kind, "apiVersion": rt.api_version,
            "metadata": {"resourceVersion": str(revision)}, "items": items}
    return negotiation.encode_response(body, accept)

