"""A thin async driver of an OCI runtime's command line (run --detach / state / kill /
delete / exec): runc, or crun, which takes the same commands and flags."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any

from kubelite.agent.runtime import protocol, reaper, spawn


@dataclass(frozen=True)
class Runc:
    binary: str = "runc"
    root: str = "/run/kubelite/runc"  # the runtime's state directory, private to kubelite
    run_prefix: tuple[str, ...] = ()  # wraps `run` (crun on hybrid cgroups: ocibinary)

    @property
    def name(self) -> str:
        return os.path.basename(self.binary)

    def argv(self, *args: str) -> list[str]:
        return [self.binary, "--root", self.root, *args]

    async def _call(self, *args: str) -> bytes:
        code, out, err = await spawn.output(self.argv(*args))
        if code != 0:
            raise _failure(self.name, args[0], err.decode(errors="replace"))
        return out

    async def run(self, cid: str, bundle: str, *, stdio: tuple[int, int, int],
                  console_socket: str = "") -> int:
        """Create and start the container with the given stdio (`run --detach`: one runtime
        process instead of `create` and `start`); return its init pid, by then our child."""
        pid_file = os.path.join(bundle, "init.pid")
        log_file = os.path.join(bundle, "runc.log")
        extra = ["--console-socket", console_socket] if console_socket else []
        argv = [*self.run_prefix, *self.argv("--log", log_file, "--log-format", "json", "run",
                                             "--detach", "--bundle", bundle,
                                             "--pid-file", pid_file, *extra, cid)]
        if await spawn.run(argv, stdio) != 0:
            raise _failure(self.name, "run", _last_error(log_file))
        pid = read_pid(pid_file)
        await reaper.until_ours(pid)
        return pid

    async def exec_on_console(self, cid: str, cmd: list[str], *, console_socket: str,
                              pid_file: str, log_file: str) -> None:
        """Start `cmd` detached on a new terminal whose master goes to `console_socket`."""
        null = os.open(os.devnull, os.O_RDWR)
        try:
            argv = self.argv("--log", log_file, "--log-format", "json", "exec", "--detach",
                             "--tty", "--console-socket", console_socket, "--pid-file",
                             pid_file, cid, *cmd)
            code = await spawn.run(argv, (null, null, null))
        finally:
            os.close(null)
        if code != 0:   # e.g. the executable does not exist: not a missing container
            raise protocol.RuntimeFailure(f"{self.name} exec: {_last_error(log_file)}")

    async def state(self, cid: str) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(await self._call("state", cid))
        return data

    async def kill(self, cid: str, signal: str = "TERM", *, all_processes: bool = False) -> None:
        await self._call("kill", *(["--all"] if all_processes else []), cid, signal)

    async def delete(self, cid: str, *, force: bool = False) -> None:
        try:
            await self._call("delete", *(["--force"] if force else []), cid)
        except protocol.NotFound:
            pass


def read_pid(pid_file: str) -> int:
    """The pid the runtime wrote to `pid_file` (--pid-file): a few bytes on local disk."""
    with open(pid_file, encoding="ascii") as f:
        return int(f.read().strip())


def _failure(name: str, verb: str, message: str) -> protocol.RuntimeFailure:
    text = message.strip()
    lower = text.lower()
    if "does not exist" in lower or "not found" in lower or (  # runc / crun wording
            "status`: no such file or directory" in lower):
        return protocol.NotFound(f"{name} {verb}: {text}")
    return protocol.RuntimeFailure(f"{name} {verb}: {text}")


def _last_error(log_file: str) -> str:
    """The last error runc logged (its JSON log), else the log's last line."""
    try:
        with open(log_file, encoding="utf-8", errors="replace") as f:
            lines = f.read().splitlines()
    except OSError:
        return "failed (no log)"
    for line in reversed(lines):
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:
            continue
        if entry.get("level") in ("error", "fatal"):
            return str(entry.get("msg", line))
    return lines[-1] if lines else "failed"
