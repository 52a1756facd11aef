"""Routing a resource request to its verb handler.

The URL says what (RequestInfo), the method and query say which verb; everything is
served generically from the registry, so a newly registered type needs no new routes.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from kubelite.api import errors, registry
from kubelite.apiserver import context, metrics, negotiation, params, requestinfo
from kubelite.apiserver.handlers import delete, patch, read, reviews, subresources, watch, write

Handler = Callable[[context.Context, web.Request, registry.ResourceType,
                    requestinfo.RequestInfo, negotiation.Accept], Awaitable[web.StreamResponse]]

_STREAMING = ("log", "exec", "attach", "portforward", "proxy")
_SUBRESOURCE_HANDLERS: dict[tuple[str, str], Handler] = {
    ("scale", "GET"): subresources.scale, ("scale", "PUT"): subresources.scale,
    ("scale", "PATCH"): subresources.scale,
    ("binding", "POST"): subresources.binding,
    ("eviction", "POST"): subresources.eviction,
    ("finalize", "PUT"): subresources.finalize,
}


def _method_not_allowed(method: str, what: str) -> errors.APIError:
    return errors.MethodNotAllowed(f"the server does not allow this method on the requested "
                                   f"resource ({method} {what})")


def _check_scope(rt: registry.ResourceType, info: requestinfo.RequestInfo, method: str) -> None:
    if not rt.namespaced and info.namespace:
        raise errors.PathNotFound()
    if rt.namespaced and not info.namespace and (info.name or method not in ("GET",)):
        if info.name:
            raise errors.PathNotFound()
        raise _method_not_allowed(method, rt.plural)


def _subresource(ctx: context.Context, rt: registry.ResourceType,
                 info: requestinfo.RequestInfo, method: str) -> Handler:
    sub = info.subresource
    allowed = rt.subresources if rt.crd is None else tuple(rt.crd.get("subresources") or ())
    if sub not in allowed:
        raise errors.PathNotFound()
    if sub == "status":
        generic = {"GET": read.get, "PUT": write.update, "PATCH": patch.patch}.get(method)
        if generic is None:
            raise _method_not_allowed(method, f"{rt.plural}/status")
        return generic
    if sub in _STREAMING:
        if ctx.node_proxy is None:
            raise errors.ServiceUnavailable(f"{rt.plural}/{sub} needs a node agent, and none "
                                            f"is connected to this server")
        return ctx.node_proxy.handler(sub)  # type: ignore[no-any-return]
    handler = _SUBRESOURCE_HANDLERS.get((sub, method))
    if handler is None:
        raise _method_not_allowed(method, f"{rt.plural}/{sub}")
    return handler


async def dispatch(ctx: context.Context, request: web.Request,
                   info: requestinfo.RequestInfo) -> web.StreamResponse:
    rt = ctx.resource(info.group, info.version, info.resource)
    method = request.method
    accept = negotiation.parse_accept(request.headers.get("Accept", ""))
    if rt.group == metrics.GROUP:
        return await metrics.serve(ctx, request, rt, info, accept)
    if not rt.persisted:
        if method != "POST" or info.name:
            raise _method_not_allowed(method, rt.plural)
        return await reviews.review(ctx, request, rt, info, accept)
    if info.subresource:
        _check_scope(rt, info, "GET" if info.namespace else method)
        return await _subresource(ctx, rt, info, method)(ctx, request, rt, info, accept)
    _check_scope(rt, info, method)
    if info.name:
        if method == "GET" and request.query.get("watch") in ("true", "1"):
            opts = params.ListOptions.parse(request.query)
            return await watch.serve(ctx, request, rt, info, accept, opts)
        handler = {"GET": read.get, "PUT": write.update, "PATCH": patch.patch,
                   "DELETE": delete.delete}.get(method)
    else:
        if method == "GET":
            opts = params.ListOptions.parse(request.query)
            if opts.watch:
                return await watch.serve(ctx, request, rt, info, accept, opts)
            return await read.list_(ctx, request, rt, info, accept, opts)
        handler = {"POST": write.create, "DELETE": delete.delete_collection}.get(method)
    if handler is None:
        raise _method_not_allowed(method, rt.plural)
    return await handler(ctx, request, rt, info, accept)
