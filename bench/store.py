"""Raw insert throughput of the store backends.

`python -m bench.store [--n N] [--etcd etcd://127.0.0.1:2379]` prints creates/s of the
SQLite store (a fresh file in a temporary directory) with 1 and 20 concurrent writers,
and of etcd when an endpoint is given or an etcd binary is installed (then a throwaway
etcd is started on 127.0.0.1 and stopped afterwards).
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import tempfile
import time

from kubelite.storage import etcd, protocol, sqlite
from tests.storage import etcd_server

VALUE = b'{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"x"},"data":{"k":"' + \
    b"v" * 800 + b'"}}'


async def insert_throughput(store: protocol.Store, n: int, concurrency: int) -> float:
    """Creates per second of `n` new keys written by `concurrency` concurrent writers."""
    run = time.monotonic_ns()

    async def writer(w: int) -> None:
        for i in range(w, n, concurrency):
            await store.create(f"/registry/bench/{run}/k{i:08d}", VALUE)

    start = time.perf_counter()
    await asyncio.gather(*(writer(w) for w in range(concurrency)))
    return n / (time.perf_counter() - start)


async def _measure(name: str, store: protocol.Store, n: int) -> None:
    await store.start()
    try:
        for concurrency in (1, 20):
            rate = await insert_throughput(store, n, concurrency)
            print(f"{name:7} concurrency={concurrency:<3} n={n:<7} {rate:10.0f} creates/s")
    finally:
        await store.close()


async def main(n: int, etcd_url: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        await _measure("sqlite", sqlite.SQLiteStore(f"{tmp}/state.db", compact_interval=0), n)
        if etcd_url:
            await _measure("etcd", etcd.EtcdStore(etcd.parse_endpoints(etcd_url)), n)
        elif shutil.which("etcd"):
            with etcd_server.running(f"{tmp}/etcd") as url:
                await _measure("etcd", etcd.EtcdStore(etcd.parse_endpoints(url)), n)
        else:
            print("etcd    skipped: no etcd binary and no --etcd endpoint")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20_000, help="creates per measurement")
    parser.add_argument("--etcd", default="", help="an etcd:// endpoint to measure instead")
    args = parser.parse_args()
    asyncio.run(main(args.n, args.etcd))
