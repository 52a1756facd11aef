"""The bundled Ingress controller end to end: a real server with its agent running busybox
httpd pods, Ingresses of two IngressClasses each on its own port, TLS by SNI from a
Secret, 503s with events, a default backend, the status address `kubectl get ingress`
prints, and a WebSocket through to a selector-less Service. Driven with kubectl and curl.
Needs what test_agent_pods needs, as root."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any, Self

import aiohttp
import pytest
from aiohttp import web

from kubelite.apiserver import certs as pki
from tests.e2e import agentenv
from tests.e2e import cluster as cluster_mod

NS = "kubelite-ingress-e2e"
HTTP, HTTPS, ADMIN, DFLT = (cluster_mod.free_port() for _ in range(4))
READY = """    readinessProbe:
      httpGet: {{path: {path}, port: 8080}}
      periodSeconds: 1
    ports: [{{name: web, containerPort: 8080}}]
"""


@pytest.fixture(scope="module")
def c(tmp_path_factory: pytest.TempPathFactory) -> Iterator[cluster_mod.Cluster]:
    yield from agentenv.running_cluster(
        tmp_path_factory, NS, "--ingress-http-port", str(HTTP),
        "--ingress-https-port", str(HTTPS))


def apply(c: cluster_mod.Cluster, text: str) -> None:
    c.kubectl("apply", "-n", NS, "-f", "-", input=text)


def web_pod(name: str, app: str, files: dict[str, str], *, setup: str = "",
            ready: str = "") -> str:
    """A busybox httpd pod serving `files` (path -> content) on 8080, ready once `ready`
    (default: the first file) is served."""
    script = "".join(f"mkdir -p $(dirname /srv/{p}) && echo {json.dumps(body)} > /srv/{p} && "
                     for p, body in files.items())
    pod = agentenv.pod_yaml(name, NS, f"{script}{setup}exec httpd -f -p 8080 -h /srv",
                            container_extra=READY.format(path=ready or "/" + next(iter(files))))
    return pod.replace(f"namespace: {NS}}}", f"namespace: {NS}, labels: {{app: {app}}}}}")


def service(name: str, app: str | None, port: int = 80, target: str = "web") -> str:
    selector = f"\n  selector: {{app: {app}}}" if app else ""
    return f"""apiVersion: v1
kind: Service
metadata: {{name: {name}}}
spec:{selector}
  ports: [{{name: http, port: {port}, targetPort: {target}}}]
"""


def ingress_class(name: str, **ports: int) -> str:
    ann = "".join(f'\n    ingress.kubelite.io/{k.replace("_", "-")}: "{v}"'
                  for k, v in ports.items())
    return f"""apiVersion: networking.k8s.io/v1
kind: IngressClass
metadata:
  name: {name}
  annotations: {{}}{ann}
spec: {{controller: kubelite.io/ingress}}
""".replace("annotations: {}\n    ", "annotations:\n    ")


def ingress(name: str, cls: str, rules: str = "", extra: str = "") -> str:
    return f"""apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {{name: {name}}}
