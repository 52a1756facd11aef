"""The official Python client, configured from a cluster's kubeconfig."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any


@contextlib.contextmanager
def api_client(kubeconfig: str) -> Iterator[Any]:
    """A kubernetes.client.ApiClient for the cluster, closed on exit."""
    from kubernetes import client, config

    cfg = client.Configuration()
    config.load_kube_config(config_file=kubeconfig, client_configuration=cfg)
    with client.ApiClient(cfg) as api:
        yield api
