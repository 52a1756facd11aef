"""PATCH: JSON patch, merge patch, strategic merge patch and server-side apply."""

from __future__ import annotations

import copy
from typing import Any

from aiohttp import web

from kubelite.api import apply, errors, registry
from kubelite.api.patch import jsonpatch, mergepatch, strategic
from kubelite.apiserver import admission, context, conversion, negotiation, objects, params, strategy
from kubelite.apiserver.handlers import read, write
from kubelite.apiserver.requestinfo import RequestInfo

Obj = dict[str, Any]


def _parse_patch(body: bytes, patch_type: str) -> Any:
    if patch_type == negotiation.APPLY_PATCH:
        doc = negotiation.parse_yaml(body)
    else:
        doc = negotiation.parse_json(body)
    if patch_type == negotiation.JSON_PATCH:
        if not isinstance(doc, list):
            raise errors.BadRequest("json patch must be a JSON array of operations")
    elif not isinstance(doc, dict):
        raise errors.BadRequest(f"{patch_type} body must be a JSON object")
    return doc


def _apply_patch(rt: registry.ResourceType, current: Obj, patch: Any, patch_type: str) -> Obj:
    if patch_type == negotiation.JSON_PATCH:
        return jsonpatch.apply(current, patch)
    if patch_type == negotiation.MERGE_PATCH:
        return mergepatch.apply(current, patch)
    return strategic.apply(current, patch, admission.schema_of(rt))


async def patch(ctx: context.Context, request: web.Request, rt: registry.ResourceType,
                info: RequestInfo, accept: negotiation.Accept) -> web.Response:
    content_type = request.headers.get("Content-Type", "")
    patch_type = negotiation.media_type(content_type)
    if patch_type not in negotiation.PATCH_TYPES or (
            patch_type == negotiation.STRATEGIC_PATCH and rt.crd is not None):
        raise errors.APIError(
            f'the body of the request was in an unknown format - accepted media types include: '
            f'{", ".join(_accepted(rt))}', 415, "UnsupportedMediaType")
    opts = params.WriteOptions.parse(request.query, request.headers.get("User-Agent", ""))
    if opts.force and patch_type != negotiation.APPLY_PATCH:
        raise errors.BadRequest("force flag is only allowed for apply patches")
    doc = _parse_patch(await negotiation.read_body(request), patch_type)
    if patch_type == negotiation.APPLY_PATCH:
        if not request.query.get("fieldManager"):
            raise errors.BadRequest("PATCH requests with apply need a fieldManager query "
                                    "parameter (the name of the applier)")
        return await _server_side_apply(ctx, rt, info, accept, doc, opts)

    async def mutate(current: Obj) -> Obj:
        patched = _apply_patch(rt, current, doc, patch_type)
        want = (patched.get("metadata") or {}).get("resourceVersion")
        if want and want != current["metadata"]["resourceVersion"]:
            raise objects.conflict(rt, info.name)
        if not isinstance(patched.get("metadata"), dict):
            raise errors.BadRequest("the patch removed metadata")
        strategy.check_identity(rt, patched, info.name, info.namespace)
        return patched

    stored, warnings = await write.update_object(ctx, rt, info, mutate, opts)
    return read.respond_object(ctx, rt, stored, accept, 200, admission.warning_headers(warnings))


def _accepted(rt: registry.ResourceType) -> list[str]:
    types = [negotiation.JSON_PATCH, negotiation.MERGE_PATCH, negotiation.APPLY_PATCH]
    if rt.crd is None:
        types.insert(2, negotiation.STRATEGIC_PATCH)
    return types


async def _server_side_apply(ctx: context.Context, rt: registry.ResourceType, info: RequestInfo,
                             accept: negotiation.Accept, applied: Obj,
                             opts: params.WriteOptions) -> web.Response:
    admission.check_type(rt, applied)
    strategy.check_identity(rt, applied, info.name, info.namespace)
    schema = admission.schema_of(rt)

    def run(live: Obj | None) -> Obj:
        return apply.server_side_apply(
            copy.deepcopy(live) if live else None, applied, manager=opts.field_manager,
            force=opts.force, schema=schema, api_version=rt.api_version,
            now=strategy.now_rfc3339(), subresource=info.subresource,
            has_status_subresource=strategy.has_status(rt))

    if info.subresource == "" and await ctx.objects.get_entry(rt, info.namespace, info.name) is None:
        obj = run(None)
        created_warnings = await admission.admit_create(ctx, rt, obj, info.namespace, opts)
        try:
            stored = await ctx.objects.create(rt, conversion.to_storage(rt, obj),
                                              dry_run=opts.dry_run)
            return read.respond_object(ctx, rt, stored, accept, 201,
                                       admission.warning_headers(created_warnings))
        except errors.AlreadyExists:
            pass  # raced with another writer: apply onto what is there now

    warnings: list[str] = []

    async def step(current: Obj) -> Obj | None:
        old = read.present(rt, current)
        new = run(old)
        want = (applied.get("metadata") or {}).get("resourceVersion")
        if want and want != old["metadata"]["resourceVersion"]:
            raise objects.conflict(rt, info.name)
        new, w = await admission.admit_update(ctx, rt, new, old, info.subresource, opts)
        warnings[:] = w
        return conversion.to_storage(rt, new)

    stored = await ctx.objects.guaranteed_update(rt, info.namespace, info.name, step,
                                                 dry_run=opts.dry_run)
    return read.respond_object(ctx, rt, stored, accept, 200, admission.warning_headers(warnings))
