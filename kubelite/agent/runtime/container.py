"""The runtime's record of one container, persisted next to its bundle."""

from __future__ import annotations

import asyncio
import json
import os
import time
from dataclasses import asdict, dataclass, field

from kubelite.agent.runtime import logs, protocol


@dataclass
class Container:
    id: str
    sandbox_id: str
    config: protocol.ContainerConfig
    image: protocol.ImageInfo
    bundle: str
    cgroups_path: str
    log_path: str
    created_at: float = field(default_factory=time.time)
    state: str = protocol.CREATED
    started_at: float = 0.0
    finished_at: float = 0.0
    exit_code: int = 0
    reason: str = ""
    message: str = ""
    pid: int = 0
    copier: logs.Copier | None = None
    stdin_fd: int = -1
    tty_fd: int = -1
    exited: asyncio.Event = field(default_factory=asyncio.Event)
    waiter: asyncio.Task[None] | None = None

    def status(self) -> protocol.ContainerStatus:
        return protocol.ContainerStatus(
            id=self.id, name=self.config.name, sandbox_id=self.sandbox_id, image=self.config.image,
            image_ref=self.image.id, state=self.state, created_at=self.created_at,
            started_at=self.started_at, finished_at=self.finished_at, exit_code=self.exit_code,
            reason=self.reason, message=self.message, pid=self.pid if self.state == protocol.RUNNING else 0,
            log_path=self.log_path, attempt=self.config.attempt, labels=dict(self.config.labels),
            annotations=dict(self.config.annotations))

    def record_exit(self, code: int, oom_kills: int) -> None:
        """Keep the exit status; reason as the kubelet shows it (OOMKilled wins)."""
        self.exit_code = code
        self.finished_at = time.time()
        self.state = protocol.EXITED
        if oom_kills > 0:
            self.reason = "OOMKilled"
        else:
            self.reason = "Completed" if code == 0 else "Error"
        self.save()
        self.exited.set()

    def record_start_failure(self, message: str) -> None:
        """A start that failed leaves the container exited, as containerd shows it."""
        self.exit_code, self.reason, self.message = protocol.START_ERROR_EXIT, "StartError", message
        self.started_at, self.finished_at = 0.0, time.time()
        self.state = protocol.EXITED
        self.save()
        self.exited.set()

    def save(self) -> None:
        """Write the status to `<bundle>/status.json` so exit codes outlive this object."""
        path = os.path.join(self.bundle, "status.json")
        tmp = path + ".tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(asdict(self.status()), f)
        os.replace(tmp, path)
