"""POST (create) and PUT (update) of objects and their status."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from kubelite.api import errors, registry
from kubelite.apiserver import admission, context, conversion, negotiation, objects, params, strategy
from kubelite.apiserver.handlers import read
from kubelite.apiserver.requestinfo import RequestInfo

Obj = dict[str, Any]


async def body_object(request: web.Request) -> Obj:
    body = await negotiation.read_body(request)
    if not body:
        raise errors.BadRequest("the request body is empty: an object is required")
    return negotiation.decode_object(body, request.headers.get("Content-Type", ""))


async def create(ctx: context.Context, request: web.Request, rt: registry.ResourceType,
                 info: RequestInfo, accept: negotiation.Accept) -> web.Response:
    opts = params.WriteOptions.parse(request.query, request.headers.get("User-Agent", ""))
    obj = await body_object(request)
    created, warnings = await create_object(ctx, rt, obj, info.namespace, opts)
    return read.respond_object(ctx, rt, created, accept, 201,
                               admission.warning_headers(warnings))


async def create_object(ctx: context.Context, rt: registry.ResourceType, obj: Obj,
                        namespace: str, opts: params.WriteOptions) -> tuple[Obj, list[str]]:
    """Admit and store a new object (shared by POST and by apply-creates)."""
    warnings = await admission.admit_create(ctx, rt, obj, namespace, opts)
    obj = admission.track_fields(rt, None, obj, opts.field_manager)
    stored = await ctx.objects.create(rt, conversion.to_storage(rt, obj), dry_run=opts.dry_run)
    return stored, warnings


async def update(ctx: context.Context, request: web.Request, rt: registry.ResourceType,
                 info: RequestInfo, accept: negotiation.Accept) -> web.Response:
    opts = params.WriteOptions.parse(request.query, request.headers.get("User-Agent", ""))
    new = await body_object(request)
    strategy.check_identity(rt, new, info.name, info.namespace)
    admission.check_type(rt, new)
    want_rv = new["metadata"].get("resourceVersion")
    expected = objects.parse_rv(want_rv) if want_rv else 0

    async def mutate(current: Obj) -> Obj:
        if expected and int(current["metadata"]["resourceVersion"]) != expected:
            raise objects.conflict(rt, info.name)
        return new

    stored, warnings = await update_object(ctx, rt, info, mutate, opts)
    return read.respond_object(ctx, rt, stored, accept, 200, admission.warning_headers(warnings))


async def update_object(ctx: context.Context, rt: registry.ResourceType, info: RequestInfo,
                        mutate: Any, opts: params.WriteOptions) -> tuple[Obj, list[str]]:
    """Read-modify-write through the admission pipeline, retrying on races the client did
    not ask to detect. Deletes the object when its last finalizer goes during deletion."""
    warnings: list[str] = []

    async def step(current: Obj) -> Obj | None:
        old = read.present(rt, current)
        new = await mutate(old)
        if new is None:
            return None
        new, w = await admission.admit_update(ctx, rt, new, old, info.subresource, opts)
        warnings[:] = w
        new = admission.track_fields(rt, old, new, opts.field_manager, info.subresource)
        return conversion.to_storage(rt, new)

    stored = await ctx.objects.guaranteed_update(rt, info.namespace, info.name, step,
                                                 dry_run=opts.dry_run)
    meta = stored["metadata"]
    if meta.get("deletionTimestamp") and not meta.get("finalizers") and not opts.dry_run \
            and _finalized(rt, stored):
        try:
            stored = await ctx.objects.delete(rt, info.namespace, info.name,
                                              int(meta["resourceVersion"]))
        except (errors.NotFound, errors.Conflict):
            pass
    return stored, warnings


def _finalized(rt: registry.ResourceType, obj: Obj) -> bool:
    """Namespaces also wait for their spec.finalizers (the namespace controller's)."""
    if rt.group == "" and rt.kind == "Namespace":
        return not (obj.get("spec") or {}).get("finalizers")
    if rt.group == "" and rt.kind == "Pod":
        return (obj["metadata"].get("deletionGracePeriodSeconds") or 0) == 0
    return True
