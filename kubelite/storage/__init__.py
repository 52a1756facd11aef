"""kubelite.storage: the Store contract (protocol) and its backends (sqlite, etcd)."""

from __future__ import annotations

import os

from kubelite.storage import protocol


def open_store(url: str, data_dir: str) -> protocol.Store:
    """A store for `url`: "sqlite" (the file <data_dir>/db/state.db), "sqlite:///path/state.db",
    or "etcd://host:port[,host:port...]". The store is not started yet."""
    if url in ("", "sqlite"):
        from kubelite.storage import sqlite

        return sqlite.SQLiteStore(os.path.join(data_dir, "db", "state.db"))
    if url.startswith("sqlite://"):
        from kubelite.storage import sqlite

        path = url.removeprefix("sqlite://")
        if not path:
            raise ValueError(f"store {url!r} names no file: use sqlite:///path/state.db")
        return sqlite.SQLiteStore(path)
    if url.startswith("etcd://"):
        from kubelite.storage import etcd

        return etcd.EtcdStore(etcd.parse_endpoints(url))
    raise ValueError(f"unsupported store {url!r}: use sqlite, sqlite:///path or etcd://host:port")
