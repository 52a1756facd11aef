"""etcd watch streams over the JSON gateway.

POST /v3/watch with a create_request answers with a never-ending HTTP body of JSON
messages separated by newlines: first {"created": true}, then batches of events, or a
"compact_revision" when the start revision is gone. etcd delivers every event once and
in order; when the stream breaks, we reopen it after the last revision delivered, on the
next endpoint, so the caller still sees every event exactly once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import orjson

from kubelite.storage import etcd_client, protocol

log = logging.getLogger(__name__)
RETRY_MIN, RETRY_MAX = 0.1, 2.0
_NO_TIMEOUT = aiohttp.ClientTimeout(total=None, sock_read=None, sock_connect=10)


def create_request(prefix: str, after: int) -> dict[str, Any]:
    key = etcd_client.b64(prefix) if prefix else etcd_client.b64(b"\0")
    return {"create_request": {"key": key, "range_end": etcd_client.prefix_end(prefix),
                               "start_revision": str(after + 1), "prev_kv": True}}


def to_event(ev: dict[str, Any]) -> protocol.Event:
    """An etcd event as a protocol.Event; a DELETE carries the last value from prev_kv."""
    kv = etcd_client.to_kv(ev["kv"])
    prev = etcd_client.to_kv(ev["prev_kv"]) if "prev_kv" in ev else None
    if ev.get("type") == "DELETE":
        last = prev or kv
        return protocol.Event("DELETE", protocol.KeyValue(kv.key, last.value,
                                                          last.create_revision, kv.mod_revision),
                              prev)
    return protocol.Event("PUT", kv, None if kv.create_revision == kv.mod_revision else prev)


async def messages(resp: aiohttp.ClientResponse) -> AsyncIterator[dict[str, Any]]:
    """The `result` objects of one watch response body."""
    buf = bytearray()
    async for chunk in resp.content.iter_any():
        buf += chunk
        while (end := buf.find(b"\n")) >= 0:
            line = bytes(buf[:end])
            del buf[:end + 1]
            if not line.strip():
                continue
            msg = orjson.loads(line)
            if "error" in msg:
                err = msg["error"]
                raise etcd_client.EtcdError(int(err.get("grpc_code", err.get("code", 2))),
                                            str(err.get("message", err)))
            yield msg.get("result", {})


class Streams:
    """The watch connections of one store: each holds its own HTTP connection for its
    lifetime, so they use a pool of their own; close() ends every open watch."""

    def __init__(self, client: etcd_client.Client) -> None:
        self._client = client
        self._session: aiohttp.ClientSession | None = None
        self._open: set[aiohttp.ClientResponse] = set()

    def open(self) -> None:
        self._session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))

    async def close(self) -> None:
        session, self._session = self._session, None
        for resp in list(self._open):
            resp.close()          # wakes the reader: its stream ends
        if session is not None:
            await session.close()

    async def stream(self, prefix: str, start_revision: int) -> AsyncIterator[protocol.Event]:
        """Every event under prefix after start_revision, reconnecting as needed; ends
        when the streams are closed."""
        last, delay = start_revision, RETRY_MIN
        while self._session is not None:
            try:
                async for event in self._once(self._session, prefix, last):
                    last, delay = event.kv.mod_revision, RETRY_MIN
                    yield event
            except (aiohttp.ClientConnectionError, aiohttp.ClientPayloadError, OSError) as e:
                if self._session is None:
                    return
                log.warning("etcd watch broke prefix=%s revision=%d error=%s", prefix, last, e)
            if self._session is None:
                return
            self._client.rotate()
            await asyncio.sleep(delay)
            delay = min(delay * 2, RETRY_MAX)

    async def _once(self, session: aiohttp.ClientSession, prefix: str,
                    after: int) -> AsyncIterator[protocol.Event]:
        """One watch request: its events until the body ends."""
        async with session.post(self._client.url("/v3/watch"), timeout=_NO_TIMEOUT,
                                data=orjson.dumps(create_request(prefix, after))) as resp:
            self._open.add(resp)
            try:
                async for result in messages(resp):
                    _check(result, after)
                    for raw in result.get("events", ()):
                        event = to_event(raw)
                        after = event.kv.mod_revision
                        yield event
            finally:
                self._open.discard(resp)


def _check(result: dict[str, Any], last: int) -> None:
    if int(result.get("compact_revision", 0)):
        raise protocol.Compacted(last, int(result["compact_revision"]))
    if result.get("canceled"):
        raise etcd_client.EtcdError(2,
                                    f"watch canceled: {result.get('cancel_reason', '')}")
