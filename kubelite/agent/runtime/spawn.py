"""Running the runtime binary's short commands without asyncio's subprocess machinery.

`asyncio.create_subprocess_exec` costs the event loop more than the spawn itself on a
busy node: a Popen object, pipe transports, and (Python 3.11's default child watcher) a
thread per child whose start waits for the GIL. Here a command is posix_spawn'ed (vfork
and exec, like Popen) and reaped through a pidfd the loop watches (reaper.wait_exit);
output is read from plain pipes with loop readers. Python opens fds non-inheritable, so
the child gets only the three it is given.
"""

from __future__ import annotations

import asyncio
import os
import signal

from kubelite.agent.runtime import reaper

# Python ignores these at start-up and ignored signals survive exec: put them back to their
# defaults in the child, as Popen's restore_signals does, or containers would ignore them.
RESTORED_SIGNALS = (signal.SIGPIPE, signal.SIGXFSZ)


def _spawn(argv: list[str], stdio: tuple[int, int, int]) -> int:
    actions = [(os.POSIX_SPAWN_DUP2, fd, target) for target, fd in enumerate(stdio)]
    return os.posix_spawnp(argv[0], argv, dict(os.environ), file_actions=actions,
                           setsigdef=RESTORED_SIGNALS)


async def run(argv: list[str], stdio: tuple[int, int, int]) -> int:
    """Run `argv` with the given stdin/stdout/stderr fds; its exit code."""
    return await reaper.wait_exit(_spawn(argv, stdio))


def _drain(fd: int) -> asyncio.Future[bytes]:
    """Everything written to pipe `fd` until EOF; closes fd."""
    loop = asyncio.get_running_loop()
    done: asyncio.Future[bytes] = loop.create_future()
    chunks: list[bytes] = []
    os.set_blocking(fd, False)

    def readable() -> None:
        try:
            chunk = os.read(fd, 65536)
        except BlockingIOError:
            return
        if chunk:
            chunks.append(chunk)
            return
        loop.remove_reader(fd)
        os.close(fd)
        if not done.done():
            done.set_result(b"".join(chunks))
    loop.add_reader(fd, readable)
    return done


async def output(argv: list[str]) -> tuple[int, bytes, bytes]:
    """Run `argv` with stdin from /dev/null; its exit code, stdout and stderr."""
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    null = os.open(os.devnull, os.O_RDONLY)
    try:
        pid = _spawn(argv, (null, out_w, err_w))
    except BaseException:
        os.close(out_r)
        os.close(err_r)
        raise
    finally:
        for fd in (null, out_w, err_w):
            os.close(fd)
    out, err = _drain(out_r), _drain(err_r)
    code = await reaper.wait_exit(pid)
    return code, await out, await err
