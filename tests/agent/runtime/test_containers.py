"""Containers run by runc from a real busybox image: exit codes, limits, config, logs."""

from __future__ import annotations

import asyncio
import os

import pytest

from kubelite.agent.runtime import logs, oci, protocol
from tests.agent.runtime.conftest import ctr, leftovers, pod


async def run_to_end(rt: oci.OCIRuntime, config: protocol.ContainerConfig,
                     sb: protocol.PodSandboxConfig | None = None) -> tuple[protocol.ContainerStatus, bytes]:
    sid = await rt.run_pod_sandbox(sb or pod())
    cid = await rt.create_container(sid, config)
    assert (await rt.container_status(cid)).state == protocol.CREATED
    await rt.start_container(cid)
    st = await rt.wait_container(cid)
    return st, b"".join(logs.read(st.log_path))


@pytest.mark.parametrize("script,code,reason", [
    ("exit 0", 0, "Completed"), ("exit 3", 3, "Error"), ("sh -c 'kill -9 $$'; exit $?", 137, "Error"),
], ids=["zero", "three", "child-sigkilled"])
async def test_exit_codes(runtime: oci.OCIRuntime, script: str, code: int, reason: str) -> None:
    st, _ = await run_to_end(runtime, ctr("c", "sh", "-c", script))
    assert (st.state, st.exit_code, st.reason) == (protocol.EXITED, code, reason)
    assert 0 < st.started_at <= st.finished_at


async def test_killed_container_exits_137(runtime: oci.OCIRuntime) -> None:
    sid = await runtime.run_pod_sandbox(pod())
    cid = await runtime.create_container(sid, ctr("sleeper", "sleep", "60"))
    await runtime.start_container(cid)
    await runtime.stop_container(cid, timeout=0)
    st = await runtime.container_status(cid)
    assert (st.state, st.exit_code, st.reason) == (protocol.EXITED, 137, "Error")


async def test_memory_hog_is_oom_killed(runtime: oci.OCIRuntime) -> None:
    res = protocol.Resources(memory_limit=32 << 20)
    st, _ = await run_to_end(runtime, ctr("hog", "sh", "-c", "head -c 200m /dev/zero | tail; exit 0",
                                          resources=res))
    assert st.reason == "OOMKilled"


async def test_within_limit_is_not_oom(runtime: oci.OCIRuntime) -> None:
    res = protocol.Resources(memory_limit=64 << 20)
    st, _ = await run_to_end(runtime, ctr("ok", "sh", "-c", "head -c 1m /dev/zero | tail | wc -c",
                                          resources=res))
    assert (st.exit_code, st.reason) == (0, "Completed")


async def test_pids_limit_refuses_forks(runtime: oci.OCIRuntime) -> None:
    res = protocol.Resources(pids_limit=4)
    _, out = await run_to_end(runtime, ctr("p", "sh", "-c",
                                           "for i in 1 2 3 4 5 6; do sleep 1 & done; wait", resources=res))
    assert b"can't fork" in out


async def test_cpu_quota_is_written(runtime: oci.OCIRuntime) -> None:
    res = protocol.Resources(cpu_quota=20_000, cpu_period=100_000, cpu_shares=512)
    _, out = await run_to_end(runtime, ctr("q", "sh", "-c",
                                           "cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us /sys/fs/cgroup/cpu/cpu.shares",
                                           resources=res))
    assert out == b"20000\n512\n"


async def test_env_args_workdir_and_image_defaults(runtime: oci.OCIRuntime) -> None:
    _, out = await run_to_end(runtime, ctr("e", "sh", "-c", 'echo "$FROM_IMAGE $GREETING $0 $1"; pwd',
                                            "first", "second", env=(("GREETING", "hi"),)))
    assert out == b"yes hi first second\n/www\n"
    cfg = protocol.ContainerConfig(name="args", image=ctr("x").image, args=("echo", "args-only"))
    _, out = await run_to_end(runtime, cfg)
    assert out == b"args-only\n"  # image has no Entrypoint: args replace Cmd
    _, out = await run_to_end(runtime, ctr("w", "pwd", working_dir="/tmp"))
    assert out == b"/tmp\n"


async def test_user_and_group(runtime: oci.OCIRuntime) -> None:
    _, out = await run_to_end(runtime, ctr("u", "sh", "-c", "id -u; id -g", user=65534, group=65534))
    assert out == b"65534\n65534\n"


@pytest.mark.parametrize("readonly,expect", [(True, b"ro\n"), (False, b"rw\n")], ids=["readonly", "writable"])
async def test_readonly_rootfs(runtime: oci.OCIRuntime, readonly: bool, expect: bytes) -> None:
    _, out = await run_to_end(runtime, ctr("r", "sh", "-c", "touch /probe 2>/dev/null && echo rw || echo ro",
                                           readonly_rootfs=readonly))
    assert out == expect


async def test_bind_mounts(runtime: oci.OCIRuntime, tmp_path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "in.txt").write_text("from host")
    mounts = (protocol.Mount(str(tmp_path / "data"), "/data"),
              protocol.Mount(str(tmp_path / "data"), "/ro", readonly=True))
    _, out = await run_to_end(runtime, ctr("m", "sh", "-c",
                                           "cat /data/in.txt; echo; echo x > /data/out.txt;"
                                           " (echo y > /ro/no.txt) 2>/dev/null || echo refused",
                                           mounts=mounts))
    assert out == b"from host\nrefused\n"
    assert (tmp_path / "data" / "out.txt").read_text() == "x\n"


