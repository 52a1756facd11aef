"""The Store over a real etcd v3 cluster, for several API servers sharing one state.

etcd's revisions are the store's revisions. Writes are single transactions: create
compares the key's create_revision with 0, update/delete compare its mod_revision with
the expected one (or, when none is expected, that it exists), and on failure read the
key back to say why. Watches start at start_revision + 1 with prev_kv (etcd_watch).
etcd's "required revision has been compacted" becomes protocol.Compacted.

etcd keeps the revision passed to compact() readable, as the SQLite store does, so
"compacted revision" means the same in both backends.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

from kubelite.storage import etcd_client, etcd_watch, protocol

log = logging.getLogger(__name__)
NAME = "etcd"
PROBE_TIMEOUT = 5.0


def parse_endpoints(url: str) -> etcd_client.Endpoints:
    """etcd://host:port[,host:port...] -> the endpoints EtcdStore takes."""
    return etcd_client.parse_endpoints(url)


class EtcdStore:
    """Store backed by an etcd v3 cluster reached through its JSON gateway."""

    def __init__(self, endpoints: etcd_client.Endpoints, *, compact_interval: float = 300.0,
                 compact_keep: int = 1000) -> None:
        self._client = etcd_client.Client(endpoints)
        self._compact_interval = compact_interval
        self._compact_keep = compact_keep
        self._compacted = 0        # the highest compacted revision seen so far
        self._streams = etcd_watch.Streams(self._client)
        self._task: asyncio.Task[None] | None = None

    # -- lifecycle ------------------------------------------------------------------------

    async def start(self) -> None:
        await self._client.open()
        self._streams.open()
        await self.current_revision()           # fail fast when no endpoint answers
        if self._compact_interval > 0:
            self._task = asyncio.create_task(self._compact_loop(), name="etcd-compact")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self._streams.close()
        await self._client.close()

    # -- reads ----------------------------------------------------------------------------

    async def current_revision(self) -> int:
        resp = await self._client.call("/v3/kv/range", {"key": etcd_client.b64("\0"), "limit": 1,
                                                        "count_only": True})
        return etcd_client.header_revision(resp)

    async def compacted_revision(self) -> int:
        with contextlib.suppress(asyncio.TimeoutError):
            async with asyncio.timeout(PROBE_TIMEOUT):
                await self._probe_compacted()
        return self._compacted

    async def _probe_compacted(self) -> None:
        """etcd tells its compacted revision only to a watch that starts before it: watch
        everything from revision 1 and look at the first answer (an event = nothing lost)."""
        if await self.current_revision() <= 1:
            return
        try:
            async for _event in self._streams.stream("", 0):
                return
        except protocol.Compacted as e:
            self._compacted = max(self._compacted, e.compacted)

    async def _range(self, body: dict[str, Any]) -> dict[str, Any]:
        try:
            return await self._client.call("/v3/kv/range", body)
        except etcd_client.EtcdError as e:
            revision = int(body.get("revision", 0))
            if e.code == etcd_client.GRPC_OUT_OF_RANGE and revision <= await self.current_revision():
                raise protocol.Compacted(revision, await self.compacted_revision()) from e
            raise

    async def get(self, key: str, *, revision: int = 0) -> protocol.KeyValue | None:
        body: dict[str, Any] = {"key": etcd_client.b64(key)}
        if revision:
            body["revision"] = str(revision)
        kvs = (await self._range(body)).get("kvs")
        return etcd_client.to_kv(kvs[0]) if kvs else None

    async def list(self, prefix: str, *, start_after: str = "", limit: int = 0,
                   revision: int = 0) -> protocol.ListResult:
        start = start_after + "\0" if start_after and start_after >= prefix else prefix
        body: dict[str, Any] = {"key": etcd_client.b64(start or "\0"),
                                "range_end": etcd_client.prefix_end(prefix)}
        if limit:
            body["limit"] = str(limit)
        if revision:
            body["revision"] = str(revision)
        resp = await self._range(body)
        items = [etcd_client.to_kv(kv) for kv in resp.get("kvs", ())]
        return protocol.ListResult(items, revision or etcd_client.header_revision(resp),
                                   bool(resp.get("more")))

    async def count(self, prefix: str) -> int:
        resp = await self._range({"key": etcd_client.b64(prefix or "\0"),
                                  "range_end": etcd_client.prefix_end(prefix),
                                  "count_only": True})
        return int(resp.get("count", 0))

    # -- writes ---------------------------------------------------------------------------

    async def _txn(self, key: str, compare: dict[str, Any],
                   success: dict[str, Any]) -> dict[str, Any]:
        body = {"compare": [dict(compare, key=etcd_client.b64(key))], "success": [success],
                "failure": [{"request_range": {"key": etcd_client.b64(key)}}]}
        return await self._client.call("/v3/kv/txn", body)

    async def create(self, key: str, value: bytes) -> protocol.KeyValue:
        resp = await self._txn(key, {"target": "CREATE", "result": "EQUAL", "create_revision": "0"},
                               {"request_put": {"key": etcd_client.b64(key), "value": etcd_client.b64(value)}})
        if not resp.get("succeeded"):
            raise protocol.KeyExists(key)
        rev = etcd_client.header_revision(resp)
        return protocol.KeyValue(key, value, rev, rev)

    async def update(self, key: str, value: bytes, expected_revision: int) -> protocol.KeyValue:
        resp = await self._txn(key, _mod_compare(expected_revision),
                               {"request_put": {"key": etcd_client.b64(key), "value": etcd_client.b64(value),
                                                "prev_kv": True}})
        prev = etcd_client.to_kv(_first(resp, key, "response_put")["prev_kv"])
        return protocol.KeyValue(key, value, prev.create_revision,
                                 etcd_client.header_revision(resp))

    async def delete(self, key: str, expected_revision: int = 0) -> protocol.KeyValue:
        resp = await self._txn(key, _mod_compare(expected_revision),
                               {"request_delete_range": {"key": etcd_client.b64(key), "prev_kv": True}})
        prev = etcd_client.to_kv(_first(resp, key, "response_delete_range")["prev_kvs"][0])
        return protocol.KeyValue(key, prev.value, prev.create_revision,
                                 etcd_client.header_revision(resp))

    # -- watch ----------------------------------------------------------------------------

    async def watch(self, prefix: str, start_revision: int) -> AsyncIterator[protocol.Event]:
        if start_revision < self._compacted:
            raise protocol.Compacted(start_revision, self._compacted)
        try:
            async for event in self._streams.stream(prefix, start_revision):
                yield event
        except protocol.Compacted as e:
            self._compacted = max(self._compacted, e.compacted)
            raise

    # -- compaction -----------------------------------------------------------------------

    async def compact(self, revision: int) -> None:
        revision = min(revision, await self.current_revision())
        if revision <= self._compacted:
            return
        try:
            await self._client.call("/v3/kv/compaction", {"revision": str(revision)})
        except etcd_client.EtcdError as e:
            if e.code != etcd_client.GRPC_OUT_OF_RANGE:   # already compacted further: fine
                raise
        self._compacted = revision
        log.info("compacted etcd revision=%d", revision)

    async def _compact_loop(self) -> None:
        """Every interval, forget history older than the newest `compact_keep` revisions."""
        while True:
            await asyncio.sleep(self._compact_interval)
            try:
                target = await self.current_revision() - self._compact_keep
                if target > self._compacted:
                    await self.compact(target)
            except protocol.StoreError as e:
                log.warning("etcd compaction failed error=%s", e)


def _mod_compare(expected: int) -> dict[str, Any]:
    """Compare on mod_revision: equal to expected, or (expected 0) present at all."""
    if expected:
        return {"target": "MOD", "result": "EQUAL", "mod_revision": str(expected)}
    return {"target": "MOD", "result": "GREATER", "mod_revision": "0"}


def _first(resp: dict[str, Any], key: str, kind: str) -> dict[str, Any]:
    """The single response of a txn; raises why it failed when the compare did not hold."""
    first = resp.get("responses", [{}])[0]
    if resp.get("succeeded"):
        return first.get(kind, {})  # type: ignore[no-any-return]
    kvs = first.get("response_range", {}).get("kvs")
    if not kvs:
        raise protocol.KeyNotFound(key)
    current = etcd_client.to_kv(kvs[0])
    raise protocol.RevisionMismatch(current)
