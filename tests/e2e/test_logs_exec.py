"""kubectl logs and kubectl exec against pods the bundled agent really runs: the API server
proxies pods/log and pods/exec to the agent's own API (the kubelet port).

Needs what tests/e2e/agentenv.py needs; skipped otherwise.
"""

from __future__ import annotations

import contextlib
import os
import re
import selectors
import ssl
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e import agentenv
from tests.e2e import cluster as cluster_mod

NS = "kubelite-logs-e2e"
SHARED = "  volumes:\n  - name: shared\n    emptyDir: {}\n"
MOUNT = "    volumeMounts: [{name: shared, mountPath: /shared}]\n"


@pytest.fixture(scope="module")
def c(tmp_path_factory: pytest.TempPathFactory) -> Iterator[cluster_mod.Cluster]:
    yield from agentenv.running_cluster(tmp_path_factory, NS)


@pytest.fixture(scope="module")
def core(c: cluster_mod.Cluster) -> Iterator[Any]:
    from kubernetes import client, config

    cfg = client.Configuration()
    config.load_kube_config(config_file=c.kubeconfig, client_configuration=cfg)
    with client.ApiClient(cfg) as api:
        yield client.CoreV1Api(api)


def run_pod(c: cluster_mod.Cluster, name: str, command: str, cond: str, **kw: Any) -> None:
    c.kubectl("apply", "-f", "-", input=agentenv.pod_yaml(name, NS, command, **kw))
    c.kubectl("wait", "-n", NS, f"pod/{name}", f"--for={cond}", "--timeout=60s", timeout=70)


def shared_dir(c: cluster_mod.Cluster, pod: str) -> str:
    uid = c.kubectl_json("get", "pod", pod, "-n", NS)["metadata"]["uid"]
    return os.path.join(c.data_dir, "agent", "pods", uid, "volumes", "shared")


@pytest.fixture(scope="module")
def printed(c: cluster_mod.Cluster) -> str:
    """A finished pod that printed three lines, the last one to stderr."""
    run_pod(c, "printer", "echo one; echo two; echo three >&2", "jsonpath={.status.phase}=Succeeded",
            restart="Never")
    return "printer"


@pytest.fixture(scope="module")
def shell(c: cluster_mod.Cluster) -> str:
    run_pod(c, "shell", "exec sleep 3600", "condition=Ready", grace=1)
    return "shell"


@pytest.mark.parametrize(("args", "want"), [
    ((), "one\ntwo\nthree\n"),
    (("--tail=1",), "three\n"),
    (("--tail=0",), ""),
    (("--limit-bytes=6",), "one\ntw"),
    (("--since=1h",), "one\ntwo\nthree\n"),
], ids=["all", "tail-1", "tail-0", "limit-bytes", "since"])
def test_logs(c: cluster_mod.Cluster, printed: str, args: tuple[str, ...], want: str) -> None:
    assert c.kubectl("logs", printed, "-n", NS, *args).stdout == want


def test_logs_with_timestamps(c: cluster_mod.Cluster, printed: str) -> None:
    out = c.kubectl("logs", printed, "-n", NS, "--timestamps").stdout.splitlines()
    stamp = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z"
    assert [re.fullmatch(f"({stamp}) (.*)", line).group(2) for line in out] == \
        ["one", "two", "three"]  # type: ignore[union-attr]


def test_logs_of_named_container(c: cluster_mod.Cluster, core: Any) -> None:
    from kubernetes.client.rest import ApiException

    second = """  - name: b
    image: docker.io/kubelite/busybox:e2e
    imagePullPolicy: Never
    command: ["echo", "from-b"]
"""
    run_pod(c, "two", "echo from-a", "jsonpath={.status.phase}=Succeeded", restart="Never",
            container="a", container_extra=second)
    assert c.kubectl("logs", "two", "-n", NS, "-c", "b").stdout == "from-b\n"
    assert core.read_namespaced_pod_log("two", NS, container="a") == "from-a\n"
    with pytest.raises(ApiException) as err:
        core.read_namespaced_pod_log("two", NS)
    assert err.value.status == 400
    assert "a container name must be specified for pod two, choose one of: [a b]" in err.value.body
    res = c.kubectl("logs", "two", "-n", NS, "-c", "nope", check=False)
    assert res.returncode == 1 and "container nope is not valid for pod two" in res.stderr


def test_logs_of_container_waiting_to_start(c: cluster_mod.Cluster) -> None:
    c.kubectl("run", "nopull", "-n", NS, "--image=docker.io/kubelite/absent:1",
              "--image-pull-policy=Never")
    c.kubectl("wait", "-n", NS, "pod/nopull", "--timeout=60s",
              "--for=jsonpath={.status.containerStatuses[0].state.waiting.reason}=ErrImageNeverPull")
    res = c.kubectl("logs", "nopull", "-n", NS, check=False)
    assert res.returncode == 1
    assert 'container "nopull" in pod "nopull" is waiting to start: ErrImageNeverPull' in res.stderr


