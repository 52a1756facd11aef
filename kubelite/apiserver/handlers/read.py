"""GET of one object and LIST of a collection, served from the watch cache."""

from __future__ import annotations

import base64
import binascii
from typing import Any

import orjson
from aiohttp import web

from kubelite.api import errors, registry
from kubelite.api.printers import table as tables
from kubelite.apiserver import context, conversion, negotiation, objects, params, selection, watchcache
from kubelite.apiserver.requestinfo import RequestInfo

Obj = dict[str, Any]


def present(rt: registry.ResourceType, obj: Obj) -> Obj:
    """A stored object as the client's version shows it."""
    obj = conversion.from_storage(rt, obj)
    if obj.get("apiVersion") != rt.api_version:
        obj["apiVersion"] = rt.api_version
    obj.setdefault("kind", rt.kind)
    return obj


def respond_object(ctx: context.Context, rt: registry.ResourceType, obj: Obj,
                   accept: negotiation.Accept, status: int = 200,
                   headers: dict[str, str] | None = None) -> web.Response:
    obj = present(rt, obj)
    if accept.table:
        body = tables.to_table(rt, [obj], now=ctx.now(),
                               resource_version=obj["metadata"].get("resourceVersion", ""))
        return negotiation.json_response(body, status, headers)
    if accept.partial_metadata:
        return negotiation.json_response(_partial(obj), status, headers)
    return negotiation.encode_response(obj, accept, status, headers)


def _partial(obj: Obj) -> Obj:
    return {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
            "metadata": obj.get("metadata", {})}


async def get(ctx: context.Context, request: web.Request, rt: registry.ResourceType,
              info: RequestInfo, accept: negotiation.Accept) -> web.Response:
    rv = request.query.get("resourceVersion", "")
    if rv not in ("", "0"):
        objects.parse_rv(rv)
    obj = await ctx.objects.get(rt, info.namespace, info.name)
    return respond_object(ctx, rt, obj, accept)


# -- continue tokens ---------------------------------------------------------------------

def encode_continue(revision: int, last_key: str) -> str:
    raw = orjson.dumps({"v": "meta.k8s.io/v1", "rv": revision, "start": last_key})
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_continue(token: str) -> tuple[int, str]:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        data = orjson.loads(raw)
        return int(data["rv"]), str(data["start"])
    except (binascii.Error, ValueError, KeyError, TypeError, orjson.JSONDecodeError):
        raise errors.BadRequest(f'continue key is not valid: "{token}"') from None


# -- list ----------------------------------------------------------------------------------

async def list_entries(ctx: context.Context, rt: registry.ResourceType, namespace: str,
                       opts: params.ListOptions) -> tuple[list[watchcache.Entry], int, str, int]:
    """Matching entries of one page, the list revision, continue token, remaining count."""
    predicate = selection.build(rt, namespace, opts.label_selector, opts.field_selector)
    start_after = ""
    if opts.continue_token:
        revision, start_after = decode_continue(opts.continue_token)
        if revision != ctx.cache.revision:
            return await _page_from_store(ctx, rt, namespace, predicate, opts, revision,
                                          start_after)
    else:
        await _wait_for_list_rv(ctx, opts)
    revision = ctx.cache.revision
    bucket = ctx.cache.bucket(rt.key_prefix())
    matched = [e for e in bucket.scan(namespace if rt.namespaced else "", start_after)
               if predicate(e)]
    if opts.limit and len(matched) > opts.limit:
        page = matched[:opts.limit]
        return page, revision, encode_continue(revision, page[-1].key), len(matched) - opts.limit
    return matched, revision, "", 0


async def _wait_for_list_rv(ctx: context.Context, opts: params.ListOptions) -> None:
    rv = opts.resource_version
    if rv == "":
        await ctx.cache.wait_fresh()
    elif rv != "0":
        await ctx.cache.wait_for_revision(objects.parse_rv(rv))


