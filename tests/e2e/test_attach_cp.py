"""kubectl attach and kubectl cp against pods the bundled agent really runs: attach streams
the container's own stdio live (the API server relays pods/attach to the agent), cp is tar
over exec.

Needs what tests/e2e/agentenv.py needs; skipped otherwise.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator

import pytest

from tests.e2e import agentenv
from tests.e2e import cluster as cluster_mod
from tests.e2e.test_logs_exec import MOUNT, SHARED, read_until, run_pod

NS = "kubelite-logs-e2e"   # run_pod and shared_dir of the logs tests work in this namespace


@pytest.fixture(scope="module")
def c(tmp_path_factory: pytest.TempPathFactory) -> Iterator[cluster_mod.Cluster]:
    yield from agentenv.running_cluster(tmp_path_factory, NS)


def attach(c: cluster_mod.Cluster, pod: str, *args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen([cluster_mod.KUBECTL, "attach", pod, "-n", NS, "-c", "main", *args],
                            env=c.env(), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)


def test_attach_streams_output_live(c: cluster_mod.Cluster) -> None:
    run_pod(c, "ticker", "while [ ! -f /shared/go ]; do echo waiting; sleep 0.2; done; "
            "echo after-go; exec sleep 3600", "condition=Ready", extra=SHARED,
            container_extra=MOUNT, grace=1)
    from tests.e2e.test_logs_exec import shared_dir
    with attach(c, "ticker") as proc:
        try:
            read_until(proc, b"waiting\n")  # attached: output arrives as it is written
            with open(os.path.join(shared_dir(c, "ticker"), "go"), "w"):
                pass
            assert read_until(proc, b"after-go\n").endswith(b"after-go\n")
            assert proc.poll() is None  # still attached to a running container
        finally:
            proc.terminate()
    assert c.kubectl_json("get", "pod", "ticker", "-n", NS)["status"]["phase"] == "Running"


STDIN_ONCE = "    stdin: true\n    stdinOnce: true\n"


def test_attach_with_stdin_once_feeds_and_closes_stdin(c: cluster_mod.Cluster) -> None:
    run_pod(c, "reader", "while read l; do echo got-$l; done; echo stdin-closed",
            "condition=Ready", restart="Never", container_extra=STDIN_ONCE, grace=1)
    with attach(c, "reader", "-i") as proc:
        out, err = proc.communicate(b"a\nb\n", timeout=60)
    assert (proc.returncode, out) == (0, b"got-a\ngot-b\nstdin-closed\n"), err
    c.kubectl("wait", "-n", NS, "pod/reader", "--for=jsonpath={.status.phase}=Succeeded",
              "--timeout=60s", timeout=70)


TTY = "    stdin: true\n    tty: true\n"


def test_attach_to_a_terminal(c: cluster_mod.Cluster) -> None:
    run_pod(c, "term", "read l; echo got-$l; test -t 0 && echo on-a-terminal; exec sleep 3600",
            "condition=Ready", container_extra=TTY, grace=1)
    with attach(c, "term", "-i") as proc:
        try:
            assert proc.stdin is not None
            proc.stdin.write(b"x\n")
            proc.stdin.flush()
            # the terminal echoes the input and turns \n into \r\n
            assert read_until(proc, b"on-a-terminal\r\n").endswith(b"got-x\r\non-a-terminal\r\n")
        finally:
            proc.terminate()


def test_attach_to_a_missing_container_fails(c: cluster_mod.Cluster) -> None:
    run_pod(c, "idle", "exec sleep 3600", "condition=Ready", grace=1)
    res = c.kubectl("attach", "idle", "-n", NS, "-c", "nope", check=False)
    assert res.returncode == 1
    assert "container nope not found in pod idle" in res.stderr


def test_kubectl_cp_into_and_out_of_a_pod(c: cluster_mod.Cluster, tmp_path: os.PathLike[str]
                                          ) -> None:
    run_pod(c, "box", "exec sleep 3600", "condition=Ready", grace=1)
    content = os.urandom(300_000) + b"\nend\n"
    src = os.path.join(tmp_path, "payload.bin")
    with open(src, "wb") as f:
        f.write(content)
    c.kubectl("cp", src, f"{NS}/box:/tmp/payload.bin", "-c", "main")
    size = c.kubectl("exec", "box", "-n", NS, "--", "wc", "-c", "/tmp/payload.bin").stdout
    assert size.split()[0] == str(len(content))
    back = os.path.join(tmp_path, "back.bin")
    c.kubectl("cp", f"{NS}/box:/tmp/payload.bin", back, "-c", "main")
    with open(back, "rb") as f:
        assert f.read() == content


def test_kubectl_cp_a_directory_out(c: cluster_mod.Cluster, tmp_path: os.PathLike[str]) -> None:
    run_pod(c, "tree", "mkdir -p /tmp/d/sub && echo one > /tmp/d/a && echo two > /tmp/d/sub/b "
            "&& exec sleep 3600", "condition=Ready", grace=1)
    out = os.path.join(tmp_path, "d")
    c.kubectl("cp", f"{NS}/tree:/tmp/d", out)
    with open(os.path.join(out, "a")) as a, open(os.path.join(out, "sub", "b")) as b:
        assert (a.read(), b.read()) == ("one\n", "two\n")