async def test_hostname_and_dns_files(runtime: oci.OCIRuntime) -> None:
    sb = pod("named", hostname="kubelite-host", dns=protocol.DNSConfig(("127.0.0.1",), ("svc.local",)))
    _, out = await run_to_end(runtime, ctr("h", "sh", "-c", "hostname; cat /etc/resolv.conf"), sb)
    assert out == b"kubelite-host\nnameserver 127.0.0.1\nsearch svc.local\n"


async def test_stop_sends_term_then_kill(runtime: oci.OCIRuntime) -> None:
    sid = await runtime.run_pod_sandbox(pod())
    polite = await runtime.create_container(sid, ctr("polite", "sh", "-c",
                                                     "trap 'echo term; exit 0' TERM; echo up; "
                                                     "while true; do sleep 0.1; done"))
    stubborn = await runtime.create_container(sid, ctr("stubborn", "sh", "-c",
                                                       "trap '' TERM; echo up; while true; do sleep 0.1; done"))
    for cid in (polite, stubborn):
        await runtime.start_container(cid)
        await wait_log(runtime, cid, b"up\n")
        assert (await runtime.container_status(cid)).state == protocol.RUNNING
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    await runtime.stop_container(polite, timeout=10)
    assert loop.time() - t0 < 5
    st = await runtime.container_status(polite)
    assert (st.exit_code, b"".join(logs.read(st.log_path))) == (0, b"up\nterm\n")
    t0 = loop.time()
    await runtime.stop_container(stubborn, timeout=0.5)
    assert loop.time() - t0 >= 0.5
    assert (await runtime.container_status(stubborn)).exit_code == 137


async def wait_log(rt: oci.OCIRuntime, cid: str, text: bytes) -> None:
    path = rt.container_log_path(cid)
    for _ in range(1000):
        if os.path.exists(path) and b"".join(logs.read(path)).startswith(text):
            return
        await asyncio.sleep(0.01)  # polling a log file for the container's own output
    raise AssertionError(f"{text!r} never logged")


async def test_teardown_leaves_nothing(runtime: oci.OCIRuntime) -> None:
    parent = runtime.test_parent  # type: ignore[attr-defined]
    sid = await runtime.run_pod_sandbox(pod())
    cid = await runtime.create_container(sid, ctr("c", "sleep", "60",
                                                  resources=protocol.Resources(memory_limit=64 << 20)))
    await runtime.start_container(cid)
    assert leftovers(parent, f"kubelite-{sid}", runtime.opts.root) != []
    await runtime.remove_pod_sandbox(sid)
    assert leftovers(parent, f"kubelite-{sid}", runtime.opts.root) == []
    with pytest.raises(protocol.NotFound):
        await runtime.container_status(cid)
    await runtime.remove_pod_sandbox(sid)  # idempotent


async def test_created_container_never_started_is_removed(runtime: oci.OCIRuntime) -> None:
    parent = runtime.test_parent  # type: ignore[attr-defined]
    sid = await runtime.run_pod_sandbox(pod())
    cid = await runtime.create_container(sid, ctr("idle", "sleep", "60"))
    await runtime.stop_container(cid, timeout=5)    # nothing runs: returns at once
    assert (await runtime.container_status(cid)).state == protocol.CREATED
    await runtime.remove_pod_sandbox(sid)
    assert leftovers(parent, f"kubelite-{sid}", runtime.opts.root) == []


async def test_missing_image_and_bad_command(runtime: oci.OCIRuntime) -> None:
    sid = await runtime.run_pod_sandbox(pod())
    with pytest.raises(protocol.NotFound):
        await runtime.create_container(sid, protocol.ContainerConfig(name="x", image="nosuch:1"))
    assert await runtime.list_containers(sid) == []
    # As with containerd, a bad command fails the start; the container stays, exited.
    cid = await runtime.create_container(sid, ctr("bad", "/no/such/binary"))
    with pytest.raises(protocol.RuntimeFailure, match="(?i)no such file"):
        await runtime.start_container(cid)
    st = await runtime.container_status(cid)
    assert (st.state, st.exit_code, st.reason) == (protocol.EXITED, 128, "StartError")
    assert "no such file" in st.message.lower() and st.started_at == 0.0
    await runtime.remove_container(cid)
    assert await runtime.list_containers(sid) == []
    assert os.listdir(os.path.join(runtime.opts.root, "containers")) == []


async def test_whiteouts_hide_lower_layer_files(runtime: oci.OCIRuntime, image_store, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from kubelite.agent.images import archive
    from tests.agent.images import builder
    base = builder.busybox_layer()
    lower = builder.tar_bytes([("dir", "data", b""), ("file", "data/gone", "x"), ("file", "data/kept", "k"),
                               ("dir", "opq", b""), ("file", "opq/old", "o")])
    upper = builder.tar_bytes([("file", "data/.wh.gone", b""), ("dir", "opq", b""),
                               ("file", "opq/.wh..wh..opq", b""), ("file", "opq/new", "n")])
    builder.Image([base, lower, upper]).docker_save(str(tmp_path / "w.tar"), "kubelite/whiteout:1")
    archive.import_archive(image_store, str(tmp_path / "w.tar"))
    cfg = protocol.ContainerConfig(name="w", image="kubelite/whiteout:1", command=("ls", "/data", "/opq"))
    _, out = await run_to_end(runtime, cfg)
    assert out == b"/data:\nkept\n\n/opq:\nnew\n"
