"""A real kubelite server in a subprocess, driven by the real kubectl and Python client."""

from __future__ import annotations

import json
import os
import socket
import ssl
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

KUBECTL = "/usr/bin/kubectl"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Cluster:
    data_dir: str
    home: str
    port: int
    proc: subprocess.Popen[bytes]
    log_path: str
    # Runs kubectl through this prefix, e.g. ("ip", "netns", "exec", NAME) for a server
    # in a test network namespace.
    runner: tuple[str, ...] = ()

    @property
    def kubeconfig(self) -> str:
        return os.path.join(self.data_dir, "kubeconfig.yaml")

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(KUBECONFIG=self.kubeconfig, HOME=self.home,
                   KUBECACHEDIR=os.path.join(self.home, ".kube", "cache"))
        return env

    def kubectl(self, *args: str, input: str | None = None, check: bool = True,
                timeout: float = 60) -> subprocess.CompletedProcess[str]:
        """Run the real kubectl; raise with its output when it fails and check is set."""
        res = subprocess.run([*self.runner, KUBECTL, *args], input=input, capture_output=True, text=True,
                             env=self.env(), timeout=timeout)
        if check and res.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)} failed ({res.returncode}):\n"
                                 f"{res.stdout}\n{res.stderr}")
        return res

    def kubectl_json(self, *args: str) -> Any:
        return json.loads(self.kubectl(*args, "-o", "json").stdout)

    def server_log(self) -> str:
        with open(self.log_path, errors="replace") as f:
            return f.read()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def start(data_dir: str, home: str, *extra: str, port: int = 0,
          timeout: float = 60) -> Cluster:
    """Start `kubelite server` and wait until it answers /readyz."""
    port = port or free_port()
    os.makedirs(data_dir, exist_ok=True)
    log_path = os.path.join(data_dir, "server.log")
    if "--egress-masquerade" not in extra:      # tests: no pod packet leaves the machine
        extra = (*extra, "--no-egress-masquerade")
    log = open(log_path, "ab")
    proc = subprocess.Popen(
        [sys.executable, "-m", "kubelite.cli", "server", "--data-dir", data_dir,
         "--port", str(port), *extra],
        stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
    )
    log.close()
    cluster = Cluster(data_dir, home, port, proc, log_path)
    _wait_ready(cluster, timeout)
    return cluster


def _wait_ready(cluster: Cluster, timeout: float) -> None:
    """Poll /readyz: a readiness probe of a separate process, not test synchronisation."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cluster.proc.poll() is not None:
            raise RuntimeError(f"kubelite server exited:\n{cluster.server_log()}")
        if os.path.exists(cluster.kubeconfig):
            try:
                with urllib.request.urlopen(cluster.url + "/readyz", context=ctx, timeout=2) as r:
                    if r.status == 200:
                        return
            except OSError:
                pass
        time.sleep(0.05)
    cluster.stop()
    raise RuntimeError(f"kubelite server not ready in {timeout}s:\n{cluster.server_log()}")


T = TypeVar("T")


def wait_for(what: str, produce: Callable[[], T], ok: Callable[[T], bool],
             timeout: float = 30) -> T:
    """Poll `produce()` until `ok` accepts what it gave (state served by the cluster)."""
    deadline = time.monotonic() + timeout
    while True:
        got = produce()
        if ok(got):
            return got
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}; last: {got!r}")
        time.sleep(0.2)
