"""Running commands in a running container with `runc exec`: to completion (probes,
`exec_sync`) or interactively with streams and an optional terminal (`kubectl exec`)."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import signal
import uuid

from kubelite.agent.runtime import console, protocol, reaper, runc


class ExecTimeout(protocol.RuntimeFailure):
    """The command did not finish within its timeout; it has been killed."""


def _kill_from(pid_file: str) -> None:
    with contextlib.suppress(OSError, ValueError):
        os.kill(runc.read_pid(pid_file), signal.SIGKILL)


async def exec_sync(rc: runc.Runc, cid: str, bundle: str, cmd: list[str],
                    timeout: float) -> protocol.ExecResult:
    """Run `cmd` and collect its output; kill it and raise ExecTimeout after `timeout` (0: none)."""
    pid_file = os.path.join(bundle, f"exec-{uuid.uuid4().hex[:12]}.pid")
    proc = await asyncio.create_subprocess_exec(
        *rc.argv("exec", "--pid-file", pid_file, cid, *cmd), stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    try:
        out, err = await asyncio.wait_for(proc.communicate(), timeout or None)
    except TimeoutError:
        _kill_from(pid_file)
        await proc.wait()
        raise ExecTimeout(f"command {cmd!r} timed out after {timeout}s") from None
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(pid_file)
    assert proc.returncode is not None
    return protocol.ExecResult(proc.returncode, out, err)


class PipeExec:
    """An exec session over plain pipes (no terminal)."""

    def __init__(self, proc: asyncio.subprocess.Process, pid_file: str) -> None:
        self.proc = proc
        self.pid_file = pid_file
        self.stdin = proc.stdin
        assert proc.stdout is not None
        self.stdout: asyncio.StreamReader = proc.stdout
        self.stderr = proc.stderr

    def resize(self, width: int, height: int) -> None:
        """No terminal: nothing to resize."""

    async def wait(self) -> int:
        code = await self.proc.wait()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.pid_file)
        return code

    def kill(self) -> None:
        _kill_from(self.pid_file)


class TtyExec:
    """An exec session on the container's own terminal. The runtime hands us the pty
    master (--console-socket) and detaches, so there is one terminal and nothing proxies
    it: no raw-mode race doubling carriage returns, no runtime messages mixed into the
    output. The process is re-parented to us (we are a subreaper) and reaped for its code."""

    def __init__(self, pid: int, pid_file: str, master: int,
                 writer: asyncio.StreamWriter | None) -> None:
        self.pid = pid
        self.pid_file = pid_file
        self.master = master
        self.stdin: asyncio.StreamWriter | None = writer
        self.stderr: asyncio.StreamReader | None = None
        self.stdout = asyncio.StreamReader()
        os.set_blocking(master, False)
        asyncio.get_running_loop().add_reader(master, self._readable)

    def _readable(self) -> None:
        try:
            data = os.read(self.master, 65536)
        except BlockingIOError:
            return
        except OSError as e:  # EIO: the terminal's other side is closed
            if e.errno != errno.EIO:
                raise
            data = b""
        if data:
            self.stdout.feed_data(data)
        else:
            asyncio.get_running_loop().remove_reader(self.master)
            self.stdout.feed_eof()

    def resize(self, width: int, height: int) -> None:
        console.resize(self.master, width, height)   # the kernel signals SIGWINCH itself

    def kill(self) -> None:
        _kill_from(self.pid_file)

    async def wait(self) -> int:
        code = await reaper.wait_exit(self.pid)
        await self.stdout.read()  # drain: the terminal closes once the process is gone
        if self.stdin is not None:
            self.stdin.close()
        os.close(self.master)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.pid_file)
        return code


async def start(rc: runc.Runc, cid: str, bundle: str, cmd: list[str], *, tty: bool,
                stdin: bool) -> PipeExec | TtyExec:
    """Start an interactive exec; the caller reads/writes the streams and awaits wait()."""
    pid_file = os.path.join(bundle, f"exec-{uuid.uuid4().hex[:12]}.pid")
    if not tty:
        proc = await asyncio.create_subprocess_exec(
            *rc.argv("exec", "--pid-file", pid_file, cid, *cmd),
            stdin=asyncio.subprocess.PIPE if stdin else asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        return PipeExec(proc, pid_file)
    sock = console.ConsoleSocket()
    receive = asyncio.create_task(sock.receive())
    try:
        await rc.exec_on_console(cid, cmd, console_socket=sock.path, pid_file=pid_file,
                                 log_file=os.path.join(bundle, "exec.log"))
        master = await asyncio.wait_for(receive, 10)
    finally:
        receive.cancel()
        sock.close()
    pid = runc.read_pid(pid_file)
    writer = None
    if stdin:
        loop = asyncio.get_running_loop()
        transport, proto = await loop.connect_write_pipe(
            lambda: asyncio.streams.FlowControlMixin(loop), os.fdopen(os.dup(master), "wb", 0))
        writer = asyncio.StreamWriter(transport, proto, None, loop)
    return TtyExec(pid, pid_file, master, writer)
