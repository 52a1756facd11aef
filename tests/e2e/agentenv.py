"""A real server with its bundled node agent, for end-to-end tests of pods that really run.

Needs root, runc, busybox, ip and unshare (`why_not()` says what is missing). The busybox
image is built from the host's static busybox and imported into the agent's image store
before the server starts, so pods run without a registry.
"""

from __future__ import annotations

import glob
import json
import os
import shutil
import subprocess
import time
from collections.abc import Iterator

import pytest

from kubelite.agent.images import archive, store
from tests.agent.images import builder
from tests.e2e import cluster as cluster_mod

IMAGE = "docker.io/kubelite/busybox:e2e"


def why_not() -> str:
    if os.geteuid() != 0:
        return "needs root"
    for tool in ("runc", "busybox", "ip", "unshare"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed"
    return ""


def force_cleanup(agent_dir: str) -> None:
    """Safety net after the server stopped: kill what a failed test may have left."""
    for binary in ("runc", "crun"):     # the agent keeps <binary>/ as that runtime's state
        state_root = os.path.join(agent_dir, binary)
        if not os.path.isdir(state_root):
            continue
        out = subprocess.run([binary, "--root", state_root, "list", "-q"], capture_output=True,
                             text=True, check=False).stdout
        for cid in out.split():
            subprocess.run([binary, "--root", state_root, "delete", "-f", cid], check=False,
                           capture_output=True)
    with open("/proc/mounts") as f:
        points = [line.split()[1] for line in f if agent_dir in line]
    for point in sorted(points, key=len, reverse=True):
        subprocess.run(["umount", "-l", point], check=False, capture_output=True)
    for sb in glob.glob(os.path.join(agent_dir, "runtime", "sandboxes", "*")):
        name = "kubelite-" + os.path.basename(sb)
        subprocess.run(["ip", "netns", "delete", name], check=False, capture_output=True)
        shutil.rmtree(os.path.join("/etc/netns", name), ignore_errors=True)


def running_cluster(tmp_path_factory: pytest.TempPathFactory, namespace: str, *extra: str
                    ) -> Iterator[cluster_mod.Cluster]:
    """Body of a module fixture: a server (with `extra` flags) with its agent and `namespace`;
    all torn down after."""
    if why := why_not():
        pytest.skip(why)
    base = tmp_path_factory.mktemp("kubelite-agent")
    data = str(base / "data")
    images = store.Store(os.path.join(data, "agent", "images"))
    builder.Image([builder.busybox_layer()], workdir="/www").docker_save(str(base / "bb.tar"), IMAGE)
    archive.import_archive(images, str(base / "bb.tar"))
    # The node's cluster DNS gets no upstream: no test query leaves the machine.
    c = cluster_mod.start(data, str(base / "home"), "--kubelet-port", "0",
                          "--dns-upstream", "none", *extra)
    try:
        c.kubectl("wait", "--for=condition=Ready", "node", "--all", "--timeout=60s")
        c.kubectl("create", "namespace", namespace)
        yield c
        # Workload controllers first, or they would recreate the pods deleted next.
        c.kubectl("delete", "deployments,replicasets,replicationcontrollers,jobs", "--all",
                  "-n", namespace, "--timeout=90s", check=False, timeout=120)
        c.kubectl("delete", "pods", "--all", "-n", namespace, "--timeout=90s", check=False,
                  timeout=120)
        wait_sandboxes_gone(os.path.join(data, "agent"))
    finally:
        c.stop()
        force_cleanup(os.path.join(data, "agent"))


def wait_sandboxes_gone(agent_dir: str, timeout: float = 60) -> None:
    """Finished pods are deleted at once and their sandboxes torn down after: wait for the
    agent to finish, so it stops with none left and takes its bridge down."""
    path = os.path.join(agent_dir, "runtime", "sandboxes")
    deadline = time.monotonic() + timeout
    while os.path.isdir(path) and os.listdir(path) and time.monotonic() < deadline:
        time.sleep(0.1)


def pod_yaml(name: str, namespace: str, command: str, *, restart: str = "Always",
             extra: str = "", container_extra: str = "", grace: int = 30,
             container: str = "main") -> str:
    """A one-container busybox pod running `command` with sh -c."""
    return f"""apiVersion: v1
kind: Pod
metadata: {{name: {name}, namespace: {namespace}}}
spec:
  restartPolicy: {restart}
  terminationGracePeriodSeconds: {grace}
{extra}  containers:
  - name: {container}
    image: {IMAGE}
    imagePullPolicy: Never
    command: ["sh", "-c", {json.dumps(command)}]
{container_extra}"""
