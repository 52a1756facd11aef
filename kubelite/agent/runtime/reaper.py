"""Exit codes of detached containers.

`runc run --detach` forks the container's init and exits, so the init is orphaned. With
PR_SET_CHILD_SUBREAPER set, orphans of our descendants are re-parented to this process
instead of PID 1, so we can waitpid() them and keep their exit status. We wait for
specific pids only (via pidfd), never waitpid(-1), so asyncio's own child watcher keeps
working for the subprocesses it started.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal

from kubelite.agent.runtime import fdwait

PR_SET_CHILD_SUBREAPER = 36
PR_GET_CHILD_SUBREAPER = 37
UNKNOWN_EXIT = 255  # the exit status is lost (not our child): what containerd reports

_libc = ctypes.CDLL(None, use_errno=True)


def become_subreaper() -> None:
    """Make orphaned descendants (container inits) our children; idempotent."""
    if _libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"prctl(PR_SET_CHILD_SUBREAPER): {os.strerror(err)}")


def is_subreaper() -> bool:
    value = ctypes.c_int(0)
    _libc.prctl(PR_GET_CHILD_SUBREAPER, ctypes.byref(value), 0, 0, 0)
    return value.value != 0


def exit_code(status: int) -> int:
    """A wait status as a shell would show it: the code, or 128 + the signal number."""
    if os.WIFSIGNALED(status):
        return 128 + os.WTERMSIG(status)
    return os.waitstatus_to_exitcode(status)


async def wait_exit(pid: int) -> int:
    """Wait until process `pid` exits and reap it; return its exit code."""
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        return _reap(pid)
    try:
        await fdwait.readable(fd)
    finally:
        os.close(fd)
    return _reap(pid)


async def until_ours(pid: int, timeout: float = 5.0) -> None:
    """Wait until `pid` (alive or a zombie) is our child. A runtime that double-forks
    (`crun run --detach`) exits while its intermediate process is still the container's
    parent for a moment; the container is re-parented to us, the subreaper, when that
    process exits, and only then can its exit status be reaped here."""
    ppid = parent_pid(pid)
    if ppid is None or ppid == os.getpid():
        return      # gone, or ours already
    try:
        fd = os.pidfd_open(ppid)
    except OSError:
        return      # the intermediate process is gone already
    try:
        await fdwait.readable(fd, timeout)  # past it, its exit status may be lost (UNKNOWN_EXIT)
    finally:
        os.close(fd)


def _stat(pid: int) -> list[bytes]:
    """The fields of /proc/<pid>/stat after the command name (the state first); OSError
    when the process is gone."""
    with open(f"/proc/{pid}/stat", "rb") as f:
        return f.read().rsplit(b")", 1)[1].split()


def parent_pid(pid: int) -> int | None:
    """The parent of process `pid`; None when it is gone."""
    try:
        return int(_stat(pid)[1])
    except (OSError, IndexError, ValueError):
        return None


def _reap(pid: int) -> int:
    try:
        _, status = os.waitpid(pid, 0)
    except ChildProcessError:
        return UNKNOWN_EXIT
    return exit_code(status)


def alive(pid: int) -> bool:
    """Whether a process runs. A zombie (exited, not yet reaped by whichever subreaper
    inherited it) counts as dead: kill(pid, 0) alone would still succeed on it."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        state = _stat(pid)[0]
    except (OSError, IndexError):
        return True
    return state != b"Z"


SIGNALS = {s.name.removeprefix("SIG"): s for s in signal.Signals}


def reap_strays(known: set[int]) -> list[int]:
    """Reap zombie children that live in a container's pid namespace and that nobody
    waits for: the half-started process of a failed `crun exec --detach`, re-parented to us.
    Left unreaped it would keep the container's pid namespace, and so its init, from ever
    finishing its exit. Processes in our own namespace (asyncio's children) and `known`
    pids (container inits, pause processes) are left alone."""
    me, reaped = os.getpid(), []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) in known:
            continue
        try:
            with open(f"/proc/{entry}/status", encoding="ascii", errors="replace") as f:
                fields = dict(line.split(":", 1) for line in f if ":" in line)
        except OSError:
            continue
        nested = len(fields.get("NSpid", "").split()) > 1
        if (fields.get("State", "").split()[:1] == ["Z"] and nested
                and fields.get("PPid", "").strip() == str(me)):
            with contextlib.suppress(ChildProcessError):
                os.waitpid(int(entry), os.WNOHANG)
                reaped.append(int(entry))
    return reaped