spec:
  ingressClassName: {cls}
{extra}{"  rules:" + rules if rules else ""}
"""


def rule(host: str, path: str, svc: str, kind: str = "Prefix", port: str = "name: http") -> str:
    host_line = f"host: {host}\n    " if host else ""
    return f"""
  - {host_line}http:
      paths:
      - path: {path}
        pathType: {kind}
        backend: {{service: {{name: {svc}, port: {{{port}}}}}}}"""


def curl(*args: str, timeout: float = 10) -> tuple[int, str]:
    """(HTTP status, body) of one curl request (status 0 when curl itself failed)."""
    res = subprocess.run(["curl", "-sS", "--max-time", str(timeout), "-w", "\n%{http_code}",
                          *args], check=False, capture_output=True, text=True,
                         timeout=timeout + 5)
    body, _, code = res.stdout.rpartition("\n")
    return int(code or 0), body.strip()


def wait_body(url: str, want: str, *args: str) -> tuple[int, str]:
    return cluster_mod.wait_for(f"{url} to serve {want!r}", lambda: curl(*args, url),
                                lambda got: got == (200, want))


@pytest.fixture(scope="module")
def apps(c: cluster_mod.Cluster) -> cluster_mod.Cluster:
    """Pods public (under /app) and admin, their Services, the classes public and admin."""
    apply(c, web_pod("public", "public", {"app/hello.txt": "public app"}))
    apply(c, web_pod("admin", "admin", {"hello.txt": "admin console"}))
    apply(c, service("public", "public") + "---\n" + service("admin", "admin"))
    apply(c, ingress_class("public") + "---\n" + ingress_class("admin", http_port=ADMIN,
                                                                 https_port=0))
    c.kubectl("wait", "-n", NS, "pod/public", "pod/admin", "--for=condition=Ready",
              "--timeout=60s", timeout=70)
    return c


def test_two_classes_route_on_their_own_ports(apps: cluster_mod.Cluster) -> None:
    c = apps
    apply(c, ingress("web", "public", rule("", "/app", "public")))
    apply(c, ingress("ops", "admin", rule("admin.local", "/", "admin")))
    wait_body(f"http://127.0.0.1:{HTTP}/app/hello.txt", "public app")
    wait_body(f"http://127.0.0.1:{ADMIN}/hello.txt", "admin console", "-H", "Host: admin.local")
    # Each class is served only on its own entry point, and routing is element-wise.
    assert curl("-H", "Host: admin.local", f"http://127.0.0.1:{HTTP}/hello.txt")[0] == 404
    assert curl(f"http://127.0.0.1:{ADMIN}/app/hello.txt")[0] == 404
    assert curl(f"http://127.0.0.1:{HTTP}/apphello.txt")[0] == 404
    # status.loadBalancer carries the node address; kubectl prints it as ADDRESS.
    out = cluster_mod.wait_for("the ingress address",
                               lambda: c.kubectl("get", "ingress", "-n", NS, "web", "ops").stdout,
                               lambda out: out.count("127.0.0.1") == 2)
    header = out.splitlines()[0].split()
    assert header == ["NAME", "CLASS", "HOSTS", "ADDRESS", "PORTS", "AGE"]
    assert out.splitlines()[2].split()[:4] == ["ops", "admin", "admin.local", "127.0.0.1"]


def test_tls_by_sni_from_a_secret(apps: cluster_mod.Cluster, tmp_path: Any) -> None:
    c = apps
    ca = pki.new_ca("ingress-test-ca")
    pair = pki.issue(ca, "secure.local", hosts=("secure.local",), server=True)
    for name, data in (("ca.pem", ca.cert_pem), ("tls.crt", pair.cert_pem),
                       ("tls.key", pair.key_pem)):
        (tmp_path / name).write_bytes(data)
    c.kubectl("create", "secret", "tls", "secure-tls", "-n", NS, f"--cert={tmp_path}/tls.crt",
              f"--key={tmp_path}/tls.key")
    apply(c, ingress("secure", "public", rule("secure.local", "/", "public"),
                     extra="  tls:\n  - hosts: [secure.local]\n    secretName: secure-tls\n"))
    url = f"https://secure.local:{HTTPS}/app/hello.txt"
    resolve = f"secure.local:{HTTPS}:127.0.0.1"
    wait_body(url, "public app", "--resolve", resolve, "--cacert", f"{tmp_path}/ca.pem")
    # Another name gets the fallback certificate, which our CA did not sign.
    other = f"https://other.local:{HTTPS}/app/hello.txt"
    code, _ = curl("--resolve", f"other.local:{HTTPS}:127.0.0.1", "--cacert",
                   f"{tmp_path}/ca.pem", other)
    assert code == 0
    assert curl("-k", "--resolve", f"other.local:{HTTPS}:127.0.0.1", other) == (200,
                                                                                  "public app")
    # The headers a backend sees say https.
    assert curl("-k", f"https://127.0.0.1:{HTTPS}/app/hello.txt")[0] == 200


def events_of(c: cluster_mod.Cluster, name: str) -> list[dict[str, Any]]:
    return list(c.kubectl_json("get", "events", "-n", NS, "--field-selector",
                               f"involvedObject.name={name},involvedObject.kind=Ingress")["items"])


def test_missing_backend_is_a_fast_503_and_an_event(apps: cluster_mod.Cluster) -> None:
    c = apps
    apply(c, service("nobody", "no-such-pods"))
    apply(c, ingress("broken", "public", rule("broken.local", "/missing", "nope")
                     + rule("broken.local", "/noport", "public", port="number: 81")
                     + rule("broken.local", "/unready", "nobody")))
    url = f"http://127.0.0.1:{HTTP}/missing"
    _, body = cluster_mod.wait_for("a 503", lambda: curl("-H", "Host: broken.local", url),
                                   lambda got: got[0] == 503)
    assert f"service {NS}/nope not found" in body
    began = time.monotonic()
    assert curl("-H", "Host: broken.local", f"http://127.0.0.1:{HTTP}/noport")[0] == 503
    assert curl("-H", "Host: broken.local", f"http://127.0.0.1:{HTTP}/unready")[0] == 503
    assert time.monotonic() - began < 5
    events = cluster_mod.wait_for(
        "events on the ingress", lambda: events_of(c, "broken"),
        lambda evs: {e["reason"] for e in evs} >= {"ServiceNotFound", "ServicePortNotFound"})
    missing = next(e for e in events if e["reason"] == "ServiceNotFound")
    assert missing["type"] == "Warning" and "nope" in missing["message"]


def test_default_backend(apps: cluster_mod.Cluster) -> None:
    c = apps
    apply(c, ingress_class("fallback", http_port=DFLT, https_port=0))
    apply(c, """apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: catch-all}
