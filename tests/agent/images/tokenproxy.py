"""A registry front that demands Bearer tokens (the Docker token protocol) and proxies to a real one."""

from __future__ import annotations

import base64
import secrets
from types import TracebackType

import aiohttp
from aiohttp import web


class TokenProxy:
    def __init__(self, upstream: str, *, user: str, password: str) -> None:
        self.upstream = upstream
        self.basic = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
        self.token = secrets.token_hex(8)
        self.token_requests: list[tuple[str, str]] = []
        self.url = ""
        app = web.Application()
        app.router.add_get("/token", self._token)
        app.router.add_get("/v2/{tail:.*}", self._proxy)
        self.runner = web.AppRunner(app)

    async def __aenter__(self) -> TokenProxy:  # noqa: PYI034
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        port = self.runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}"
        return self

    async def __aexit__(self, t: type[BaseException] | None, e: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.runner.cleanup()

    async def _token(self, request: web.Request) -> web.Response:
        if request.headers.get("Authorization") != self.basic:
            return web.json_response({"errors": [{"code": "UNAUTHORIZED"}]}, status=401)
        self.token_requests.append((request.query["scope"], request.query["service"]))
        return web.json_response({"token": self.token})

    async def _proxy(self, request: web.Request) -> web.Response:
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            challenge = f'Bearer realm="{self.url}/token",service="kubelite-registry"'
            return web.json_response({"errors": [{"code": "UNAUTHORIZED"}]}, status=401,
                                     headers={"WWW-Authenticate": challenge})
        headers = {"Accept": request.headers.get("Accept", "*/*")}
        async with aiohttp.ClientSession() as session, \
                session.get(self.upstream + request.path, headers=headers) as resp:
            body = await resp.read()
            keep = {k: v for k, v in resp.headers.items() if k in ("Content-Type", "Docker-Content-Digest")}
            return web.Response(body=body, status=resp.status, headers=keep)
