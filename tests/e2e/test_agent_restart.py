"""Restarting the node agent leaves running containers alone and cleans up pods deleted
while it was down: a real server with its bundled agent, stopped and started on one data dir.

Needs root, runc, busybox, ip and unshare; skipped otherwise.
"""

from __future__ import annotations

import contextlib
import glob
import json
import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from kubelite.agent.images import archive, store
from kubelite.agent.network import podnet
from kubelite.agent.runtime import cgroups, reaper, restore
from tests.agent.images import builder
from tests.e2e import agentenv
from tests.e2e import cluster as cluster_mod

NS = "kubelite-restart-e2e"


@dataclass
class Env:
    data: str
    home: str
    port: int
    server: cluster_mod.Cluster | None = None

    @property
    def agent_dir(self) -> str:
        return os.path.join(self.data, "agent")

    def start(self, *extra: str) -> cluster_mod.Cluster:
        self.server = cluster_mod.start(self.data, self.home, "--kubelet-port", "0",
                                        "--dns-upstream", "none", *extra, port=self.port)
        return self.server

    def stop(self, sig: signal.Signals = signal.SIGTERM) -> None:
        assert self.server is not None
        if sig == signal.SIGKILL:
            self.server.proc.kill()
            self.server.proc.wait()
        self.server.stop()
        self.server = None


def _sandboxes(agent_dir: str) -> list[dict[str, Any]]:
    out = []
    for path in glob.glob(os.path.join(agent_dir, "runtime", "sandboxes", "*", "sandbox.json")):
        with open(path) as f:
            out.append(json.load(f))
    return out


def _cleanup(env: Env) -> None:
    """Safety net: the server, containers, pause processes, veths, netns, mounts."""
    if env.server is not None:
        env.stop()
    sandboxes = _sandboxes(env.agent_dir)
    for sb in sandboxes:
        if sb["pause_pid"] and restore.pause_alive(sb["pause_pid"]):
            os.kill(sb["pause_pid"], signal.SIGKILL)
        subprocess.run(["ip", "link", "delete", podnet.host_veth(sb["id"])],
                       check=False, capture_output=True)
    agentenv.force_cleanup(env.agent_dir)
    for sb in sandboxes:
        for path in sorted(cgroups.dirs(f"/kubelite/pod{sb['config']['uid']}"), reverse=True):
            for sub in sorted(glob.glob(os.path.join(path, "*/")), reverse=True):
                os.rmdir(sub)
            os.rmdir(path)
    if sandboxes and not glob.glob("/sys/class/net/kubelite0/brif/*"):
        subprocess.run(["ip", "link", "delete", "kubelite0"], check=False, capture_output=True)


@pytest.fixture
def env(tmp_path: Any) -> Iterator[Env]:
    if why := agentenv.why_not():
        pytest.skip(why)
    data = str(tmp_path / "data")
    images = store.Store(os.path.join(data, "agent", "images"))
    builder.Image([builder.busybox_layer()]).docker_save(str(tmp_path / "bb.tar"), agentenv.IMAGE)
    archive.import_archive(images, str(tmp_path / "bb.tar"))
    e = Env(data, str(tmp_path / "home"), cluster_mod.free_port())
    try:
        yield e
    finally:
        with contextlib.suppress(OSError):
            _cleanup(e)


TICKER = "i=0; while true; do echo tick $i; i=$((i+1)); sleep 0.1; done"


def _run_pod(c: cluster_mod.Cluster, name: str, command: str = "exec sleep 3600",
             restart: str = "Always", cond: str = "condition=Ready") -> dict[str, Any]:
    c.kubectl("apply", "-f", "-", input=agentenv.pod_yaml(name, NS, command, restart=restart))
    c.kubectl("wait", "-n", NS, f"pod/{name}", f"--for={cond}", "--timeout=60s", timeout=70)
    return c.kubectl_json("get", "pod", name, "-n", NS)  # type: ignore[no-any-return]


def _ticks(c: cluster_mod.Cluster) -> list[int]:
    out = c.kubectl("logs", "keep", "-n", NS).stdout.split("\n")
    return [int(line.split()[1]) for line in out if line.startswith("tick ")]


def _status(c: cluster_mod.Cluster, name: str) -> dict[str, Any]:
    pod = c.kubectl_json("get", "pod", name, "-n", NS)
    return pod["status"]["containerStatuses"][0]  # type: ignore[no-any-return]


@dataclass(frozen=True)
class Host:
    """Where a pod's container lives on the host."""

    uid: str
    cid: str
    pid: int
    netns: str


def _host(env: Env, pod: dict[str, Any]) -> Host:
    # containerID is <runtime>://<id>: the scheme names the OCI runtime that runs it
    binary, _, cid = pod["status"]["containerStatuses"][0]["containerID"].partition("://")
    assert binary in ("runc", "crun") and os.path.isdir(os.path.join(env.agent_dir, binary))
    state = json.loads(subprocess.run([binary, "--root", os.path.join(env.agent_dir, binary),
                                       "state", cid], capture_output=True, check=True).stdout)
    with open(os.path.join(env.agent_dir, "runtime", "containers", cid, "status.json")) as f:
        netns = "kubelite-" + json.load(f)["sandbox_id"]
    return Host(pod["metadata"]["uid"], cid, int(state["pid"]), netns)


