"""An async Kubernetes REST client over aiohttp, used by every kubelite component.

Only idempotent calls are retried on transport failures and 5xx/429: reads, watches, and
writes guarded by a resourceVersion (a retried guarded update either lands once or fails
with 409). A create or an unguarded patch is never retried, so it never runs twice.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import os
import ssl
import tempfile
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import orjson
import yaml

from kubelite.api import errors, registry

log = logging.getLogger(__name__)

Obj = dict[str, Any]
PATCH_TYPES = {
    "merge": "application/merge-patch+json",
    "strategic": "application/strategic-merge-patch+json",
    "json": "application/json-patch+json",
    "apply": "application/apply-patch+yaml",
}
RETRIES = 5


def _status_error(status: int, body: bytes) -> errors.APIError:
    try:
        parsed = orjson.loads(body)
    except orjson.JSONDecodeError:
        parsed = None
    if isinstance(parsed, dict) and parsed.get("kind") == "Status":
        return errors.from_status(parsed)
    return errors.APIError(body.decode(errors="replace")[:500] or f"HTTP {status}", status,
                           "Unknown")


class Client:
    """Talks to one API server. Resource types are `registry.ResourceType`s."""

    def __init__(self, server: str, *, ssl_context: ssl.SSLContext | bool = True,
                 token: str = "", user_agent: str = "kubelite", unix_socket: str = "") -> None:
        self.server = server.rstrip("/")
        self._unix_socket = unix_socket
        self.registry = registry.Registry()
        self._ssl = ssl_context
        headers = {"User-Agent": user_agent, "Accept": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self._headers = headers
        self._session: aiohttp.ClientSession | None = None

    @classmethod
    def from_kubeconfig(cls, path: str, *, user_agent: str = "kubelite") -> Client:
        """A client for the current context of a kubeconfig (embedded or file credentials)."""
        with open(path) as f:
            cfg = yaml.safe_load(f)
        ctx_name = cfg.get("current-context")
        ctx = next(c["context"] for c in cfg["contexts"] if c["name"] == ctx_name)
        cluster = next(c["cluster"] for c in cfg["clusters"] if c["name"] == ctx["cluster"])
        user = next(u["user"] for u in cfg["users"] if u["name"] == ctx["user"])
        tls = ssl.create_default_context()
        if "certificate-authority-data" in cluster:
            tls.load_verify_locations(cadata=base64.b64decode(
                cluster["certificate-authority-data"]).decode())
        elif "certificate-authority" in cluster:
            tls.load_verify_locations(cluster["certificate-authority"])
        _load_client_cert(tls, user)
        return cls(cluster["server"], ssl_context=tls, token=user.get("token", ""),
                   user_agent=user_agent)

    @classmethod
    def loopback(cls, unix_socket: str, token: str, *, user_agent: str = "kubelite") -> Client:
        """A client for a component bundled in the API server's process: plain HTTP over the
        server's loopback Unix socket (no TCP, no TLS), authenticated by its in-memory token."""
        return cls("http://localhost", token=token, user_agent=user_agent,
                   unix_socket=unix_socket)

    def _sess(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            connector: aiohttp.BaseConnector = (
                aiohttp.UnixConnector(self._unix_socket, limit=64) if self._unix_socket
                else aiohttp.TCPConnector(ssl=self._ssl, limit=64))
            self._session = aiohttp.ClientSession(
                connector=connector, headers=self._headers, json_serialize=lambda o: orjson.dumps(
                    o).decode(), timeout=aiohttp.ClientTimeout(total=None, sock_connect=10))
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    # -- paths ---------------------------------------------------------------------------

    def resource(self, api_version: str, kind: str) -> registry.ResourceType:
        rt = self.registry.by_api_version(api_version, kind)
        if rt is None:
            raise errors.PathNotFound(f"unknown kind {kind} in {api_version}")
        return rt

    @staticmethod
    def path(rt: registry.ResourceType, namespace: str = "", name: str = "",
             subresource: str = "") -> str:
        base = f"/apis/{rt.group}/{rt.version}" if rt.group else f"/api/{rt.version}"
        if rt.namespaced and namespace:
            base += f"/namespaces/{namespace}"
        base += f"/{rt.plural}"
        if name:
            base += f"/{name}"
        if subresource:
            base += f"/{subresource}"
        return base

    # -- transport -----------------------------------------------------------------------

    async def request(self, method: str, path: str, *, params: dict[str, str] | None = None,
                      body: Any = None, content_type: str = "application/json",
                      retry: bool | None = None) -> Obj:
        """One call; raises errors.APIError (from the server's Status) on failure."""
        data = None if body is None else (body if isinstance(body, bytes) else orjson.dumps(body))
        headers = {"Content-Type": content_type} if data is not None else None
        retry = method in ("GET", "HEAD") if retry is None else retry
        for attempt in range(RETRIES if retry else 1):
            try:
                async with self._sess().request(method, self.server + path, params=params,
                                                data=data, headers=headers) as resp:
                    raw = await resp.read()
                    if resp.status < 300:
                        return orjson.loads(raw) if raw else {}
                    err = _status_error(resp.status, raw)
                    if not (retry and (resp.status >= 500 or resp.status == 429)):
                        raise err
            except (TimeoutError, aiohttp.ClientConnectionError) as e:
                if not retry or attempt == RETRIES - 1:
                    raise errors.ServiceUnavailable(f"{method} {path}: {e}") from e
            await asyncio.sleep(min(0.1 * 2 ** attempt, 2.0))
        raise err

    # -- verbs ---------------------------------------------------------------------------

    async def get(self, rt: registry.ResourceType, name: str, namespace: str = "") -> Obj:
        return await self.request("GET", self.path(rt, namespace, name))

    async def list(self, rt: registry.ResourceType, namespace: str = "", *,
                   label_selector: str = "", field_selector: str = "", limit: int = 0,
                   continue_token: str = "", resource_version: str = "") -> Obj:
        params = {k: v for k, v in (("labelSelector", label_selector),
                                     ("fieldSelector", field_selector),
                                     ("limit", str(limit) if limit else ""),
                                     ("continue", continue_token),
                                     ("resourceVersion", resource_version)) if v}
        return await self.request("GET", self.path(rt, namespace), params=params)

    async def create(self, rt: registry.ResourceType, obj: Obj, namespace: str = "") -> Obj:
        ns = namespace or (obj.get("metadata") or {}).get("namespace", "")
        return await self.request("POST", self.path(rt, ns), body=obj, retry=False)

    async def update(self, rt: registry.ResourceType, obj: Obj, subresource: str = "") -> Obj:
        meta = obj["metadata"]
        guarded = bool(meta.get("resourceVersion"))
        return await self.request("PUT", self.path(rt, meta.get("namespace", ""), meta["name"],
                                                   subresource), body=obj, retry=guarded)

    async def update_status(self, rt: registry.ResourceType, obj: Obj) -> Obj:
        return await self.update(rt, obj, "status")

    async def patch(self, rt: registry.ResourceType, name: str, patch: Any, *,
                    namespace: str = "", patch_type: str = "merge", subresource: str = "",
                    field_manager: str = "", force: bool = False) -> Obj:
        params = {"fieldManager": field_manager} if field_manager else {}
        if force:
            params["force"] = "true"
        return await self.request("PATCH", self.path(rt, namespace, name, subresource),
                                  params=params, body=patch, content_type=PATCH_TYPES[patch_type],
                                  retry=False)

    async def delete(self, rt: registry.ResourceType, name: str, namespace: str = "", *,
                     propagation: str | None = None, grace_period: int | None = None,
                     uid: str = "", resource_version: str = "") -> Obj:
        body: Obj = {"kind": "DeleteOptions", "apiVersion": "v1"}
        if propagation:
            body["propagationPolicy"] = propagation
        if grace_period is not None:
            body["gracePeriodSeconds"] = grace_period
        pre = {k: v for k, v in (("uid", uid), ("resourceVersion", resource_version)) if v}
        if pre:
            body["preconditions"] = pre
        return await self.request("DELETE", self.path(rt, namespace, name), body=body,
                                  retry=True)

    async def bind(self, namespace: str, pod: str, node: str, pod_uid: str = "") -> None:
        rt = self.resource("v1", "Pod")
        binding: Obj = {"apiVersion": "v1", "kind": "Binding",
                        "metadata": {"name": pod, "namespace": namespace},
                        "target": {"apiVersion": "v1", "kind": "Node", "name": node}}
        if pod_uid:
            binding["metadata"]["uid"] = pod_uid
        await self.request("POST", self.path(rt, namespace, pod, "binding"), body=binding,
                           retry=False)

    async def watch(self, rt: registry.ResourceType, namespace: str = "", *,
                    resource_version: str = "", label_selector: str = "",
                    field_selector: str = "", timeout_seconds: int = 300,
                    bookmarks: bool = True) -> AsyncIterator[Obj]:
        """Watch events ({"type", "object"}) until the server ends the stream. An ERROR
        event is raised as the APIError its Status describes (410 -> relist)."""
        params = {"watch": "true", "timeoutSeconds": str(timeout_seconds)}
        for k, v in (("resourceVersion", resource_version), ("labelSelector", label_selector),
                     ("fieldSelector", field_selector)):
            if v:
                params[k] = v
        if bookmarks:
            params["allowWatchBookmarks"] = "true"
        timeout = aiohttp.ClientTimeout(total=None, sock_read=timeout_seconds + 30)
        async with self._sess().get(self.server + self.path(rt, namespace), params=params,
                                    timeout=timeout) as resp:
            if resp.status >= 300:
                raise _status_error(resp.status, await resp.read())
            async for line in resp.content:
                if not line.strip():
                    continue
                event = orjson.loads(line)
                if event.get("type") == "ERROR":
                    raise errors.from_status(event.get("object") or {})
                yield event


def _load_client_cert(tls: ssl.SSLContext, user: dict[str, Any]) -> None:
    if "client-certificate-data" in user:
        cert = base64.b64decode(user["client-certificate-data"])
        key = base64.b64decode(user["client-key-data"])
        with tempfile.TemporaryDirectory(prefix="kubelite-client-") as d:
            cert_path, key_path = os.path.join(d, "c.crt"), os.path.join(d, "c.key")
            for path, data in ((cert_path, cert), (key_path, key)):
                fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
                with os.fdopen(fd, "wb") as f:
                    f.write(data)
            tls.load_cert_chain(cert_path, key_path)
    elif "client-certificate" in user:
        tls.load_cert_chain(user["client-certificate"], user["client-key"])
