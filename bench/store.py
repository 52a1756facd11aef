"""Raw insert throughput of the store backends.

`python -m bench.store [--n N] [--etcd etcd://127.0.0.1:2379]` prints creates/s of the
SQLite store (a fresh file in a temporary directory) with 1 and 20 concurrent writers,
and of etcd when an endpoint is given or an etcd binary is installed (then a throwaway
etcd is started on 127.0.0.1 and stopped afterwards).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Iterator

from kubelite.storage import etcd, protocol, sqlite

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


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def local_etcd(data_dir: str) -> Iterator[str]:
    """A throwaway single-member etcd on loopback; yields its etcd:// URL."""
    client, peer = _free_port(), _free_port()
    proc = subprocess.Popen(
        ["etcd", "--name", "bench", "--data-dir", data_dir,
         "--listen-client-urls", f"http://127.0.0.1:{client}",
         "--advertise-client-urls", f"http://127.0.0.1:{client}",
         "--listen-peer-urls", f"http://127.0.0.1:{peer}",
         "--initial-advertise-peer-urls", f"http://127.0.0.1:{peer}",
         "--initial-cluster", f"bench=http://127.0.0.1:{peer}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_healthy(f"http://127.0.0.1:{client}/health", proc)
        yield f"etcd://127.0.0.1:{client}"
    finally:
        proc.terminate()
        proc.wait(10)


def _wait_healthy(url: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"etcd exited with {proc.returncode}")
        with contextlib.suppress(OSError), urllib.request.urlopen(url, timeout=1) as resp:
            if b'"true"' in resp.read():
                return
        time.sleep(0.05)
    raise RuntimeError("etcd did not become healthy")


async def main(n: int, etcd_url: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        await _measure("sqlite", sqlite.SQLiteStore(f"{tmp}/state.db", compact_interval=0), n)
        if etcd_url:
            await _measure("etcd", etcd.EtcdStore(etcd.parse_endpoints(etcd_url)), n)
        elif shutil.which("etcd"):
            with local_etcd(f"{tmp}/etcd") as url:
                await _measure("etcd", etcd.EtcdStore(etcd.parse_endpoints(url)), n)
        else:
            print("etcd    skipped: no etcd binary and no --etcd endpoint")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20_000, help="creates per measurement")
    parser.add_argument("--etcd", default="", help="an etcd:// endpoint to measure instead")
    args = parser.parse_args()
    asyncio.run(main(args.n, args.etcd))
