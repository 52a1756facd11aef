"""Fixtures: one real server per session; each test works in its own namespace."""

from __future__ import annotations

import itertools
import os
from typing import Iterator

import pytest

from tests.e2e import cluster as cluster_mod

_counter = itertools.count()


@pytest.fixture(scope="session")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[cluster_mod.Cluster]:
    base = tmp_path_factory.mktemp("kubelite")
    c = cluster_mod.start(str(base / "data"), str(base / "home"), "--disable", "agent")
    yield c
    c.stop()


@pytest.fixture
def ns(cluster: cluster_mod.Cluster, request: pytest.FixtureRequest) -> Iterator[str]:
    """A fresh namespace for one test."""
    name = f"t{next(_counter)}-{os.getpid() % 10000}"
    cluster.kubectl("apply", "-f", "-", input=f"apiVersion: v1\nkind: Namespace\n"
                                              f"metadata: {{name: {name}}}\n")
    yield name


@pytest.fixture(scope="session")
def api_client(cluster: cluster_mod.Cluster):  # type: ignore[no-untyped-def]
    from kubernetes import client, config

    cfg = client.Configuration()
    config.load_kube_config(config_file=cluster.kubeconfig, client_configuration=cfg)
    with client.ApiClient(cfg) as api:
        yield api