spec:
  ingressClassName: fallback
  defaultBackend: {service: {name: admin, port: {number: 80}}}
""")
    wait_body(f"http://127.0.0.1:{DFLT}/hello.txt", "admin console", "-H", "Host: any.thing")


def test_round_robin_over_ready_pods(apps: cluster_mod.Cluster) -> None:
    c = apps
    for name in ("rr-a", "rr-b"):
        apply(c, web_pod(name, "rr", {"rr/hello.txt": name}))
    apply(c, service("rr", "rr"))
    apply(c, ingress("rr", "public", rule("rr.local", "/rr", "rr")))
    c.kubectl("wait", "-n", NS, "pod/rr-a", "pod/rr-b", "--for=condition=Ready",
              "--timeout=60s", timeout=70)
    url = f"http://127.0.0.1:{HTTP}/rr/hello.txt"

    cluster_mod.wait_for("both pods to answer",
                         lambda: {curl("-H", "Host: rr.local", url)[1] for _ in range(4)},
                         lambda seen: seen == {"rr-a", "rr-b"})


class EchoBackend:
    """An aiohttp server on loopback: echoes request headers and bodies, and WebSocket
    messages. Runs on its own loop in a thread."""

    def __init__(self) -> None:
        self.port = cluster_mod.free_port()
        self._loop = asyncio.new_event_loop()
        self._started = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    async def _headers(self, request: web.Request) -> web.Response:
        return web.json_response(dict(request.headers))

    async def _upload(self, request: web.Request) -> web.Response:
        digest, size = hashlib.sha256(), 0
        async for chunk in request.content.iter_any():
            digest.update(chunk)
            size += len(chunk)
        return web.json_response({"size": size, "sha256": digest.hexdigest()})

    async def _ws(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(protocols=["echo.v1"])
        await ws.prepare(request)
        async for msg in ws:
            if msg.type == aiohttp.WSMsgType.TEXT:
                await ws.send_str(f"echo: {msg.data}")
            elif msg.type == aiohttp.WSMsgType.BINARY:
                await ws.send_bytes(msg.data[::-1])
        return ws

    def _run(self) -> None:
        app = web.Application()
        app.router.add_get("/ws/headers", self._headers)
        app.router.add_post("/ws/upload", self._upload)
        app.router.add_get("/ws/socket", self._ws)
        self._runner = web.AppRunner(app)
        self._loop.run_until_complete(self._runner.setup())
        self._loop.run_until_complete(web.TCPSite(self._runner, "127.0.0.1", self.port).start())
        self._started.set()
        self._loop.run_forever()

    def __enter__(self) -> Self:
        self._thread.start()
        self._started.wait(10)
        return self

    def __exit__(self, *_: object) -> None:
        asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()


def selectorless_echo(port: int) -> str:
    return service("echo", None) + f"""---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: echo-manual
  labels: {{kubernetes.io/service-name: echo}}
addressType: IPv4
ports: [{{name: http, port: {port}, protocol: TCP}}]
endpoints:
- addresses: [127.0.0.1]
  conditions: {{ready: true}}
