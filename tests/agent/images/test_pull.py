"""Pulls from a real docker-registry on loopback, through a docker.io mirror config."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import AsyncIterator

import pytest

from kubelite.agent.images import pull, registries, store
from tests.agent.images import builder


def mirror(reg: builder.Registry) -> registries.Config:
    return registries.from_dict({"mirrors": {"docker.io": {"endpoint": [reg.url], "fallback": False}}})


@pytest.fixture(scope="module")
def pushed(registry: builder.Registry, busybox_layer: bytes) -> builder.Image:
    image = builder.Image([busybox_layer], env=["PATH=/bin", "ARCH=amd64"])
    other = builder.Image([busybox_layer], env=["PATH=/bin", "ARCH=s390x"])
    registry.push("library/busybox", "latest", image)
    registry.push_index("library/multi", "v1", image, other)
    return image


async def test_unqualified_name_pulls_from_the_docker_io_mirror(
        images: store.Store, registry: builder.Registry, pushed: builder.Image) -> None:
    got = await pull.pull(images, "busybox", config=mirror(registry))
    assert got.name == "docker.io/library/busybox:latest"
    assert got.digest == builder.sha(pushed.manifest())
    assert got.id == builder.sha(pushed.config())
    layer = images.layer_dirs(got)[0]
    assert os.path.islink(os.path.join(layer, "bin/sh"))
    assert os.path.getsize(os.path.join(layer, "bin/busybox")) == os.path.getsize(builder.BUSYBOX)
    assert [i.name for i in images.list_images()] == [got.name]


async def test_index_picks_the_host_platform(images: store.Store, registry: builder.Registry,
                                             pushed: builder.Image) -> None:
    got = await pull.pull(images, "multi:v1", config=mirror(registry), arch="amd64")
    assert "ARCH=amd64" in images.config(got)["config"]["Env"]
    other = await pull.pull(images, "multi:v1", config=mirror(registry), arch="s390x")
    assert "ARCH=s390x" in images.config(other)["config"]["Env"]


async def test_missing_image_names_the_endpoint(images: store.Store, registry: builder.Registry,
                                                pushed: builder.Image) -> None:
    with pytest.raises(pull.PullError, match=f"{registry.url}: GET .* answered 404"):
        await pull.pull(images, "nosuch:v9", config=mirror(registry))
    assert images.list_images() == []


async def test_pinned_digest_must_match(images: store.Store, registry: builder.Registry,
                                        pushed: builder.Image) -> None:
    good = builder.sha(pushed.manifest())
    got = await pull.pull(images, f"{registry.url[7:]}/library/busybox@{good}")
    assert got.digest == good


@pytest.fixture
async def hanging_server() -> AsyncIterator[int]:
    """Accepts connections and never answers."""
    conns: list[asyncio.StreamWriter] = []

    async def accept(_: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        conns.append(w)

    server = await asyncio.start_server(accept, "127.0.0.1", 0)
    yield server.sockets[0].getsockname()[1]
    for w in conns:
        w.close()
    server.close()
    await server.wait_closed()


async def test_hanging_registry_times_out(images: store.Store, hanging_server: int) -> None:
    with pytest.raises(pull.RegistryTimeout, match="timed out"):
        await pull.pull(images, f"127.0.0.1:{hanging_server}/app:v1", timeout=0.3)


async def test_token_auth_challenge_is_answered(images: store.Store, registry: builder.Registry,
                                                pushed: builder.Image) -> None:
    from tests.agent.images import tokenproxy
    async with tokenproxy.TokenProxy(registry.url, user="kube", password="lite") as proxy:
        cfg = registries.from_dict({
            "mirrors": {"docker.io": {"endpoint": [proxy.url], "fallback": False}},
            "configs": {proxy.url[7:]: {"auth": {"username": "kube", "password": "lite"}}}})
        got = await pull.pull(images, "busybox", config=cfg)
        assert got.digest == builder.sha(pushed.manifest())
        assert proxy.token_requests == [("repository:library/busybox:pull", "kubelite-registry")]
        unauth = registries.from_dict({"mirrors": {"docker.io": {"endpoint": [proxy.url],
                                                                 "fallback": False}}})
        with pytest.raises(pull.PullError, match="token service"):
            await pull.pull(store.Store(images.root + "2"), "busybox", config=unauth)


def test_manifest_blob_is_kept(images: store.Store, registry: builder.Registry,
                               pushed: builder.Image) -> None:
    got = asyncio.run(pull.pull(images, "busybox", config=mirror(registry)))
    assert json.loads(images.read_blob(got.digest))["config"]["digest"] == got.id
