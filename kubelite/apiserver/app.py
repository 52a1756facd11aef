"""The aiohttp application: authentication, error translation, and the top-level routes
(version, health, discovery, OpenAPI) in front of the generic resource dispatch."""

from __future__ import annotations

import datetime
import logging
import platform
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from aiohttp import web

from kubelite import __version__
from kubelite.api import discovery, errors, openapi, openapi_v2
from kubelite.apiserver import auth, context, negotiation, requestinfo, routes

log = logging.getLogger(__name__)

PUBLIC_PATHS = frozenset({"/version", "/healthz", "/livez", "/readyz"})
_DISCOVERY_V2 = "apidiscovery.k8s.io"

CTX: web.AppKey[context.Context] = web.AppKey("ctx", context.Context)
AUTHN = auth.AUTHN_KEY

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def version_info() -> dict[str, str]:
    return {
        "major": "1", "minor": "32", "gitVersion": f"v1.32.4-kubelite{__version__}",
        "gitCommit": "kubelite", "gitTreeState": "clean", "buildDate": "2026-01-01T00:00:00Z",
        "goVersion": f"python{platform.python_version()}", "compiler": "cpython",
        "platform": f"linux/{_arch()}",
    }


def _arch() -> str:
    machine = platform.machine().lower()
    return {"x86_64": "amd64", "aarch64": "arm64"}.get(machine, machine)


def _status_response(err: errors.APIError) -> web.Response:
    headers = {"Retry-After": str(err.retry_after)} if err.retry_after else None
    return negotiation.json_response(err.status(), err.code, headers)


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except errors.APIError as e:
        return _status_response(e)
    except web.HTTPException:
        raise
    except Exception as e:  # a bug: answer a Status, keep the server up, log the trace
        log.exception("unhandled error method=%s path=%s", request.method, request.path)
        return _status_response(errors.InternalError(f"{type(e).__name__}: {e}"))


@web.middleware
async def auth_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.path not in PUBLIC_PATHS:
        request["user"] = request.app[AUTHN].authenticate(request)
    return await handler(request)


# -- top-level routes ------------------------------------------------------------------------

async def _version(request: web.Request) -> web.Response:
    return negotiation.json_response(version_info())


async def _ok(request: web.Request) -> web.Response:
    return web.Response(text="ok")


def _wants_aggregated(request: web.Request) -> str:
    """The aggregated discovery version the Accept header asks for first, if any."""
    for alt in request.headers.get("Accept", "").split(","):
        params = dict(p.strip().split("=", 1) for p in alt.split(";")[1:] if "=" in p)
        if params.get("g") == _DISCOVERY_V2 and params.get("as") == "APIGroupDiscoveryList":
            return params.get("v", "v2")
        if not params:
            return ""
    return ""


def _discovery_response(request: web.Request, body: dict[str, Any], aggregated: str
                        ) -> web.Response:
    etag = '"' + discovery.etag(body) + '"'
    headers = {"ETag": etag, "Vary": "Accept"}
    if request.headers.get("If-None-Match") == etag:
        return web.Response(status=304, headers=headers)
    resp = negotiation.json_response(body, headers=headers)
    if aggregated:
        resp.content_type = "application/json"
        resp.headers["Content-Type"] = (f"application/json;g={_DISCOVERY_V2};v={aggregated};"
                                        f"as=APIGroupDiscoveryList")
    return resp


async def _api(request: web.Request) -> web.Response:
    ctx = request.app[CTX]
    agg = _wants_aggregated(request)
    if agg:
        return _discovery_response(request, discovery.aggregated(ctx.registry, legacy=True,
                                                                 version=agg), agg)
    return _discovery_response(request, discovery.api_versions(request.host), "")


async def _apis(request: web.Request) -> web.Response:
    ctx = request.app[CTX]
    agg = _wants_aggregated(request)
    if agg:
        return _discovery_response(request, discovery.aggregated(ctx.registry, legacy=False,
                                                                 version=agg), agg)
    return _discovery_response(request, discovery.api_group_list(ctx.registry), "")


async def _api_group(request: web.Request) -> web.Response:
    body = discovery.api_group(request.app[CTX].registry, request.match_info["group"])
    if body is None:
        raise errors.PathNotFound()
    return negotiation.json_response(body)


async def _resource_list(request: web.Request) -> web.Response:
    group = request.match_info.get("group", "")
    body = discovery.resource_list(request.app[CTX].registry, group, request.match_info["version"])
    if body is None:
        raise errors.PathNotFound()
    return negotiation.json_response(body)


async def _openapi_index(request: web.Request) -> web.Response:
    body = orjson.dumps(openapi.index(request.app[CTX].registry))
    etag = '"' + openapi.content_hash(body) + '"'
    if request.headers.get("If-None-Match") == etag:
        return web.Response(status=304, headers={"ETag": etag})
    return negotiation.raw_json_response(body, headers={"ETag": etag})


async def _openapi_gv(request: web.Request) -> web.Response:
    path = request.match_info["path"]
    found = openapi.document_bytes(request.app[CTX].registry, path)
    if found is None:
        raise errors.PathNotFound()
    body, digest = found
    wanted = request.query.get("hash")
    if wanted and wanted != digest:
        raise web.HTTPMovedPermanently(f"/openapi/v3/{path}?hash={digest}")
    headers = {"ETag": f'"{digest}"', "Vary": "Accept"}
    if wanted:
        headers["Cache-Control"] = "public, immutable"
        headers["Expires"] = (datetime.datetime.now(datetime.UTC)
                              + datetime.timedelta(days=365)).strftime(
            "%a, %d %b %Y %H:%M:%S GMT")
    if request.headers.get("If-None-Match") == headers["ETag"]:
        return web.Response(status=304, headers=headers)
    return negotiation.raw_json_response(body, headers=headers)


async def _openapi_v2(request: web.Request) -> web.Response:
    if openapi_v2.wants_protobuf(request.headers.get("Accept", "")):
        return web.Response(body=openapi_v2.document_protobuf(),
                            content_type=openapi_v2.PROTOBUF_RESPONSE)
    return negotiation.json_response(openapi_v2.document())


async def _resource(request: web.Request) -> web.StreamResponse:
    info = requestinfo.parse(request.path)
    if info is None:
        raise errors.PathNotFound()
    return await routes.dispatch(request.app[CTX], request, info)


def build(ctx: context.Context, authenticator: auth.Authenticator) -> web.Application:
    app = web.Application(middlewares=[error_middleware, auth_middleware],
                          client_max_size=64 * 1024 * 1024)
    app[CTX] = ctx
    app[AUTHN] = authenticator
    r = app.router
    r.add_get("/version", _version)
    for path in PUBLIC_PATHS - {"/version"}:
        r.add_get(path, _ok)
    r.add_get("/api", _api)
    r.add_get("/apis", _apis)
    r.add_get("/api/{version}", _resource_list)
    r.add_get("/apis/{group}", _api_group)
    r.add_get("/apis/{group}/{version}", _resource_list)
    r.add_get("/openapi/v3", _openapi_index)
    r.add_get("/openapi/v3/{path:.+}", _openapi_gv)
    r.add_get("/openapi/v2", _openapi_v2)
    r.add_route("*", "/{tail:.*}", _resource)
    return app
