"""The node API server: HTTPS on the kubelet port, every request authenticated.

A caller proves itself with a client certificate signed by the cluster CA (the API
server's kubelet-client certificate) or with a bearer token the agent was given; there is
no anonymous access. Errors are plain text with the kubelet's status codes; the API
server turns them into Status objects.
"""

from __future__ import annotations

import hmac
import logging
import os
import socket
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiohttp import web

from kubelite.agent.nodeapi import (
    containerlogs,
    pods,
    portchannels,
    portforward,
    remotecommand,
    stats,
    tls,
)
from kubelite.agent.runtime import protocol

log = logging.getLogger(__name__)
DEFAULT_PORT = 10250


@dataclass(frozen=True)
class Config:
    tls_dir: str
    host: str = "127.0.0.1"
    client_ca_pem: str = ""
    tokens: tuple[str, ...] = ()


def bind(host: str, port: int) -> socket.socket:
    """Reserve the listening address early, so the node can register its real port."""
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    return sock


def _has_client_cert(request: web.Request) -> bool:
    """A peer certificate is only present after the TLS layer verified it against the CA."""
    transport = request.transport
    sslobj = transport.get_extra_info("ssl_object") if transport is not None else None
    return isinstance(sslobj, ssl.SSLObject) and bool(sslobj.getpeercert())


def _authenticator(config: Config) -> Callable[..., Awaitable[web.StreamResponse]]:
    @web.middleware
    async def authenticate(request: web.Request,
                           handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
                           ) -> web.StreamResponse:
        header = request.headers.get("Authorization", "")
        token = header[7:].strip() if header.startswith("Bearer ") else ""
        ok = (config.client_ca_pem and _has_client_cert(request)) or (
            token and any(hmac.compare_digest(token, t) for t in config.tokens))
        if not ok:
            return web.Response(status=401, text="Unauthorized")
        return await handler(request)
    return authenticate


