from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest

from kubelite.agent.images import store
from tests.agent.images import builder


@pytest.fixture(scope="session")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[builder.Registry]:
    if shutil.which("docker-registry") is None:
        pytest.skip("docker-registry is not installed (scripts/install-system-deps.sh)")
    reg = builder.Registry(str(tmp_path_factory.mktemp("kubelite-registry")))
    try:
        yield reg
    finally:
        reg.stop()


@pytest.fixture(scope="session")
def busybox_layer() -> bytes:
    if not builder.BUSYBOX or not shutil.which("busybox"):
        pytest.skip("busybox (busybox-static) is not installed")
    return builder.busybox_layer()


@pytest.fixture
def images(tmp_path) -> store.Store:  # type: ignore[no-untyped-def]
    return store.Store(str(tmp_path / "kubelite-images"))
