"""Pod sandboxes: shared loopback/IPC/UTS between a pod's containers, isolation between pods,
the network hook, exec, stats and terminals."""

from __future__ import annotations

import asyncio

import pytest

from kubelite.agent.runtime import execs, logs, oci, protocol
from tests.agent.runtime.conftest import ctr, pod
from tests.agent.runtime.test_containers import wait_log

SERVER = ("sh", "-c", "echo serving; exec httpd -f -p 127.0.0.1:8080 -h /www")


async def test_containers_of_a_pod_share_loopback(runtime: oci.OCIRuntime) -> None:
    sid = await runtime.run_pod_sandbox(pod())
    server = await runtime.create_container(sid, ctr("server", *SERVER))
    await runtime.start_container(server)
    await wait_log(runtime, server, b"serving\n")
    script = "until wget -qO- 127.0.0.1:8080/index.html; do sleep 0.05; done"
    client = await runtime.create_container(sid, ctr("client", "sh", "-c", script))
    await runtime.start_container(client)
    st = await asyncio.wait_for(runtime.wait_container(client), 20)
    assert (st.exit_code, b"".join(logs.read(st.log_path))) == (0, b"hello from kubelite\n")


async def test_pods_are_isolated(runtime: oci.OCIRuntime) -> None:
    a = await runtime.run_pod_sandbox(pod("a"))
    b = await runtime.run_pod_sandbox(pod("b"))
    server = await runtime.create_container(a, ctr("server", *SERVER))
    await runtime.start_container(server)
    await wait_log(runtime, server, b"serving\n")
    probe = await runtime.create_container(b, ctr("probe", "sh", "-c",
                                                  "wget -qO- 127.0.0.1:8080 || echo unreachable"))
    await runtime.start_container(probe)
    st = await runtime.wait_container(probe)
    assert b"".join(logs.read(st.log_path)).endswith(b"unreachable\n")


async def test_ipc_and_uts_are_shared(runtime: oci.OCIRuntime) -> None:
    sid = await runtime.run_pod_sandbox(pod(hostname="kubelite-shared"))
    one = await runtime.create_container(sid, ctr("one", "sleep", "60"))
    two = await runtime.create_container(sid, ctr("two", "sleep", "60"))
    for cid in (one, two):
        await runtime.start_container(cid)
    ns = [(await runtime.exec_sync(c, ["stat", "-L", "-c", "%i", "/proc/1/ns/ipc", "/proc/1/ns/uts",
                                       "/proc/1/ns/net", "/proc/1/ns/pid"], 10)).stdout.split()
          for c in (one, two)]
    assert ns[0][:3] == ns[1][:3]
    assert ns[0][3] != ns[1][3]  # each container has its own PID namespace
    got = await runtime.exec_sync(two, ["hostname"], 10)
    assert got.stdout == b"kubelite-shared\n"


