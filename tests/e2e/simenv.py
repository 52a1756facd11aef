"""A real server with simulated (hollow) nodes and no node agent, for control-plane tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.e2e import cluster as cluster_mod


def running_cluster(tmp_path_factory: pytest.TempPathFactory, nodes: int, *extra: str
                    ) -> Iterator[cluster_mod.Cluster]:
    """Body of a module fixture: a server with `nodes` hollow nodes (hollow-0, ...), all
    registered before it is yielded; stopped after."""
    base = tmp_path_factory.mktemp("kubelite-sim")
    c = cluster_mod.start(str(base / "data"), str(base / "home"), "--disable", "agent",
                          "--sim-nodes", str(nodes), *extra)
    try:
        for i in range(nodes):
            c.kubectl("wait", "--for=create", f"node/hollow-{i}", "--timeout=60s")
        yield c
    finally:
        c.stop()
