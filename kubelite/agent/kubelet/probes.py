"""Liveness, readiness and startup probes of one container.

exec probes run through the runtime (`exec_sync`); httpGet and tcpSocket probes open a
socket inside the pod's network namespace (see netns) and talk to the host given, or
127.0.0.1. Results follow upstream: a probe counts toward a state change only after
successThreshold successes or failureThreshold failures in a row; until the startup
probe succeeds the others do not run; a container without a readiness probe is ready
once started.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from kubelite.agent.kubelet import netns
from kubelite.agent.runtime import execs, protocol

log = logging.getLogger(__name__)
Obj = dict[str, Any]
KINDS = ("startupProbe", "livenessProbe", "readinessProbe")


@dataclass(frozen=True)
class Target:
    """Where a probe runs: the container (exec) and the pod's network namespace."""

    runtime: protocol.Runtime
    container_id: str
    netns_path: str
    ports: dict[str, int]


def _port(target: Target, port: Any) -> int:
    if isinstance(port, int) or str(port).isdigit():
        return int(port)
    if port not in target.ports:
        raise ValueError(f"unknown named port {port!r}")
    return target.ports[port]


async def _http(target: Target, spec: Obj, timeout: float) -> tuple[bool, str]:
    host, port = spec.get("host") or "127.0.0.1", _port(target, spec["port"])
    path = spec.get("path") or "/"
    headers = "".join(f"{h['name']}: {h['value']}\r\n" for h in spec.get("httpHeaders") or [])
    sock = netns.socket_in(target.netns_path)
    loop = asyncio.get_running_loop()
    try:
        await loop.sock_connect(sock, (host, port))
        reader, writer = await asyncio.open_connection(sock=sock)
        writer.write(f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUser-Agent: kube-probe/1.32"
                     f"\r\nAccept: */*\r\n{headers}Connection: close\r\n\r\n".encode())
        line = await reader.readline()
        writer.close()
    finally:
        sock.close()
    parts = line.decode(errors="replace").split()
    code = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0
    if 200 <= code < 400:
        return True, ""
    return False, f"HTTP probe failed with statuscode: {code}"


async def _tcp(target: Target, spec: Obj) -> tuple[bool, str]:
    host, port = spec.get("host") or "127.0.0.1", _port(target, spec["port"])
    sock = netns.socket_in(target.netns_path)
    try:
        await asyncio.get_running_loop().sock_connect(sock, (host, port))
    finally:
        sock.close()
    return True, ""


async def run_once(target: Target, probe: Obj) -> tuple[bool, str]:
    """One probe attempt: (success, message)."""
    timeout = float(probe.get("timeoutSeconds") or 1)
    try:
        if "exec" in probe:
            res = await target.runtime.exec_sync(target.container_id, list(probe["exec"]["command"]),
                                                 timeout)
            out = (res.stdout + res.stderr).decode(errors="replace").strip()
            return res.exit_code == 0, out
        if "httpGet" in probe:
            return await asyncio.wait_for(_http(target, probe["httpGet"], timeout), timeout)
        if "tcpSocket" in probe:
            return await asyncio.wait_for(_tcp(target, probe["tcpSocket"]), timeout)
        return False, f"unsupported probe handler {sorted(probe)}"
    except (TimeoutError, execs.ExecTimeout):
        return False, f"probe timed out after {timeout:g}s"
    except (OSError, ValueError, protocol.RuntimeFailure) as e:
        return False, str(e)


Report = Callable[[str, bool, str], None]  # (kind, healthy, message) on every state change


class Prober:
    """Runs a container's probes until cancelled; reports result changes to the pod worker."""

    def __init__(self, target: Target, container: Obj, report: Report) -> None:
        self.target = target
        self.container = container
        self.report = report
        self.started = "startupProbe" not in container
        self.tasks: list[asyncio.Task[None]] = []

    def start(self) -> None:
        for kind in KINDS:
            if kind in self.container:
                self.tasks.append(asyncio.create_task(self._loop(kind, self.container[kind]),
                                                      name=f"probe-{kind}"))

    def stop(self) -> None:
        for task in self.tasks:
            task.cancel()

    async def _loop(self, kind: str, probe: Obj) -> None:
        period = float(probe.get("periodSeconds") or 10)
        need_ok = int(probe.get("successThreshold") or 1)
        need_fail = int(probe.get("failureThreshold") or 3)
        await asyncio.sleep(float(probe.get("initialDelaySeconds") or 0))
        oks = fails = 0
        state: bool | None = None
        while True:
            if kind == "startupProbe" or self.started:
                ok, msg = await run_once(self.target, probe)
                oks, fails = (oks + 1, 0) if ok else (0, fails + 1)
                if not ok:
                    self.report(kind + ":attempt", False, msg)
                new = True if oks >= need_ok else False if fails >= need_fail else state
                if new is not None and new != state:
                    state = new
                    self.report(kind, new, msg)
                    if kind == "startupProbe" and new:
                        self.started = True
                        return
                    if kind == "livenessProbe" and not new:
                        return
            await asyncio.sleep(period)
