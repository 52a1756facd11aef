"""Recording core/v1 Events about objects, as `kubectl describe` and `get events` show them.

Repeats of the same (object, reason, message) within a short window are folded into one
Event whose count and lastTimestamp grow, as upstream's event correlator does. A recorder
writes at most WRITERS events at once (upstream's broadcaster writes one at a time): a burst
of events then reuses a few kept-alive connections instead of opening (and TLS-handshaking)
one per event, which on a busy node costs more than the writes themselves.
"""

from __future__ import annotations

import asyncio
import datetime
import logging
import secrets
from typing import Any

from kubelite.api import errors
from kubelite.client import rest

log = logging.getLogger(__name__)

Obj = dict[str, Any]
WRITERS = 4


def now_datetime() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def now() -> str:
    """The current time as Kubernetes writes timestamps (RFC 3339, seconds, UTC)."""
    return now_datetime().strftime("%Y-%m-%dT%H:%M:%SZ")


def _ref(obj: Obj) -> Obj:
    meta = obj["metadata"]
    ref = {"kind": obj.get("kind", ""), "apiVersion": obj.get("apiVersion", ""),
           "name": meta.get("name", ""), "uid": meta.get("uid", ""),
           "resourceVersion": meta.get("resourceVersion", "")}
    if meta.get("namespace"):
        ref["namespace"] = meta["namespace"]
    return ref


class Recorder:
    """Writes Events for one component (e.g. "deployment-controller")."""

    def __init__(self, client: rest.Client, component: str, host: str = "") -> None:
        self._client = client
        self._component = component
        self._host = host
        self._rt = client.resource("v1", "Event")
        self._seen: dict[tuple[str, str, str, str], Obj] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._writers = asyncio.Semaphore(WRITERS)

    def event(self, obj: Obj, type_: str, reason: str, message: str) -> None:
        """Record without blocking the caller; failures are logged, never raised."""
        task = asyncio.create_task(self._write(obj, type_, reason, message))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _write(self, obj: Obj, type_: str, reason: str, message: str) -> None:
        async with self._writers:
            await self._send(obj, type_, reason, message)

    async def _send(self, obj: Obj, type_: str, reason: str, message: str) -> None:
        ref = _ref(obj)
        ns = ref.get("namespace") or "default"
        key = (ref["uid"], type_, reason, message)
        try:
            prior = self._seen.get(key)
            if prior is not None:
                prior["count"] = int(prior.get("count", 1)) + 1
                prior["lastTimestamp"] = now()
                patch = {"count": prior["count"], "lastTimestamp": prior["lastTimestamp"]}
                self._seen[key] = await self._client.patch(
                    self._rt, prior["metadata"]["name"], patch, namespace=ns)
                return
            stamp = now()
            source: Obj = {"component": self._component}
            if self._host:
                source["host"] = self._host
            ev = {"apiVersion": "v1", "kind": "Event",
                  "metadata": {"name": f"{ref['name']}.{secrets.token_hex(8)}", "namespace": ns},
                  "involvedObject": ref, "reason": reason, "message": message, "type": type_,
                  "source": source, "firstTimestamp": stamp, "lastTimestamp": stamp, "count": 1,
                  "reportingComponent": self._component, "reportingInstance": self._host}
            self._seen[key] = await self._client.create(self._rt, ev, ns)
            if len(self._seen) > 4096:
                self._seen.pop(next(iter(self._seen)))
        except errors.APIError as e:
            self._seen.pop(key, None)
            log.debug("event not recorded reason=%s error=%s", reason, e)