async def _page_from_store(ctx: context.Context, rt: registry.ResourceType, namespace: str,
                           predicate: watchcache.Predicate, opts: params.ListOptions,
                           revision: int, start_after: str
                           ) -> tuple[list[watchcache.Entry], int, str, int]:
    """A later page of a list whose snapshot the cache has moved past: read the store at the
    list's revision (410 when compacted away)."""
    from kubelite.storage import protocol

    prefix = rt.key_prefix(namespace)
    out: list[watchcache.Entry] = []
    cursor = start_after
    while True:
        try:
            res = await ctx.objects.store.list(prefix, start_after=cursor, limit=500,
                                               revision=revision)
        except protocol.Compacted:
            raise errors.Gone("The provided continue parameter is too old to display a "
                              "consistent list result. You can start a new list without the "
                              "continue parameter.") from None
        for kv in res.items:
            entry = watchcache.make_entry(kv.key, kv.value, kv.mod_revision, None)
            if predicate(entry):
                out.append(entry)
                if opts.limit and len(out) == opts.limit:
                    more = res.more or kv is not res.items[-1]
                    return out, revision, encode_continue(revision, kv.key) if more else "", 0
        if not res.more or not res.items:
            return out, revision, "", 0
        cursor = res.items[-1].key


async def list_(ctx: context.Context, request: web.Request, rt: registry.ResourceType,
                info: RequestInfo, accept: negotiation.Accept,
                opts: params.ListOptions) -> web.StreamResponse:
    entries, revision, token, remaining = await list_entries(ctx, rt, info.namespace, opts)
    meta: Obj = {"resourceVersion": str(revision)}
    if token:
        meta["continue"] = token
        if remaining:
            meta["remainingItemCount"] = remaining
    if accept.table:
        objs = [present(rt, e.decode()) for e in entries]
        table = tables.to_table(rt, objs, now=ctx.now(), include_object=opts.include_object,
                                resource_version=str(revision), continue_token=token,
                                remaining=remaining or None)
        return negotiation.json_response(table)
    list_head: Obj = {"kind": rt.list_kind, "apiVersion": rt.api_version, "metadata": meta}
    if accept.partial_metadata:
        partial = {"kind": "PartialObjectMetadataList", "apiVersion": "meta.k8s.io/v1",
                   "metadata": meta, "items": [_partial(e.decode()) for e in entries]}
        return negotiation.json_response(partial)
    if accept.yaml or conversion.needs_conversion(rt) or rt.crd is not None:
        list_head["items"] = [present(rt, e.decode()) for e in entries]
        return negotiation.encode_response(list_head, accept)
    # Fast path: stored bytes are already the served JSON; splice them into the list.
    head = orjson.dumps(list_head)[:-1] + b',"items":['
    if len(entries) <= STREAM_ITEMS:
        body = b"".join((head, b",".join(e.raw for e in entries), b"]}"))
        return negotiation.raw_json_response(body)
    return await _stream_list(request, head, entries)


STREAM_ITEMS = 500          # larger lists are written in pieces
_PIECE = 256 * 1024


async def _stream_list(request: web.Request, head: bytes,
                       entries: list[watchcache.Entry]) -> web.StreamResponse:
    """Write a big list in pieces, waiting for each to drain, so neither the process nor
    the connection's TLS buffers ever hold the whole body."""
    response = web.StreamResponse(headers={"Content-Type": negotiation.JSON})
    response.enable_chunked_encoding()
    await response.prepare(request)
    piece: list[bytes] = [head]
    size = len(head)
    for i, entry in enumerate(entries):
        if i:
            piece.append(b",")
        piece.append(entry.raw)
        size += len(entry.raw) + 1
        if size >= _PIECE:
            await response.write(b"".join(piece))
            piece, size = [], 0
    piece.append(b"]}")
    await response.write(b"".join(piece))
    await response.write_eof()
    return response
