"""The server's child components: the scheduler runs in its own process, reaches the API
server over the loopback socket with the in-memory token, and never outlives the server."""

from __future__ import annotations

import asyncio
import os
import select

import aiohttp
import pytest

from kubelite import children
from tests.e2e import cluster as cluster_mod

pytestmark = pytest.mark.e2e


def _scheduler_child(server_pid: int) -> int:
    with open(f"/proc/{server_pid}/task/{server_pid}/children") as f:
        kids = [int(p) for p in f.read().split()]
    for kid in kids:
        with open(f"/proc/{kid}/cmdline", "rb") as f:
            if b"\0scheduler\0" in f.read():
                return kid
    raise AssertionError(f"no scheduler child among {kids}")


def _loopback_env(pid: int) -> str:
    with open(f"/proc/{pid}/environ", "rb") as f:
        env = dict(e.split(b"=", 1) for e in f.read().split(b"\0") if b"=" in e)
    return env[children.LOOPBACK_ENV.encode()].decode()


def _exited(pid: int, timeout: float) -> bool:
    """Waits on a pidfd: readable once the process has ended."""
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        return True
    try:
        return bool(select.select([fd], [], [], timeout)[0])
    finally:
        os.close(fd)


def test_scheduler_child_schedules_and_dies_with_the_server(tmp_path) -> None:  # type: ignore[no-untyped-def]
    c = cluster_mod.start(str(tmp_path / "data"), str(tmp_path / "home"), "--disable",
                          "agent,ingress", "--sim-nodes", "1")
    try:
        child = _scheduler_child(c.proc.pid)
        c.kubectl("run", "one", "--image=busybox", "--restart=Never")
        c.kubectl("wait", "--for=jsonpath={.spec.nodeName}=hollow-0", "pod/one",
                  "--timeout=60s")
        c.proc.kill()                       # kill -9: the server's shutdown path never runs
        c.proc.wait()
        assert _exited(child, 15), "the scheduler outlived a killed server"
    finally:
        c.stop()


def test_loopback_socket_takes_only_the_in_memory_token(cluster: cluster_mod.Cluster) -> None:
    socket_name, _, token = _loopback_env(_scheduler_child(cluster.proc.pid)).partition("\n")
    path = "\0" + socket_name[1:]

    async def status(headers: dict[str, str]) -> int:
        async with (aiohttp.ClientSession(connector=aiohttp.UnixConnector(path)) as s,
                    s.get("http://localhost/api/v1/namespaces/default", headers=headers) as r):
            return r.status

    async def named_by_token() -> str:
        os.environ[children.LOOPBACK_ENV] = f"{socket_name}\n{token}"
        client = children.loopback_client("test")
        assert client is not None
        try:
            review = await client.request("POST", "/apis/authentication.k8s.io/v1/"
                                          "selfsubjectreviews", body={
                                              "apiVersion": "authentication.k8s.io/v1",
                                              "kind": "SelfSubjectReview"})
        finally:
            await client.close()
        return str(review["status"]["userInfo"]["username"])

    assert asyncio.run(status({})) == 401
    assert asyncio.run(status({"Authorization": "Bearer " + token[::-1]})) == 401
    assert asyncio.run(status({"Authorization": "Bearer " + token})) == 200
    assert asyncio.run(named_by_token()) == "system:apiserver"
    assert children.LOOPBACK_ENV not in os.environ   # handed down once, not left behind