async def test_network_hook_is_called(image_store, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from kubelite.agent.images import source
    calls: list[tuple[str, str, str]] = []

    async def setup(sid: str, netns: str, cfg: protocol.PodSandboxConfig) -> tuple[str, ...]:
        calls.append(("setup", sid, netns))
        return ("10.42.0.7",)

    async def teardown(sid: str, netns: str, cfg: protocol.PodSandboxConfig) -> None:
        calls.append(("teardown", sid, netns))

    rt = oci.OCIRuntime(source.StoreSource(image_store), oci.Options(
        root=str(tmp_path / "kubelite-rt"), runc_root=str(tmp_path / "kubelite-runc"),
        cgroup_parent="kubelite-test-hook", network_setup=setup, network_teardown=teardown))
    sid = await rt.run_pod_sandbox(pod())
    status = await rt.pod_sandbox_status(sid)
    assert status.ips == ("10.42.0.7",) and status.netns_path == f"/run/netns/kubelite-{sid}"
    await rt.remove_pod_sandbox(sid)
    assert calls == [("setup", sid, status.netns_path), ("teardown", sid, status.netns_path)]


async def test_exec_sync_and_timeout(runtime: oci.OCIRuntime) -> None:
    sid = await runtime.run_pod_sandbox(pod())
    cid = await runtime.create_container(sid, ctr("c", "sleep", "60", env=(("X", "from-spec"),)))
    await runtime.start_container(cid)
    res = await runtime.exec_sync(cid, ["sh", "-c", "echo $X; echo oops >&2; exit 4"], 10)
    assert (res.exit_code, res.stdout, res.stderr) == (4, b"from-spec\n", b"oops\n")
    with pytest.raises(execs.ExecTimeout):
        await runtime.exec_sync(cid, ["sleep", "30"], 0.3)
    res = await runtime.exec_sync(cid, ["sh", "-c", "ps -o comm | grep -c sleep"], 10)
    assert res.stdout == b"1\n"  # the timed-out exec was killed; only the main sleep is left


async def test_interactive_exec_with_stdin(runtime: oci.OCIRuntime) -> None:
    sid = await runtime.run_pod_sandbox(pod())
    cid = await runtime.create_container(sid, ctr("c", "sleep", "60"))
    await runtime.start_container(cid)
    proc = await runtime.exec(cid, ["sh", "-c", "cat; echo bye >&2"], stdin=True)
    assert proc.stdin is not None and proc.stderr is not None
    proc.stdin.write(b"ping\n")
    await proc.stdin.drain()
    assert await proc.stdout.readline() == b"ping\n"
    proc.stdin.close()
    assert await proc.wait() == 0
    assert await proc.stderr.read() == b"bye\n"


async def test_exec_on_a_terminal(runtime: oci.OCIRuntime) -> None:
    sid = await runtime.run_pod_sandbox(pod())
    cid = await runtime.create_container(sid, ctr("c", "sleep", "60"))
    await runtime.start_container(cid)
    proc = await runtime.exec(cid, ["sh", "-c", "test -t 0 && echo tty; stty size"], tty=True)
    proc.resize(100, 30)
    out = b""
    while chunk := await proc.stdout.read(4096):
        out += chunk
    assert await proc.wait() == 0
    assert out.startswith(b"tty\r\n")


async def test_exec_on_a_terminal_keeps_its_exit_code_and_refuses_a_missing_command(
        runtime: oci.OCIRuntime) -> None:
    sid = await runtime.run_pod_sandbox(pod())
    cid = await runtime.create_container(sid, ctr("c", "sleep", "60"))
    await runtime.start_container(cid)
    proc = await runtime.exec(cid, ["sh", "-c", "echo bye; exit 3"], tty=True)
    assert await proc.stdout.read() == b"bye\r\n"
    assert await proc.wait() == 3
    with pytest.raises(protocol.RuntimeFailure, match="no-such-command"):
        await runtime.exec(cid, ["no-such-command"], tty=True)


async def test_stats_report_cgroup_usage(runtime: oci.OCIRuntime) -> None:
    sid = await runtime.run_pod_sandbox(pod())
    cid = await runtime.create_container(sid, ctr("c", "sh", "-c", "sleep 60 & echo go; wait",
                                                  resources=protocol.Resources(memory_limit=64 << 20)))
    await runtime.start_container(cid)
    await wait_log(runtime, cid, b"go\n")
    stats = await runtime.container_stats(cid)
    assert stats.memory_limit_bytes == 64 << 20
    assert 0 < stats.memory_working_set_bytes <= stats.memory_usage_bytes
    assert stats.cpu_usage_ns > 0 and stats.pids == 2


async def test_tty_container_logs(runtime: oci.OCIRuntime) -> None:
    sid = await runtime.run_pod_sandbox(pod())
    cid = await runtime.create_container(sid, ctr("t", "sh", "-c", "test -t 1 && echo on-tty", tty=True))
    await runtime.start_container(cid)
    st = await runtime.wait_container(cid)
    assert (st.exit_code, b"".join(logs.read(st.log_path))) == (0, b"on-tty\r\n")
