"""The runtime interface the kubelet drives, shaped like the Kubernetes CRI.

Contract: every method is safe to call concurrently for different containers; ids are
opaque strings chosen by the runtime; a missing id raises NotFound; `remove_*` of an
already removed object is not an error (the kubelet retries). Times are Unix seconds
(float); 0 means "not yet". Container logs are files in the CRI format, one line each:
`<RFC3339Nano time> <stdout|stderr> <P|F> <text>` (P = partial line, F = full line).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

CREATED = "created"
RUNNING = "running"
EXITED = "exited"
START_ERROR_EXIT = 128     # exit code of a container whose start failed (containerd's)
UNKNOWN = "unknown"
SANDBOX_READY = "ready"
SANDBOX_NOT_READY = "notready"


class RuntimeFailure(RuntimeError):
    """The runtime could not do what was asked; the message carries the runtime's reason."""


class NotFound(RuntimeFailure):
    """No sandbox or container has this id."""


@dataclass(frozen=True)
class Mount:
    """A bind mount of a host path into the container."""

    host_path: str
    container_path: str
    readonly: bool = False
    propagation: str = "private"  # private | rslave (HostToContainer) | rshared (Bidirectional)


@dataclass(frozen=True)
class Resources:
    """Linux resource limits; 0 means unlimited / not set."""

    cpu_period: int = 0      # microseconds
    cpu_quota: int = 0       # microseconds per period
    cpu_shares: int = 0
    memory_limit: int = 0    # bytes
    pids_limit: int = 0


@dataclass(frozen=True)
class DNSConfig:
    servers: tuple[str, ...] = ("127.0.0.1",)
    searches: tuple[str, ...] = ()
    options: tuple[str, ...] = ()


@dataclass(frozen=True)
class PodSandboxConfig:
    """What a pod's sandbox needs: identity, hostname, DNS, where its logs go."""

    name: str
    namespace: str
    uid: str
    attempt: int = 0
    hostname: str = ""
    log_directory: str = ""
    dns: DNSConfig = field(default_factory=DNSConfig)
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ContainerConfig:
    """One container. `command` replaces the image entrypoint, `args` its Cmd (as Kubernetes)."""

    name: str
    image: str
    command: tuple[str, ...] = ()
    args: tuple[str, ...] = ()
    env: tuple[tuple[str, str], ...] = ()
    working_dir: str = ""
    mounts: tuple[Mount, ...] = ()
    user: int | None = None
    group: int | None = None
    supplemental_groups: tuple[int, ...] = ()
    readonly_rootfs: bool = False
    privileged: bool = False
    capabilities_add: tuple[str, ...] = ()
    capabilities_drop: tuple[str, ...] = ()
    resources: Resources = field(default_factory=Resources)
    tty: bool = False
    stdin: bool = False
    stdin_once: bool = False  # the first attach session's end closes stdin
    log_path: str = ""  # relative to the sandbox's log_directory, or absolute
    attempt: int = 0
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ContainerStatus:
    id: str
    name: str
    sandbox_id: str
    image: str
    image_ref: str
    state: str
    created_at: float
    started_at: float = 0.0
    finished_at: float = 0.0
    exit_code: int = 0
    reason: str = ""   # Completed | Error | OOMKilled | ContainerCannotRun
    message: str = ""
    pid: int = 0
    log_path: str = ""
    attempt: int = 0
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class PodSandboxStatus:
    id: str
    config: PodSandboxConfig
    state: str
    created_at: float
    netns_path: str
    ips: tuple[str, ...] = ()


@dataclass(frozen=True)
class ContainerStats:
    id: str
    timestamp: float
    cpu_usage_ns: int          # cumulative CPU time
    memory_usage_bytes: int
    memory_working_set_bytes: int  # usage minus inactive file cache, as the kubelet computes it
    memory_limit_bytes: int
    pids: int
    oom_kills: int


@dataclass(frozen=True)
class ExecResult:
    exit_code: int
    stdout: bytes
    stderr: bytes


class ExecProcess(Protocol):
    """A running exec session (kubectl exec): streams in, streams out, a resize, an exit code.

    With tty, stderr is None and stdout carries the terminal output.
    """

    stdin: asyncio.StreamWriter | None
    stdout: asyncio.StreamReader
    stderr: asyncio.StreamReader | None

    def resize(self, width: int, height: int) -> None: ...
    async def wait(self) -> int: ...
    def kill(self) -> None: ...


@dataclass(frozen=True)
class ImageInfo:
    """What the runtime needs from the image store to build a root filesystem."""

    ref: str                      # the resolved canonical name
    id: str                       # config digest
    layers: tuple[str, ...]       # unpacked layer dirs, bottom first
    config: dict[str, Any]        # the OCI image config ({"config": {"Env": ..., ...}})


class ImageSource(Protocol):
    def image_info(self, ref: str) -> ImageInfo:
        """Resolve a local image; raise NotFound if it is not present."""
        ...


NetworkSetup = Callable[[str, str, PodSandboxConfig], Awaitable[tuple[str, ...]]]
"""Hook called as setup(sandbox_id, netns_path, config) -> pod IPs, after loopback is up."""
NetworkTeardown = Callable[[str, str, PodSandboxConfig], Awaitable[None]]


class Runtime(Protocol):
    async def run_pod_sandbox(self, config: PodSandboxConfig) -> str: ...
    async def stop_pod_sandbox(self, sandbox_id: str) -> None: ...
    async def remove_pod_sandbox(self, sandbox_id: str) -> None: ...
    async def pod_sandbox_status(self, sandbox_id: str) -> PodSandboxStatus: ...
    async def list_pod_sandboxes(self) -> list[PodSandboxStatus]: ...

    async def create_container(self, sandbox_id: str, config: ContainerConfig) -> str: ...
    async def start_container(self, container_id: str) -> None: ...
    async def stop_container(self, container_id: str, timeout: float) -> None:
        """SIGTERM (or the image's StopSignal), then SIGKILL after `timeout` seconds."""
        ...
    async def remove_container(self, container_id: str) -> None: ...
    async def container_status(self, container_id: str) -> ContainerStatus: ...
    async def list_containers(self, sandbox_id: str | None = None) -> list[ContainerStatus]: ...
    async def wait_container(self, container_id: str) -> ContainerStatus:
        """Block until the container has exited; return its final status."""
        ...

    async def exec_sync(self, container_id: str, cmd: list[str], timeout: float) -> ExecResult: ...
    async def exec(self, container_id: str, cmd: list[str], *, tty: bool = False,
                   stdin: bool = False) -> ExecProcess: ...
    async def attach(self, container_id: str, *, stdin: bool = False) -> ExecProcess:
        """The running container's own stdio, live; kill() detaches, wait() ends with its output."""
        ...
    def container_log_path(self, container_id: str) -> str: ...
    async def container_stats(self, container_id: str) -> ContainerStats: ...
