"""kubectl port-forward and the Python client's portforward against pods the bundled agent
runs: the API server relays the WebSocket to the agent, which connects inside the pod's
network namespace (SPDY/3.1 tunnelled in WebSocket for kubectl, v4 channels for Python).

Needs what tests/e2e/agentenv.py needs; skipped otherwise.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
import socket
import subprocess
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e import agentenv, test_logs_exec
from tests.e2e import cluster as cluster_mod
from tests.e2e.test_logs_exec import read_until

NS = "kubelite-pf-e2e"
SERVE = ("mkdir -p /www && echo hello-from-pod > /www/index.html && "
         "head -c 1048576 /dev/urandom > /www/big && md5sum /www/big > /www/big.md5 && "
         "exec httpd -f -p 8080 -h /www")
READY = ("    readinessProbe: {tcpSocket: {port: 8080}, periodSeconds: 1}\n"
         "    ports: [{containerPort: 8080, name: http}]\n")
core = test_logs_exec.core  # the Python client's CoreV1Api (a module fixture)


@pytest.fixture(scope="module")
def c(tmp_path_factory: pytest.TempPathFactory) -> Iterator[cluster_mod.Cluster]:
    yield from agentenv.running_cluster(tmp_path_factory, NS)


@pytest.fixture(scope="module")
def web(c: cluster_mod.Cluster) -> str:
    """A pod serving HTTP on 8080 (index.html, a 1 MiB file and its md5), plus a Service."""
    pod = agentenv.pod_yaml("web", NS, SERVE, container_extra=READY, grace=1)
    pod = pod.replace("metadata: {name: web, namespace: " + NS + "}",
                      "metadata: {name: web, namespace: " + NS + ", labels: {app: web}}")
    c.kubectl("apply", "-f", "-", input=pod)
    c.kubectl("create", "service", "clusterip", "web", "-n", NS, "--tcp=80:8080")
    c.kubectl("wait", "-n", NS, "pod/web", "--for=condition=Ready", "--timeout=120s", timeout=130)
    return "web"


@contextlib.contextmanager
def forwarding(c: cluster_mod.Cluster, target: str, remote: str, *, websockets: bool = True
               ) -> Iterator[tuple[int, subprocess.Popen[bytes]]]:
    """`kubectl port-forward target :remote`; yields the local port it chose. Without
    websockets kubectl uses the plain SPDY/3.1 upgrade instead of the WebSocket tunnel."""
    env = c.env()
    if not websockets:
        env["KUBECTL_PORT_FORWARD_WEBSOCKETS"] = "false"
    with subprocess.Popen([cluster_mod.KUBECTL, "port-forward", "-n", NS, target,
                           f":{remote}", "--address", "127.0.0.1"], env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE) as proc:
        try:
            line = read_until(proc, b"\n")
            m = re.search(rb"Forwarding from 127\.0\.0\.1:(\d+) ->", line)
            assert m, line
            yield int(m.group(1)), proc
        finally:
            proc.terminate()


def get(port: int, path: str = "/") -> bytes:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=30) as resp:
        body: bytes = resp.read()
    return body


@pytest.mark.parametrize("target", ["pod/web", "svc/web", "service/web"])
def test_kubectl_port_forward_reaches_the_pod(c: cluster_mod.Cluster, web: str,
                                              target: str) -> None:
    remote = "8080" if target == "pod/web" else "80"
    with forwarding(c, target, remote) as (port, _proc):
        assert get(port) == b"hello-from-pod\n"
        assert get(port) == b"hello-from-pod\n"  # a second connection over the same session


def test_kubectl_port_forward_over_a_plain_spdy_upgrade(c: cluster_mod.Cluster, web: str) -> None:
    with forwarding(c, "pod/web", "8080", websockets=False) as (port, _proc):
        assert get(port) == b"hello-from-pod\n"
        big = get(port, "/big")
        want = get(port, "/big.md5").split()[0].decode()
    assert hashlib.md5(big).hexdigest() == want


DEPLOYMENT = f"""apiVersion: apps/v1
kind: Deployment
metadata: {{name: webdep, namespace: {NS}}}
spec:
  selector: {{matchLabels: {{app: webdep}}}}
  template:
    metadata: {{labels: {{app: webdep}}}}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: main
        image: {agentenv.IMAGE}
        imagePullPolicy: Never
        command: ["sh", "-c", "mkdir -p /www && echo from-deployment > /www/index.html && exec httpd -f -p 8080 -h /www"]
        readinessProbe: {{tcpSocket: {{port: 8080}}, periodSeconds: 1}}
