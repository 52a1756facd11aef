"""Container start benchmark: raw `runc run` of a bundle vs the runtime's create+start of a
container in a pod sandbox (overlay rootfs, cgroups, log copier, reaper), to first exit.

Both run `/bin/true` from the same busybox image; the figure is the median of N runs and
the ratio runtime/raw is what the runtime's own work costs. Needs root and runc. Run:

    .venv/bin/python bench/runtime.py [-n 30]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from kubelite.agent.images import archive, source, store
from kubelite.agent.runtime import cgroups, oci, ocibinary, protocol, rootfs
from tests.agent.images import builder

IMAGE = "docker.io/kubelite/bench:1"


def raw_runc(tmp: str, layers: tuple[str, ...], n: int,
             binary: ocibinary.Binary = ocibinary.RUNC) -> list[float]:
    """`runc run` (or `crun run`, wrapped as the host needs) of a prepared bundle: the floor
    any runtime built on that binary sits on."""
    bundle = os.path.join(tmp, f"raw-{binary.name}")
    os.makedirs(bundle)
    merged = rootfs.mount(layers, bundle)
    subprocess.run(["runc", "spec", "--bundle", bundle], check=True)
    with open(os.path.join(bundle, "config.json")) as f:
        spec = json.load(f)
    spec["process"].update(terminal=False, args=["/bin/true"])
    spec["root"] = {"path": merged, "readonly": False}
    spec["linux"]["cgroupsPath"] = f"/kubelite-bench-raw-{secrets.token_hex(3)}/c"
    with open(os.path.join(bundle, "config.json"), "w") as f:
        json.dump(spec, f)
    times = []
    try:
        for i in range(n):
            t0 = time.perf_counter()
            subprocess.run([*binary.run_prefix, binary.path, "--root",
                            os.path.join(tmp, f"{binary.name}-raw"), "run", "--bundle", bundle,
                            f"kubelite-bench-{i}"], check=True, stdin=subprocess.DEVNULL)
            times.append(time.perf_counter() - t0)
    finally:
        rootfs.unmount(bundle)
        cgroups.remove(spec["linux"]["cgroupsPath"].rsplit("/", 1)[0])
    return times


async def runtime_runs(tmp: str, images: store.Store, n: int) -> tuple[list[float], list[float]]:
    rt = oci.OCIRuntime(source.StoreSource(images), oci.Options(
        root=os.path.join(tmp, "rt"), runc_root=os.path.join(tmp, "runc-rt"),
        cgroup_parent=f"kubelite-bench-{secrets.token_hex(3)}"))
    starts, removes = [], []
    sid = await rt.run_pod_sandbox(protocol.PodSandboxConfig(name="bench", namespace="default", uid="b1"))
    try:
        for i in range(n):
            t0 = time.perf_counter()
            cid = await rt.create_container(sid, protocol.ContainerConfig(
                name=f"c{i}", image=IMAGE, command=("/bin/true",)))
            await rt.start_container(cid)
            await rt.wait_container(cid)
            t1 = time.perf_counter()
            await rt.remove_container(cid)
            starts.append(t1 - t0)
            removes.append(time.perf_counter() - t1)
    finally:
        await rt.remove_pod_sandbox(sid)
        await rt.close()
    return starts, removes


async def sandbox_runs(tmp: str, images: store.Store, n: int) -> list[float]:
    rt = oci.OCIRuntime(source.StoreSource(images), oci.Options(
        root=os.path.join(tmp, "rt-sb"), runc_root=os.path.join(tmp, "runc-sb"),
        cgroup_parent=f"kubelite-bench-{secrets.token_hex(3)}"))
    times = []
    for i in range(n):
        t0 = time.perf_counter()
        sid = await rt.run_pod_sandbox(protocol.PodSandboxConfig(name=f"p{i}", namespace="d", uid=f"u{i}"))
        times.append(time.perf_counter() - t0)
        await rt.remove_pod_sandbox(sid)
    await rt.close()
    return times


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("-n", type=int, default=30)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="kubelite-bench-") as tmp:
        images = store.Store(os.path.join(tmp, "images"))
        builder.Image([builder.busybox_layer()]).docker_save(os.path.join(tmp, "i.tar"), IMAGE)
        [image] = archive.import_archive(images, os.path.join(tmp, "i.tar"))
        raw = raw_runc(tmp, tuple(images.layer_dirs(image)), args.n)
        starts, removes = asyncio.run(runtime_runs(tmp, images, args.n))
        sandboxes = asyncio.run(sandbox_runs(tmp, images, args.n))
    med = {k: statistics.median(v) * 1000 for k, v in
           {"raw": raw, "rt": starts, "rm": removes, "sb": sandboxes}.items()}
    print(f"runtime start benchmark, median of {args.n}, /bin/true in a busybox image")
    print(f"  raw `runc run` (create+start+wait+delete): {med['raw']:7.1f} ms")
    print(f"  runtime create+start+exit in a sandbox:    {med['rt']:7.1f} ms")
    print(f"  runtime remove_container:                  {med['rm']:7.1f} ms")
    print(f"  run_pod_sandbox (netns, lo, pause):        {med['sb']:7.1f} ms")
    print(f"  ratio runtime/raw: {med['rt'] / med['raw']:.2f}")


if __name__ == "__main__":
    main()
