"""Proxying pods/log, exec, attach and portforward to the node agent that runs the pod.

The API server resolves the container (defaulting to the only one), finds the node's
address and kubelet port from its status, and relays: a streamed HTTP GET for logs, a
WebSocket in both directions for exec, attach and portforward (the agent's chosen
subprotocol is passed back; port-forward's `ports` query becomes the kubelet's `port`).
It authenticates to the agent with a client certificate signed by the cluster CA. The
agent's serving certificate is self-signed and not verified (as an API server without
--kubelet-certificate-authority); in exchange, only loopback node addresses are used,
and those inside the node networks the server was told of (`--node-network`).
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import os
import ssl
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from typing import Any
from urllib.parse import quote

import aiohttp
from aiohttp import web

from kubelite.api import errors, registry
from kubelite.apiserver import certs, context, negotiation, spdyupgrade
from kubelite.apiserver.requestinfo import RequestInfo

Obj = dict[str, Any]
Handler = Callable[[context.Context, web.Request, registry.ResourceType, RequestInfo,
                    negotiation.Accept], Awaitable[web.StreamResponse]]
CLIENT_CN = "kube-apiserver-kubelet-client"
_AGENT_PATHS = {"log": "containerLogs", "exec": "exec", "attach": "attach",
                "portforward": "portForward"}


def ensure_client_cert(pki: certs.PKI) -> tuple[str, str]:
    """The API server's kubelet-client certificate files, issued on first use."""
    crt, key = pki.path("kubelet-client.crt"), pki.path("kubelet-client.key")
    if not (os.path.exists(crt) and os.path.exists(key)):
        pair = certs.issue(pki.ca, CLIENT_CN, orgs=("system:masters",))
        for path, data in ((key, pair.key_pem), (crt, pair.cert_pem)):
            fd = os.open(path + ".tmp", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            os.replace(path + ".tmp", path)
    return crt, key


def choose_container(pod: Obj, container: str) -> str:
    """The container a request means, with the API server's errors for bad choices."""
    spec, name = pod.get("spec") or {}, pod["metadata"]["name"]
    mains = [c["name"] for c in spec.get("containers") or []]
    inits = [c["name"] for c in spec.get("initContainers") or []]
    if not container:
        if len(mains) == 1:
            return mains[0]
        if not mains:
            raise errors.BadRequest(f"a container name must be specified for pod {name}")
        msg = f"a container name must be specified for pod {name}, choose one of: [{' '.join(mains)}]"
        if inits:
            msg += f" or one of the init containers: [{' '.join(inits)}]"
        raise errors.BadRequest(msg)
    ephemeral = [c["name"] for c in spec.get("ephemeralContainers") or []]
    if container not in mains + inits + ephemeral:
        raise errors.BadRequest(f"container {container} is not valid for pod {name}")
    return container


_node_networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()


def allow_node_networks(cidrs: tuple[str, ...]) -> None:
    """Networks besides loopback where node agents may be reached (set once at start)."""
    global _node_networks
    _node_networks = tuple(ipaddress.ip_network(c, strict=False) for c in cidrs)


def _reachable(address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return ip.is_loopback or any(ip in net for net in _node_networks)


def node_address(node: Obj) -> str:
    """The node's address, refused unless it is loopback or in an allowed node network
    (the only places we may connect)."""
    by_type = {a.get("type"): a.get("address", "") for a in
               (node.get("status") or {}).get("addresses") or []}
    address = by_type.get("InternalIP") or by_type.get("ExternalIP") or ""
    if not _reachable(address):
        raise errors.ServiceUnavailable(
            f"node {node['metadata']['name']} has no address to reach its agent at (got "
            f"{address!r}; allowed: loopback and --node-network)")
    return f"[{address}]" if ":" in address else address


def agent_error(status: int, text: str) -> errors.APIError:
    """The agent's plain-text error as the Status kubectl shows."""
    text = text.strip() or f"the node agent answered {status}"
    if status == 404:
        return errors.NotFound("", "pods", "", text)
    if status == 400:
        return errors.BadRequest(text)
    return errors.InternalError(text)


class NodeProxy:
    """Owns the client TLS context and connection pool used to reach node agents."""

    def __init__(self, client_cert: str, client_key: str) -> None:
        tls = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        tls.check_hostname = False
        tls.verify_mode = ssl.CERT_NONE
        tls.load_cert_chain(client_cert, client_key)
        self._tls = tls
        self._session: aiohttp.ClientSession | None = None

    def _sess(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(ssl=self._tls),
                timeout=aiohttp.ClientTimeout(total=None, sock_connect=10))
        return self._session

    def session(self) -> aiohttp.ClientSession:
        """The pooled HTTPS session that reaches node agents as the kubelet client."""
        return self._sess()

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    def handler(self, sub: str) -> Handler:
        """The route handler for one streaming subresource."""
        if sub == "log":
            return self._log
        if sub in ("exec", "attach", "portforward"):
            return self._stream
        async def unsupported(*_args: Any) -> web.StreamResponse:
            raise errors.BadRequest(f"pods/{sub} is not supported by this server yet")
        return unsupported

    async def _target(self, ctx: context.Context, rt: registry.ResourceType, info: RequestInfo,
                      container: str, sub: str) -> str:
        """The agent URL for this pod's container."""
        pod = await ctx.objects.get(rt, info.namespace, info.name)
        parts = [info.namespace, info.name]
        if sub != "portforward":
            parts.append(choose_container(pod, container))
        node_name = (pod.get("spec") or {}).get("nodeName") or ""
        if not node_name:
            raise errors.BadRequest(f"pod {info.name} does not have a host assigned")
        node_rt = ctx.resource("", "v1", "nodes")
        node = await ctx.objects.get(node_rt, "", node_name)
        port = (((node.get("status") or {}).get("daemonEndpoints") or {})
                .get("kubeletEndpoint") or {}).get("Port") or 10250
        path = "/".join(quote(p, safe="") for p in parts)
        return f"https://{node_address(node)}:{int(port)}/{_AGENT_PATHS[sub]}/{path}"

    async def _log(self, ctx: context.Context, request: web.Request, rt: registry.ResourceType,
                   info: RequestInfo, accept: negotiation.Accept) -> web.StreamResponse:
        url = await self._target(ctx, rt, info, request.query.get("container", ""), "log")
        query = [(k, v) for k, v in request.query.items() if k != "container"]
        async with self._sess().get(url, params=query) as upstream:
            if upstream.status != 200:
                raise agent_error(upstream.status, await upstream.text())
            out = web.StreamResponse(headers={"Content-Type": "text/plain"})
            if request.query.get("follow") in ("true", "1"):
                out.enable_chunked_encoding()
            await out.prepare(request)
            async for chunk in upstream.content.iter_any():
                await out.write(chunk)
            await out.write_eof()
            return out

    async def _stream(self, ctx: context.Context, request: web.Request,
                      rt: registry.ResourceType, info: RequestInfo,
                      accept: negotiation.Accept) -> web.StreamResponse:
        url = await self._target(ctx, rt, info, request.query.get("container", ""),
                                 info.subresource)
        offered = [p.strip() for p in request.headers.get("Sec-WebSocket-Protocol", "").split(",")
                   if p.strip()]
        forwarding = info.subresource == "portforward"
        spdy = forwarding and spdyupgrade.requested(request)
        if spdy:
            spdyupgrade.check(request)
            offered = [spdyupgrade.TUNNELLED]
        elif request.headers.get("Upgrade", "").lower() != "websocket" or not (offered or forwarding):
            raise errors.BadRequest(f"pods/{info.subresource} needs a WebSocket upgrade with the "
                                    f"{_PROTOCOLS[forwarding]} protocol")
        query = agent_query(request.query, forwarding)
        try:
            agent = await self._sess().ws_connect(url, params=query, protocols=offered,
                                                  max_msg_size=0)
        except aiohttp.WSServerHandshakeError as e:
            raise agent_error(e.status, e.message) from None
        async with agent:
            if spdy:
                resp, copies = await spdyupgrade.accept(request, agent)
                try:
                    await both_ways(*copies)
                finally:
                    request.transport.close()  # type: ignore[union-attr]
                return resp
            ws = web.WebSocketResponse(protocols=(agent.protocol,) if agent.protocol else (),
                                       max_msg_size=0)
            await ws.prepare(request)
            await relay(ws, agent)
            return ws


_PROTOCOLS = {False: "v5.channel.k8s.io or v4.channel.k8s.io",
              True: "SPDY/3.1+portforward.k8s.io or v4.channel.k8s.io"}


def agent_query(query: Mapping[str, str], forwarding: bool) -> list[tuple[str, str]]:
    """The query for the agent: without `container`; port-forward's `ports` as `port`."""
    if not forwarding:
        return [(k, v) for k, v in query.items() if k != "container"]
    out = []
    for key, value in query.items():
        if key not in ("ports", "port"):
            continue
        for text in value.split(","):
            if not text.strip().isdigit() or not 0 < int(text) < 65536:
                raise errors.BadRequest(f'unable to parse "{text}" as a port for portforward')
            out.append(("port", text.strip()))
    return out


async def _copy(src: Any, dst: Any) -> None:
    """Forward messages until `src` closes; then close `dst` with the same code."""
    async for msg in src:
        if dst.closed:
            break
        if msg.type == aiohttp.WSMsgType.BINARY:
            await dst.send_bytes(msg.data)
        elif msg.type == aiohttp.WSMsgType.TEXT:
            await dst.send_str(msg.data)
    if not dst.closed:
        await dst.close(code=src.close_code or aiohttp.WSCloseCode.OK)


async def relay(client: web.WebSocketResponse, agent: aiohttp.ClientWebSocketResponse) -> None:
    """Relay both ways; either side closing ends the session for both."""
    await both_ways(_copy(agent, client), _copy(client, agent))


async def both_ways(*copies: Coroutine[Any, Any, None]) -> None:
    """Run the copies until one ends, give the others a moment to finish, then stop them."""
    tasks = [asyncio.create_task(c) for c in copies]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        await asyncio.wait(tasks, timeout=5)
    finally:
        for t in tasks:
            t.cancel()
        for t in tasks:
            with contextlib.suppress(asyncio.CancelledError, ConnectionError):
                await t
