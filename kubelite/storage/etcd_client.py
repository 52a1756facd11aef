"""A small etcd v3 client over etcd's JSON gateway (HTTP/1.1 + JSON, no gRPC stack).

Requests are POSTs of JSON bodies to /v3/kv/... and /v3/watch; keys and values travel
base64-encoded, 64-bit integers as decimal strings, and zero-valued fields are omitted.
Endpoints are tried in turn: a connection failure moves on to the next one.
"""

from __future__ import annotations

import base64
import logging
from dataclasses import dataclass
from typing import Any

import aiohttp
import orjson

from kubelite.storage import protocol

log = logging.getLogger(__name__)
GRPC_OUT_OF_RANGE = 11   # etcd: a compacted or a future revision
GRPC_UNAVAILABLE = 14


class EtcdError(protocol.StoreError):
    """An error answer from etcd, with its gRPC status code."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(f"etcd: {message} (code {code})")
        self.code = code


@dataclass(frozen=True, slots=True)
class Endpoints:
    urls: tuple[str, ...]   # http://host:port, at least one


def parse_endpoints(url: str) -> Endpoints:
    """etcd://h1:2379[,h2:2379...] -> the gateway base URLs."""
    hosts = [h.strip() for h in url.removeprefix("etcd://").split(",") if h.strip()]
    if not hosts or any("/" in h for h in hosts):
        raise ValueError(f"bad etcd store {url!r}: use etcd://host:port[,host:port...]")
    return Endpoints(tuple(f"http://{h}" for h in hosts))


def b64(text: str | bytes) -> str:
    raw = text.encode() if isinstance(text, str) else text
    return base64.b64encode(raw).decode()


def unb64(text: str | None) -> bytes:
    return base64.b64decode(text) if text else b""


def prefix_end(prefix: str) -> str:
    """The range_end (base64) covering every key that starts with prefix ("\\0" = all)."""
    raw = bytearray(prefix.encode())
    while raw and raw[-1] == 0xFF:
        raw.pop()
    if not raw:
        return b64(b"\0")
    raw[-1] += 1
    return b64(bytes(raw))


def to_kv(kv: dict[str, Any]) -> protocol.KeyValue:
    return protocol.KeyValue(unb64(kv["key"]).decode(), unb64(kv.get("value")),
                             int(kv.get("create_revision", 0)), int(kv.get("mod_revision", 0)))


def header_revision(resp: dict[str, Any]) -> int:
    return int(resp.get("header", {}).get("revision", 0))


class Client:
    """One aiohttp session to the gateway of an etcd cluster."""

    def __init__(self, endpoints: Endpoints) -> None:
        self._urls = list(endpoints.urls)
        self._session: aiohttp.ClientSession | None = None

    async def open(self) -> None:
        connector = aiohttp.TCPConnector(limit=64)
        self._session = aiohttp.ClientSession(connector=connector,
                                              json_serialize=lambda o: orjson.dumps(o).decode())

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None:
            raise protocol.StoreError("etcd store is not open")
        return self._session

    def url(self, path: str) -> str:
        return self._urls[0] + path

    def rotate(self) -> None:
        """Move on to the next endpoint after a connection failure."""
        self._urls.append(self._urls.pop(0))

    async def call(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        """POST body to path; the decoded answer, or EtcdError."""
        last: Exception | None = None
        for _ in range(len(self._urls) + 1):     # +1: a pooled connection may be stale
            try:
                async with self.session.post(self.url(path), data=orjson.dumps(body)) as resp:
                    data = orjson.loads(await resp.read())
            except (aiohttp.ClientConnectionError, OSError) as e:
                log.warning("etcd endpoint failed url=%s error=%s", self._urls[0], e)
                last = e
                self.rotate()
                continue
            if "error" in data or resp.status != 200:
                raise EtcdError(int(data.get("code", 2)), str(data.get("message") or data))
            return data  # type: ignore[no-any-return]
        raise EtcdError(GRPC_UNAVAILABLE, f"no etcd endpoint answered: {last}")