def _netns() -> str:
    return subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=True).stdout


def _eventually(check: Callable[[], bool], timeout: float = 60) -> bool:
    """Poll a host fact with a deadline (host state has no watch)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.1)
    return check()


def _gone_from_host(h: Host) -> bool:
    return (not reaper.alive(h.pid) and h.netns not in _netns()
            and cgroups.dirs(f"/kubelite/pod{h.uid}") == [])


def _start_ready(env: Env, *extra: str) -> cluster_mod.Cluster:
    c = env.start(*extra)
    if "agent" not in extra:
        c.kubectl("wait", "--for=condition=Ready", "node", "--all", "--timeout=60s", timeout=70)
    return c


def _adopted(env: Env, name: str) -> bool:
    assert env.server is not None
    return f"pod adopted pod={name} " in env.server.server_log()


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM], ids=["sigkill", "sigterm"])
def test_restart_adopts_running_containers_and_cleans_pods_deleted_meanwhile(
        env: Env, sig: signal.Signals) -> None:
    c = _start_ready(env)
    c.kubectl("create", "namespace", NS)
    keep = _host(env, _run_pod(c, "keep", TICKER))
    drop = _host(env, _run_pod(c, "drop"))
    dies = _host(env, _run_pod(c, "dies"))
    _run_pod(c, "done", "exit 3", restart="Never", cond="jsonpath={.status.phase}=Failed")

    env.stop(sig)
    assert reaper.alive(keep.pid) and reaper.alive(drop.pid)
    os.kill(dies.pid, signal.SIGKILL)   # exits while no agent runs

    # While no agent runs: delete "drop" from the API only.
    c = env.start("--disable", "agent")
    c.kubectl("delete", "pod", "drop", "-n", NS, "--grace-period=0", "--force", timeout=30)
    env.stop()
    assert reaper.alive(drop.pid) and drop.netns in _netns()

    c = _start_ready(env)
    assert _eventually(lambda: _adopted(env, "keep"))
    assert _eventually(lambda: _gone_from_host(drop))
    with open("/proc/mounts") as f:
        assert [line for line in f if drop.cid in line] == []
    assert not os.path.exists(os.path.join(env.agent_dir, "runtime", "containers", drop.cid))

    c.kubectl("wait", "-n", NS, "pod/keep", "--for=condition=Ready", "--timeout=30s", timeout=40)
    st = c.kubectl_json("get", "pod", "keep", "-n", NS)["status"]["containerStatuses"][0]
    assert st["containerID"] == f"runc://{keep.cid}"
    assert st["restartCount"] == 0 and "running" in st["state"] and st["ready"]
    assert _host(env, c.kubectl_json("get", "pod", "keep", "-n", NS)).pid == keep.pid
    assert reaper.alive(keep.pid) and keep.netns in _netns()

    # Output written while the agent was down is kept, and copying goes on after it.
    seen = len(_ticks(c))
    assert _eventually(lambda: len(_ticks(c)) > seen + 5)
    ticks = _ticks(c)
    assert ticks == list(range(len(ticks)))

    done = _status(c, "done")
    assert done["state"]["terminated"]["exitCode"] == 3 and done["restartCount"] == 0
    c.kubectl("wait", "-n", NS, "pod/dies", "--for=jsonpath={.status.containerStatuses[0]"
              ".restartCount}=1", "--timeout=60s", timeout=70)
    st = _status(c, "dies")
    assert st["containerID"] != f"runc://{dies.cid}" and "running" in st["state"]
    assert st["lastState"]["terminated"]["containerID"] == f"runc://{dies.cid}"

    c.kubectl("delete", "pod", "keep", "-n", NS, "--grace-period=1", "--timeout=60s", timeout=70)
    assert _eventually(lambda: _gone_from_host(keep))
    assert not os.path.exists(os.path.join(env.agent_dir, "runtime", "containers", keep.cid))

    c.kubectl("delete", "pods", "--all", "-n", NS, "--grace-period=1", "--timeout=60s", timeout=70)
    runtime = os.path.join(env.agent_dir, "runtime")
    assert _eventually(lambda: os.listdir(os.path.join(runtime, "sandboxes")) == [])
    assert os.listdir(os.path.join(runtime, "containers")) == []


def test_an_adopted_container_reports_its_real_exit_code(env: Env) -> None:
    c = _start_ready(env)
    c.kubectl("create", "namespace", NS)
    _run_pod(c, "later", "while [ ! -f /tmp/go ]; do sleep 0.1; done; exit 5", restart="Never")
    env.stop(signal.SIGKILL)
    c = _start_ready(env)
    assert _eventually(lambda: _adopted(env, "later"))
    # no longer the agent's child: the status comes from the kernel's exit event
    c.kubectl("exec", "later", "-n", NS, "--", "touch", "/tmp/go")
    c.kubectl("wait", "-n", NS, "pod/later", "--for=jsonpath={.status.phase}=Failed",
              "--timeout=60s", timeout=70)
    assert _status(c, "later")["state"]["terminated"]["exitCode"] == 5