class NodeAPI:
    """Serves containerLogs and exec for the containers `containers` can find, and the
    node's stats summary from `stats`."""

    def __init__(self, config: Config, runtime: protocol.Runtime,
                 containers: pods.Containers, stats: stats.Provider | None = None) -> None:
        self.config = config
        self.runtime = runtime
        self.containers = containers
        self.stats = stats
        self._runner: web.AppRunner | None = None

    def app(self) -> web.Application:
        app = web.Application(middlewares=[_errors, _authenticator(self.config)])
        app.router.add_get("/containerLogs/{ns}/{pod}/{container}", self.container_logs)
        app.router.add_get("/exec/{ns}/{pod}/{container}", self.exec)
        app.router.add_get("/attach/{ns}/{pod}/{container}", self.attach)
        app.router.add_get("/portForward/{ns}/{pod}", self.port_forward)
        app.router.add_get("/stats/summary", stats.handler(self.stats))
        app.router.add_get("/healthz", _healthz)
        return app

    async def start(self, sock: socket.socket) -> None:
        crt, key = tls.ensure_serving(self.config.tls_dir, self.config.host)
        context = tls.server_context(crt, key, self.config.client_ca_pem)
        self._runner = web.AppRunner(self.app(), handler_cancellation=True, access_log=None)
        await self._runner.setup()
        await web.SockSite(self._runner, sock, ssl_context=context).start()
        log.info("node API listening address=%s:%d", *sock.getsockname()[:2])

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def _find(self, request: web.Request) -> pods.Target:
        m = request.match_info
        return self.containers.find(m["ns"], m["pod"], m["container"])

    async def container_logs(self, request: web.Request) -> web.StreamResponse:
        opts = containerlogs.Options.parse(request.query)
        target = self._find(request)
        if opts.previous:
            path = pods.previous_log(target)

            async def running() -> bool:
                return False
        else:
            cid = pods.current_id(target)
            path = self.runtime.container_log_path(cid)

            async def running() -> bool:
                try:
                    return (await self.runtime.container_status(cid)).state == protocol.RUNNING
                except protocol.NotFound:
                    return False
        resp = web.StreamResponse(headers={"Content-Type": "text/plain"})
        if opts.follow:
            resp.enable_chunked_encoding()
        await resp.prepare(request)
        await containerlogs.stream(path, opts, resp.write, running)
        await resp.write_eof()
        return resp

    async def exec(self, request: web.Request) -> web.StreamResponse:
        req = remotecommand.Request.parse(request.query, request.query.getall("command", []))
        return await self._remotecommand(request, req, attach=False)

    async def attach(self, request: web.Request) -> web.StreamResponse:
        req = remotecommand.Request.parse(request.query, ["attach"])
        return await self._remotecommand(request, req, attach=True)

    async def _remotecommand(self, request: web.Request, req: remotecommand.Request, *,
                             attach: bool) -> web.StreamResponse:
        proto = remotecommand.negotiate(request.headers.get("Sec-WebSocket-Protocol", ""))
        if not proto:
            return _text(400, "a WebSocket with one of the protocols "
                         f"{', '.join(remotecommand.PROTOCOLS)} is required")
        target = self._find(request)
        cid = pods.current_id(target)
        if (await self.runtime.container_status(cid)).state != protocol.RUNNING:
            return _text(400, f'container not found ("{target.container}")')
        if attach:
            proc = await self.runtime.attach(cid, stdin=req.stdin)
        else:
            proc = await self.runtime.exec(cid, list(req.command), tty=req.tty, stdin=req.stdin)
        ws = web.WebSocketResponse(protocols=(proto,), max_msg_size=0)
        await ws.prepare(request)
        await remotecommand.serve(ws, proc, req)
        return ws

    async def port_forward(self, request: web.Request) -> web.StreamResponse:
        proto = portforward.negotiate(request.headers.get("Sec-WebSocket-Protocol", ""))
        if not proto:
            return _text(400, "a WebSocket with the protocol "
                         f"{portforward.SPDY_PROTOCOL} or {portforward.CHANNEL_PROTOCOL} is required")
        ports = [] if proto == portforward.SPDY_PROTOCOL else \
            portforward.query_ports(request.query.getall("port", []))
        sandbox = self.containers.sandbox(request.match_info["ns"], request.match_info["pod"])
        pod = portforward.PodNetwork(sandbox.id, sandbox.netns_path)
        offered = request.headers.get("Sec-WebSocket-Protocol", "").strip()
        ws = web.WebSocketResponse(protocols=(proto,) if offered else (), max_msg_size=0)
        await ws.prepare(request)
        if proto == portforward.SPDY_PROTOCOL:
            await portforward.serve_spdy(ws, pod)
        else:
            await portchannels.serve(ws, pod, ports)
        return ws


async def _healthz(_request: web.Request) -> web.Response:
    return web.Response(text="ok")


def _text(status: int, text: str) -> web.Response:
    """The error as body and as reason phrase: a WebSocket client sees only the latter."""
    reason = text.encode("ascii", "replace").decode().replace("\r", " ").replace("\n", " ")
    return web.Response(status=status, text=text + "\n", reason=reason)


@web.middleware
async def _errors(request: web.Request,
                  handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
                  ) -> web.StreamResponse:
    """Expected failures become the kubelet's plain-text error replies."""
    try:
        return await handler(request)
    except pods.NotFound as e:
        return _text(404, str(e))
    except (pods.BadRequest, containerlogs.InvalidOptions, remotecommand.InvalidRequest,
            portforward.InvalidRequest) as e:
        return _text(400, str(e))
    except protocol.NotFound as e:
        return _text(404, str(e))
    except protocol.RuntimeFailure as e:
        log.warning("node API request failed path=%s error=%s", request.path, e)
        return _text(500, str(e))


def default_tls_dir(data_dir: str) -> str:
    return os.path.join(data_dir, "nodeapi")