def read_until(proc: subprocess.Popen[bytes], text: bytes, timeout: float = 30) -> bytes:
    """Read the process's stdout until `text` shows up; fail after `timeout` seconds."""
    assert proc.stdout is not None
    got = b""
    deadline = time.monotonic() + timeout
    with selectors.DefaultSelector() as sel:
        sel.register(proc.stdout, selectors.EVENT_READ)
        while text not in got:
            left = deadline - time.monotonic()
            if left <= 0 or not sel.select(left):
                raise AssertionError(f"{text!r} not seen in {timeout}s; got {got!r}")
            chunk = os.read(proc.stdout.fileno(), 65536)
            if not chunk:
                raise AssertionError(f"stream ended before {text!r}; got {got!r}")
            got += chunk
    return got


@contextlib.contextmanager
def follow(c: cluster_mod.Cluster, pod: str) -> Iterator[subprocess.Popen[bytes]]:
    """`kubectl logs -f pod`, terminated when the block ends."""
    with subprocess.Popen([cluster_mod.KUBECTL, "logs", "-f", pod, "-n", NS], env=c.env(),
                          stdout=subprocess.PIPE, stderr=subprocess.DEVNULL) as proc:
        try:
            yield proc
        finally:
            proc.terminate()


def test_logs_follow_streams_new_lines(c: cluster_mod.Cluster) -> None:
    run_pod(c, "follower", "echo one; until [ -f /shared/more ]; do sleep 0.1; done; echo four; "
            "exec sleep 3600", "condition=Ready", extra=SHARED, container_extra=MOUNT, grace=1)
    with follow(c, "follower") as proc:
        assert read_until(proc, b"one\n") == b"one\n"
        assert proc.poll() is None  # still following
        with open(os.path.join(shared_dir(c, "follower"), "more"), "w"):
            pass
        assert read_until(proc, b"four\n") == b"four\n"


def test_logs_previous_after_restart(c: cluster_mod.Cluster) -> None:
    script = ("n=$(cat /shared/n 2>/dev/null || echo 0); n=$((n+1)); echo $n > /shared/n; "
              "echo attempt-$n; [ $n -ge 2 ] || exit 1; exec sleep 3600")
    run_pod(c, "again", script, "jsonpath={.status.containerStatuses[0].restartCount}=1",
            extra=SHARED, container_extra=MOUNT, grace=1)
    assert c.kubectl("logs", "again", "-n", NS, "--previous").stdout == "attempt-1\n"
    with follow(c, "again") as proc:
        assert read_until(proc, b"attempt-2\n") == b"attempt-2\n"


@pytest.mark.parametrize(("args", "stdin", "code", "out", "err"), [
    (("--", "echo", "hi"), None, 0, "hi\n", ""),
    (("--", "sh", "-c", "exit 3"), None, 3, "", ""),
    (("--", "sh", "-c", "echo oops >&2"), None, 0, "", "oops\n"),
    (("-i", "--", "cat"), "hello\nworld\n", 0, "hello\nworld\n", ""),
], ids=["echo", "exit-code", "stderr", "stdin"])
def test_kubectl_exec(c: cluster_mod.Cluster, shell: str, args: tuple[str, ...],
                      stdin: str | None, code: int, out: str, err: str) -> None:
    res = c.kubectl("exec", shell, "-n", NS, *args, input=stdin, check=False)
    assert (res.returncode, res.stdout) == (code, out), res.stderr
    if err:
        assert res.stderr == err


def test_exec_with_python_client(core: Any, shell: str) -> None:
    from kubernetes.stream import stream

    def run(command: list[str], tty: bool) -> str:
        # Without preloading, the client hands us the socket, so we can close it.
        ws = stream(core.connect_get_namespaced_pod_exec, shell, NS, command=command,
                    stderr=not tty, stdin=False, stdout=True, tty=tty,
                    _preload_content=False)
        try:
            ws.run_forever(timeout=30)
            return str(ws.read_all())
        finally:
            ws.close()

    assert run(["sh", "-c", "echo py"], tty=False) == "py\n"
    # the terminal turns \n into \r\n
    assert run(["sh", "-c", "test -t 1 && echo on-a-terminal"], tty=True) == "on-a-terminal\r\n"


def test_node_api_refuses_unauthenticated_callers(c: cluster_mod.Cluster, printed: str) -> None:
    node = c.kubectl_json("get", "nodes")["items"][0]
    port = node["status"]["daemonEndpoints"]["kubeletEndpoint"]["Port"]
    assert port != 10250  # the test server asked for a free port
    tls = ssl.create_default_context()
    tls.check_hostname, tls.verify_mode = False, ssl.CERT_NONE
    url = f"https://127.0.0.1:{port}/containerLogs/{NS}/{printed}/main"
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(url, context=tls, timeout=10)
    assert err.value.code == 401
    err.value.close()