"""


def test_kubectl_port_forward_to_a_deployment(c: cluster_mod.Cluster) -> None:
    c.kubectl("apply", "-f", "-", input=DEPLOYMENT)
    c.kubectl("rollout", "status", "-n", NS, "deployment/webdep", "--timeout=120s", timeout=130)
    with forwarding(c, "deploy/webdep", "8080") as (port, _proc):
        assert get(port) == b"from-deployment\n"


def test_kubectl_port_forward_carries_a_large_body_intact(c: cluster_mod.Cluster,
                                                          web: str) -> None:
    with forwarding(c, "pod/web", "8080") as (port, _proc):
        big = get(port, "/big")
        want = get(port, "/big.md5").split()[0].decode()
    assert len(big) == 1 << 20
    assert hashlib.md5(big).hexdigest() == want


def test_kubectl_port_forward_reports_connection_refused(c: cluster_mod.Cluster,
                                                         web: str) -> None:
    with forwarding(c, "pod/web", "9999") as (port, proc):
        with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
            s.settimeout(30)
            assert s.recv(100) == b""  # the pod refused: kubectl closes our connection
        assert proc.stderr is not None
        proc.wait(timeout=30)  # kubectl 1.32 gives up its session after an error
        err = proc.stderr.read().decode()
    assert re.search(r"error forwarding port 9999 to pod \S+, uid : .*connection refused", err), err


def python_portforward(core: Any, ports: str) -> Any:
    from kubernetes.stream import portforward

    return portforward(core.connect_get_namespaced_pod_portforward, "web", NS, ports=ports)


def http_over(sock: Any) -> bytes:
    sock.sendall(b"GET / HTTP/1.0\r\nHost: web\r\n\r\n")
    got = b""
    while chunk := sock.recv(65536):
        got += chunk
    return got


def test_python_client_port_forward(core: Any, web: str) -> None:
    pf = python_portforward(core, "8080")
    try:
        reply = http_over(pf.socket(8080))
    finally:
        pf.close()
    assert reply.startswith(b"HTTP/1.") and reply.endswith(b"\r\n\r\nhello-from-pod\n")
    assert pf.error(8080) is None


def test_python_client_refused_port_does_not_stop_the_other(core: Any, web: str) -> None:
    pf = python_portforward(core, "9999,8080")
    try:
        reply = http_over(pf.socket(8080))
        refused = pf.socket(9999)
        refused.settimeout(30)
        assert refused.recv(100) == b""
    finally:
        pf.close()
    assert reply.endswith(b"hello-from-pod\n")
    assert "error forwarding port 9999" in pf.error(9999)
    assert "connection refused" in pf.error(9999)


def test_port_forward_to_a_missing_pod_is_not_found(c: cluster_mod.Cluster) -> None:
    res = c.kubectl("port-forward", "-n", NS, "pod/nope", ":8080", check=False)
    assert res.returncode == 1
    assert 'pods "nope" not found' in res.stderr


def test_a_spdy_upgrade_without_the_portforward_protocol_is_refused(core: Any, web: str) -> None:
    api = core.api_client
    resp = api.call_api("POST", f"{api.configuration.host}/api/v1/namespaces/{NS}/pods/web/"
                        "portforward", header_params={
                            "Connection": "Upgrade", "Upgrade": "SPDY/3.1",
                            "X-Stream-Protocol-Version": "v9.example"})
    resp.read()
    assert resp.status == 400
    assert "unable to negotiate protocol" in resp.data.decode()
