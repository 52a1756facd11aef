"""Registry authentication: Bearer token challenges (the Docker token protocol) and Basic."""

from __future__ import annotations

import base64
import re
from typing import Any

import aiohttp

from kubelite.agent.images import registries

_PARAM = re.compile(r'(\w+)="([^"]*)"')


class AuthError(PermissionError):
    """The registry refused our credentials or its token service failed."""


def parse_challenge(header: str) -> tuple[str, dict[str, str]]:
    """Split `Bearer realm="...",service="..."` into ("bearer", {realm:..., service:...})."""
    scheme, _, rest = header.strip().partition(" ")
    return scheme.lower(), dict(_PARAM.findall(rest))


def basic(creds: registries.Credentials) -> str:
    raw = f"{creds.username}:{creds.password}".encode()
    return "Basic " + base64.b64encode(raw).decode()


async def authorization(session: aiohttp.ClientSession, challenge: str, scope: str,
                        creds: registries.Credentials | None) -> str:
    """The Authorization header value answering `challenge` for the repository `scope`."""
    scheme, params = parse_challenge(challenge)
    if scheme == "basic":
        if creds is None:
            raise AuthError("registry wants Basic credentials and none are configured")
        return basic(creds)
    if scheme != "bearer" or "realm" not in params:
        raise AuthError(f"unsupported registry auth challenge {challenge!r}")
    if creds is not None and creds.token and not creds.username:
        return f"Bearer {creds.token}"
    query = {"scope": params.get("scope", scope)}
    if "service" in params:
        query["service"] = params["service"]
    headers = {"Authorization": basic(creds)} if creds and creds.username else {}
    async with session.get(params["realm"], params=query, headers=headers) as resp:
        if resp.status != 200:
            raise AuthError(f"token service {params['realm']} answered {resp.status}")
        body: dict[str, Any] = await resp.json(content_type=None)
    token = body.get("token") or body.get("access_token")
    if not token:
        raise AuthError("token service returned no token")
    return f"Bearer {token}"
