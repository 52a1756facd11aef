from __future__ import annotations

import os
import secrets
import shutil
import subprocess
from collections.abc import AsyncIterator, Iterator

import pytest

from kubelite.agent.images import archive, source, store
from kubelite.agent.runtime import cgroups, oci, ocibinary, protocol
from tests.agent.images import builder

IMAGE = "docker.io/kubelite/busybox:test"


def _why_not() -> str:
    if os.geteuid() != 0:
        return "needs root (runc, cgroups, network namespaces, overlay mounts)"
    for tool in ("runc", "busybox", "ip", "unshare"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed (scripts/install-system-deps.sh)"
    return ""


@pytest.fixture(scope="session")
def image_store(tmp_path_factory: pytest.TempPathFactory) -> store.Store:
    if why := _why_not():
        pytest.skip(why)
    root = tmp_path_factory.mktemp("kubelite-rt-images")
    images = store.Store(str(root / "store"))
    builder.Image([builder.busybox_layer()], workdir="/www").docker_save(str(root / "bb.tar"), IMAGE)
    archive.import_archive(images, str(root / "bb.tar"))
    return images


def leftovers(parent: str, netns_prefix: str, root: str) -> list[str]:
    """Everything a removed sandbox must not leave: cgroups, netns, mounts."""
    out = cgroups.dirs("/" + parent)
    netns = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=True).stdout
    out += [line for line in netns.splitlines() if line.startswith(netns_prefix)]
    out += [p for p in os.listdir("/etc/netns") if p.startswith(netns_prefix)] if os.path.isdir("/etc/netns") else []
    with open("/proc/mounts") as f:
        out += [line for line in f if root in line]
    return out


@pytest.fixture(params=["runc", "crun"])
def oci_binary(request: pytest.FixtureRequest) -> ocibinary.Binary:
    """Every runtime test runs with runc and with crun (wrapped as this host needs)."""
    if request.param == "crun" and ocibinary.crun() is None:
        pytest.skip("crun is not installed or not usable here (scripts/install-system-deps.sh)")
    return ocibinary.resolve(request.param)


@pytest.fixture
async def runtime(tmp_path, image_store: store.Store,  # type: ignore[no-untyped-def]
                  oci_binary: ocibinary.Binary) -> AsyncIterator[oci.OCIRuntime]:
    parent = f"kubelite-test-{secrets.token_hex(4)}"
    opts = oci.Options(root=str(tmp_path / "kubelite-rt"), runc_root=str(tmp_path / "kubelite-runc"),
                       cgroup_parent=parent, log_max_size=1 << 20, binary=oci_binary)
    rt = oci.OCIRuntime(source.StoreSource(image_store), opts)
    rt.test_parent = parent  # type: ignore[attr-defined]
    try:
        yield rt
    finally:
        for sid in list(rt.sandboxes):
            await rt.remove_pod_sandbox(sid)
        await rt.close()
        cgroups.remove("/" + parent)


def pod(name: str = "web", **kw) -> protocol.PodSandboxConfig:  # type: ignore[no-untyped-def]
    return protocol.PodSandboxConfig(name=name, namespace="default", uid=secrets.token_hex(8), **kw)


def ctr(name: str, *args: str, **kw) -> protocol.ContainerConfig:  # type: ignore[no-untyped-def]
    return protocol.ContainerConfig(name=name, image=IMAGE, command=tuple(args), **kw)


@pytest.fixture
def sb_config() -> Iterator[protocol.PodSandboxConfig]:
    yield pod()