"""


async def _websocket_round_trip(url: str) -> tuple[str | None, str, bytes]:
    async with aiohttp.ClientSession() as s, s.ws_connect(
            url, headers={"Host": "echo.local"}, protocols=["echo.v1"]) as ws:
        await ws.send_str("hello")
        text = await ws.receive_str(timeout=10)
        await ws.send_bytes(b"\x01\x02\x03")
        data = await ws.receive_bytes(timeout=10)
        result = ws.protocol, text, data
    # aiohttp's graceful shutdown: one pass of the loop lets the closed connection's
    # transport finish closing before asyncio.run closes the loop (else it is collected
    # unclosed later, a ResourceWarning in whichever test runs then)
    await asyncio.sleep(0)
    return result


def test_websocket_headers_and_streamed_bodies(apps: cluster_mod.Cluster, tmp_path: Any
                                               ) -> None:
    c = apps
    with EchoBackend() as echo:
        apply(c, selectorless_echo(echo.port))
        apply(c, ingress("echo", "public", rule("echo.local", "/ws", "echo")))
        base = f"http://127.0.0.1:{HTTP}/ws"
        _, body = cluster_mod.wait_for("the echo backend", lambda: curl(
            "-H", "Host: echo.local", "-H", "X-Forwarded-For: 203.0.113.9", f"{base}/headers"),
            lambda got: got[0] == 200)
        seen = json.loads(body)
        assert seen["Host"] == "echo.local"
        assert seen["X-Forwarded-For"] == "203.0.113.9, 127.0.0.1"
        assert (seen["X-Forwarded-Proto"], seen["X-Forwarded-Host"]) == ("http", "echo.local")
        assert seen["X-Forwarded-Port"] == str(HTTP)

        blob = os.urandom(3 * 1024 * 1024)
        (tmp_path / "blob").write_bytes(blob)
        code, body = curl("-H", "Host: echo.local", "-H", "Transfer-Encoding: chunked",
                          "--data-binary", f"@{tmp_path}/blob", f"{base}/upload")
        assert code == 200
        assert json.loads(body) == {"size": len(blob), "sha256": hashlib.sha256(blob).hexdigest()}

        protocol, text, data = asyncio.run(_websocket_round_trip(
            f"ws://127.0.0.1:{HTTP}/ws/socket"))
        assert (protocol, text, data) == ("echo.v1", "echo: hello", b"\x03\x02\x01")
        c.kubectl("delete", "-n", NS, "ingress/echo", "service/echo", "endpointslice/echo-manual")


def test_large_response_streams_through(apps: cluster_mod.Cluster) -> None:
    c = apps
    size = 2 * 1024 * 1024
    apply(c, web_pod("bigfile", "bigfile", {}, ready="/big/file.bin", setup=(
        f"mkdir -p /srv/big && head -c {size} /dev/urandom > /srv/big/file.bin && ")))
    apply(c, service("bigfile", "bigfile"))
    apply(c, ingress("bigfile", "public", rule("big.local", "/big", "bigfile")))
    c.kubectl("wait", "-n", NS, "pod/bigfile", "--for=condition=Ready", "--timeout=60s",
              timeout=70)
    url = f"http://127.0.0.1:{HTTP}/big/file.bin"

    def fetch() -> str:
        return subprocess.run(["curl", "-sS", "--max-time", "20", "-H", "Host: big.local", "-o",
                               "/dev/null", "-w", "%{http_code} %{size_download}", url],
                              check=False, capture_output=True, text=True, timeout=30).stdout
    got = cluster_mod.wait_for("the big file", fetch, lambda got: got.startswith("200 "))
    assert got == f"200 {size}"


def test_kubectl_create_ingress_uses_the_default_class(apps: cluster_mod.Cluster) -> None:
    c = apps
    classes = c.kubectl_json("get", "ingressclass", "kubelite")
    assert classes["spec"]["controller"] == "kubelite.io/ingress"
    assert classes["metadata"]["annotations"][
        "ingressclass.kubernetes.io/is-default-class"] == "true"
    c.kubectl("create", "ingress", "plain", "-n", NS, "--rule=plain.local/*=admin:http")
    # the API server fills in the default class, as upstream's DefaultIngressClass does
    assert c.kubectl_json("get", "ingress", "plain", "-n", NS)["spec"]["ingressClassName"] == \
        "kubelite"
    assert c.kubectl("get", "ingress", "plain", "-n", NS).stdout.split("\n")[1].split()[1] == \
        "kubelite"
    url = f"http://127.0.0.1:{HTTP}/hello.txt"
    wait_body(url, "admin console", "-H", "Host: plain.local")
    c.kubectl("delete", "ingress", "plain", "-n", NS)
    cluster_mod.wait_for("the route to go", lambda: curl("-H", "Host: plain.local", url),
                         lambda got: got[0] == 404)


def test_standalone_controller_serves_beside_the_bundled_one(apps: cluster_mod.Cluster,
                                                             tmp_path: Any) -> None:
    """`kubelite ingress --kubeconfig` against a cluster whose default class already exists
    (as after a server restart) serves the same Ingresses on its own ports."""
    c = apps
    apply(c, ingress("alone", "public", rule("alone.local", "/", "admin")))
    port = cluster_mod.free_port()
    log_path = tmp_path / "ingress.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "kubelite.cli", "ingress", "--kubeconfig", c.kubeconfig,
             "--ingress-http-port", str(port), "--ingress-https-port", "0"],
            stdout=log, stderr=subprocess.STDOUT, env=c.env())
    try:
        wait_body(f"http://127.0.0.1:{port}/hello.txt", "admin console", "-H", "Host: alone.local")
        assert proc.poll() is None
    finally:
        proc.terminate()
        proc.wait(15)
    assert "Traceback" not in log_path.read_text()
