"""End to end: push to a real registry, pull `busybox` through a docker.io mirror, run two
containers of it from the same shared layers."""

from __future__ import annotations

import os

from kubelite.agent.images import pull, registries, source, store
from kubelite.agent.runtime import logs, oci, protocol
from tests.agent.images import builder
from tests.agent.images.conftest import busybox_layer, registry  # noqa: F401 - fixtures
from tests.agent.runtime.conftest import pod


async def test_pulled_image_runs_twice_over_shared_layers(tmp_path, registry: builder.Registry,  # type: ignore[no-untyped-def]  # noqa: F811
                                                          busybox_layer: bytes, runtime: oci.OCIRuntime) -> None:  # noqa: F811
    registry.push("library/busybox", "e2e", builder.Image([busybox_layer]))
    images = store.Store(str(tmp_path / "kubelite-pulled"))
    cfg = registries.from_dict({"mirrors": {"docker.io": {"endpoint": [registry.url], "fallback": False}}})
    image = await pull.pull(images, "busybox:e2e", config=cfg)
    runtime.images = source.StoreSource(images)
    sid = await runtime.run_pod_sandbox(pod())
    layer = images.layer_dirs(image)[0]
    outs = []
    for name in ("one", "two"):
        cid = await runtime.create_container(sid, protocol.ContainerConfig(
            name=name, image="busybox:e2e", command=("sh", "-c", f"echo {name} > /mine; cat /mine")))
        await runtime.start_container(cid)
        st = await runtime.wait_container(cid)
        outs.append(b"".join(logs.read(st.log_path)))
    assert outs == [b"one\n", b"two\n"]
    assert not os.path.exists(os.path.join(layer, "mine"))  # writes went to each upperdir
