"""kubelite.storage: the Store contract and its backends."""

from __future__ import annotations

import os

from kubelite.storage import protocol


def open_store(url: str, data_dir: str) -> protocol.Store:
    """A store for `url`: "sqlite" (default file under data_dir), "sqlite:///path/state.db",
    or "etcd://host:port[,host:port...]"."""
    if url in ("", "sqlite"):
        from kubelite.storage import sqlite

        return sqlite.SQLiteStore(os.path.join(data_dir, "db", "state.db"))
    if url.startswith("sqlite://"):
        from kubelite.storage import sqlite

        return sqlite.SQLiteStore(url.removeprefix("sqlite://"))
    if url.startswith("etcd://"):
        from kubelite.storage import etcd

        return etcd.EtcdStore(url)  # type: ignore[attr-defined,no-any-return]
    raise ValueError(f"unsupported store {url!r}: use sqlite, sqlite:///path or etcd://host:port")
