"""WATCH: a chunked stream of one JSON event per line, served from the watch cache.

resourceVersion unset or "0" starts with the current state as ADDED events; N resumes
after N; an N older than the cache's history answers an ERROR event carrying a 410
Status, as upstream does, so informers relist.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import orjson
from aiohttp import web

from kubelite.api import errors, registry
from kubelite.api.printers import table as tables
from kubelite.apiserver import context, conversion, negotiation, objects, params, selection, watchcache
from kubelite.apiserver.handlers import read
from kubelite.apiserver.requestinfo import RequestInfo

BOOKMARK_INTERVAL = 5.0
BATCH_EVENTS = 256
BATCH_BYTES = 256 * 1024
COALESCE_SECONDS = 0.01
MAX_TIMEOUT = 1800


def _encoder(ctx: context.Context, rt: registry.ResourceType, accept: negotiation.Accept,
             include_object: str) -> Any:
    """How one (type, entry) becomes one line on the wire."""
    if accept.table:
        def encode(kind: str, entry: watchcache.Entry) -> bytes:
            obj = read.present(rt, entry.decode())
            body = tables.to_table(rt, [obj], now=ctx.now(), include_object=include_object,
                                   resource_version=str(entry.rv))
            return orjson.dumps({"type": kind, "object": body}) + b"\n"
    elif conversion.needs_conversion(rt) or rt.crd is not None or accept.partial_metadata:
        def encode(kind: str, entry: watchcache.Entry) -> bytes:
            obj = read.present(rt, entry.decode())
            if accept.partial_metadata:
                obj = {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
                       "metadata": obj.get("metadata", {})}
            return orjson.dumps({"type": kind, "object": obj}) + b"\n"
    else:
        def encode(kind: str, entry: watchcache.Entry) -> bytes:
            return b'{"type":"%s","object":%s}\n' % (kind.encode(), entry.raw)
    return encode


def _bookmark(rt: registry.ResourceType, revision: int) -> bytes:
    obj = {"kind": rt.kind, "apiVersion": rt.api_version,
           "metadata": {"resourceVersion": str(revision)}}
    return orjson.dumps({"type": "BOOKMARK", "object": obj}) + b"\n"


async def _start(ctx: context.Context, rt: registry.ResourceType, info: RequestInfo,
                 opts: params.ListOptions) -> watchcache.Watcher:
    predicate = selection.build(rt, info.namespace, opts.label_selector, opts.field_selector)
    if info.name:
        name, inner = info.name, predicate
        predicate = lambda e: e.name == name and inner(e)
    rv = opts.resource_version
    if rv in ("", "0") and opts.send_initial_events is not False:
        if rv == "":
            await ctx.cache.wait_fresh()
        return ctx.cache.watch(rt.key_prefix(), predicate, None)
    revision = objects.parse_rv(rv) if rv else ctx.cache.revision
    await ctx.cache.wait_for_revision(revision)
    return ctx.cache.watch(rt.key_prefix(), predicate, revision)


async def serve(ctx: context.Context, request: web.Request, rt: registry.ResourceType,
                info: RequestInfo, accept: negotiation.Accept,
                opts: params.ListOptions) -> web.StreamResponse:
    timeout = min(opts.timeout_seconds or MAX_TIMEOUT, MAX_TIMEOUT)
    response = web.StreamResponse(headers={"Content-Type": negotiation.JSON,
                                           "Cache-Control": "no-cache, private"})
    response.enable_chunked_encoding()
    try:
        watcher = await _start(ctx, rt, info, opts)
    except errors.Gone as e:
        await response.prepare(request)
        await response.write(orjson.dumps({"type": "ERROR", "object": e.status()}) + b"\n")
        return response
    await response.prepare(request)
    encode = _encoder(ctx, rt, accept, opts.include_object)
    try:
        async with asyncio.timeout(timeout):
            await _pump(ctx, rt, response, watcher, encode, opts.allow_bookmarks)
    except TimeoutError:
        pass
    except errors.Gone as e:
        with contextlib.suppress(ConnectionError):
            await response.write(orjson.dumps({"type": "ERROR", "object": e.status()}) + b"\n")
    except ConnectionError:
        pass
    finally:
        watcher.stop()
    return response


async def _pump(ctx: context.Context, rt: registry.ResourceType, response: web.StreamResponse,
                watcher: watchcache.Watcher, encode: Any, bookmarks: bool) -> None:
    loop = asyncio.get_running_loop()
    last_write = 0.0
    while True:
        try:
            # a timer, not wait_for: wait_for starts a task for every event it waits for
            async with asyncio.timeout(BOOKMARK_INTERVAL if bookmarks else None):
                item = await watcher.next()
        except TimeoutError:
            await response.write(_bookmark(rt, ctx.cache.revision))
            continue
        if item is None:
            return
        # Everything already queued goes out in one write: one TLS record and one
        # syscall per burst instead of per event (a scheduler under load sees bursts).
        # A stream that wrote moments ago is busy: it waits a few milliseconds so the
        # burst can grow; an idle stream sends its first event at once.
        now = loop.time()
        if now - last_write < COALESCE_SECONDS:
            await asyncio.sleep(COALESCE_SECONDS)
        last_write = now
        lines = [encode(*item)]
        size = len(lines[0])
        ended = False
        for pending in watcher.drain(BATCH_EVENTS):
            if pending is None:
                ended = True
                break
            line = encode(*pending)
            lines.append(line)
            size += len(line)
            if size >= BATCH_BYTES:
                break
        await response.write(b"".join(lines))
        if ended:
            await watcher.next()   # raises Gone when the watcher fell behind
            return
