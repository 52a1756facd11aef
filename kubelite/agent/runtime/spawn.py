"""Running the runtime binary's short commands without asyncio's subprocess machinery.

`asyncio.create_subprocess_exec` costs the event loop more than the spawn itself on a
busy node: a Popen object, pipe transports, and (Python 3.11's default child watcher) a
thread per child whose start waits for the GIL. Here a command is posix_spawn'ed (vfork
and exec, like Popen) and reaped through a pidfd the loop watches (reaper.wait_exit);
output is read from plain pipes with loop readers. Python opens fds non-inheritable, so
the child gets only the three it is given.

The spawn itself runs on a worker thread, through libc rather than os.posix_spawn: the
caller of vfork waits until the child has exec'd (1-5 ms each, and more, while a burst of pods
keeps both cores busy), and os.posix_spawn waits holding the GIL, so the event loop, which
the agent shares with the API server in the bundled server, would wait with it.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import functools
import os
import signal

from kubelite.agent.runtime import reaper

# Python ignores these at start-up and ignored signals survive exec: put them back to their
# defaults in the child, as Popen's restore_signals does, or containers would ignore them.
RESTORED_SIGNALS = (signal.SIGPIPE, signal.SIGXFSZ)

_libc = ctypes.CDLL(None, use_errno=True)
# Opaque glibc types, given more room than they take (80, 336 and 128 bytes on x86-64).
_FILE_ACTIONS, _ATTR, _SIGSET = 512, 1024, 256
POSIX_SPAWN_SETSIGDEF, POSIX_SPAWN_SETSID = 0x04, 0x80


def _checked(err: int, what: str) -> None:
    if err != 0:
        raise OSError(err, f"{what}: {os.strerror(err)}")


def spawn_now(argv: list[str], stdio: tuple[int, int, int], *, setsid: bool = False) -> int:
    """posix_spawnp(argv) with `stdio` as fds 0-2, RESTORED_SIGNALS at their defaults and
    this process's environment (in a new session if `setsid`); the GIL is released while it
    waits for the exec."""
    actions = ctypes.create_string_buffer(_FILE_ACTIONS)
    attr = ctypes.create_string_buffer(_ATTR)
    sigs = ctypes.create_string_buffer(_SIGSET)
    _checked(_libc.posix_spawn_file_actions_init(actions), "posix_spawn_file_actions_init")
    try:
        _checked(_libc.posix_spawnattr_init(attr), "posix_spawnattr_init")
        try:
            for target, fd in enumerate(stdio):
                _checked(_libc.posix_spawn_file_actions_adddup2(actions, fd, target), "adddup2")
            _libc.sigemptyset(sigs)
            for sig in RESTORED_SIGNALS:
                _libc.sigaddset(sigs, int(sig))
            _checked(_libc.posix_spawnattr_setsigdefault(attr, sigs), "setsigdefault")
            flags = POSIX_SPAWN_SETSIGDEF | (POSIX_SPAWN_SETSID if setsid else 0)
            _checked(_libc.posix_spawnattr_setflags(attr, ctypes.c_short(flags)), "setflags")
            args = [os.fsencode(a) for a in argv]
            env = [k + b"=" + v for k, v in os.environb.items()]
            c_argv = (ctypes.c_char_p * (len(args) + 1))(*args, None)
            c_env = (ctypes.c_char_p * (len(env) + 1))(*env, None)
            pid = ctypes.c_int(0)
            err = _libc.posix_spawnp(ctypes.byref(pid), c_argv[0], actions, attr, c_argv, c_env)
            if err != 0:
                raise OSError(err, os.strerror(err), argv[0])
            return pid.value
        finally:
            _libc.posix_spawnattr_destroy(attr)
    finally:
        _libc.posix_spawn_file_actions_destroy(actions)


async def _spawn(argv: list[str], stdio: tuple[int, int, int]) -> int:
    """spawn_now on the loop's default executor. A cancelled caller still waits for the
    spawn to finish, so the fds it was given stay open until the child has them."""
    fut = asyncio.get_running_loop().run_in_executor(None, functools.partial(spawn_now, argv, stdio))
    try:
        return await asyncio.shield(fut)
    except asyncio.CancelledError:
        with contextlib.suppress(BaseException):
            await asyncio.wait([fut])
        raise


async def run(argv: list[str], stdio: tuple[int, int, int]) -> int:
    """Run `argv` with the given stdin/stdout/stderr fds; its exit code."""
    return await reaper.wait_exit(await _spawn(argv, stdio))


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
        pid = await _spawn(argv, (null, out_w, err_w))
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
