"""A sandbox's namespaces made in-process, without a helper command per step.

`ip netns add`, `ip link set lo up` and `unshare ... sh -c 'hostname ...; exec sleep'`
cost four to five fork/execs of the agent's large process per pod, which is most of a
sandbox's start time on a busy node. The same system calls are made here from a short-lived
thread: namespaces are per thread, so unshare(2) in a dedicated thread changes only that
thread, and whatever it creates (a bind-mounted netns, a spawned pause process) keeps the
namespace after the thread ends. The results are the same as the commands': a netns under
/run/netns that `ip netns` lists, and a `sleep infinity` pause process owning the pod's IPC
and UTS namespaces.
"""

from __future__ import annotations

import _thread
import asyncio
import ctypes
import errno
import fcntl
import functools
import os
import socket
import struct
from collections.abc import Callable
from typing import TypeVar

from kubelite.agent.runtime import spawn

CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWNET = 0x40000000
MS_BIND = 0x1000
MS_REC = 0x4000
MS_SHARED = 1 << 20
MNT_DETACH = 2
SIOCGIFFLAGS, SIOCSIFFLAGS, IFF_UP = 0x8913, 0x8914, 0x1
IFREQ = "16sH22x"   # struct ifreq: name, then the flags member of its 24-byte union
PAUSE_ARGV = ("sleep", "infinity")

_libc = ctypes.CDLL(None, use_errno=True)
_libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong,
                        ctypes.c_void_p]
T = TypeVar("T")


def _check(ret: int, what: str) -> None:
    if ret != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def _mount(source: str, target: str, flags: int) -> None:
    _check(_libc.mount(source.encode(), target.encode(), b"none", flags, None),
           f"mount {source} {target}")


async def in_thread(fn: Callable[[], T]) -> T:
    """Run `fn` in a fresh thread that dies afterwards, so namespace changes die with it."""
    loop = asyncio.get_running_loop()
    done: asyncio.Future[T] = loop.create_future()

    def settle(result: T | None, error: BaseException | None) -> None:
        if done.done():
            return
        if error is not None:
            done.set_exception(error)
        else:
            done.set_result(result)  # type: ignore[arg-type]

    def target() -> None:
        try:
            result = fn()
        except BaseException as e:  # noqa: BLE001 - handed to the awaiting task
            loop.call_soon_threadsafe(settle, None, e)
        else:
            loop.call_soon_threadsafe(settle, result, None)
    # A bare thread: threading.Thread.start() would hold the event loop until the new
    # thread got the GIL and a core to report that it runs (long, during a burst of pods).
    _thread.start_new_thread(target, ())
    return await done


def _shared_dir(path: str) -> None:
    """Make `path` a shared mount point, as `ip netns add` does, so namespaces bound under it
    are also visible to mount namespaces created later from this one."""
    os.makedirs(path, exist_ok=True)
    if _libc.mount(b"", path.encode(), b"none", MS_SHARED | MS_REC, None) == 0:
        return
    if ctypes.get_errno() != errno.EINVAL:  # EINVAL: not a mount point yet
        _check(-1, f"make {path} shared")
    _mount(path, path, MS_BIND | MS_REC)
    _check(_libc.mount(b"", path.encode(), b"none", MS_SHARED | MS_REC, None), f"make {path} shared")


@functools.cache
def _prepared(netns_dir: str) -> bool:
    _shared_dir(netns_dir)
    return True


def _new_netns(path: str) -> None:
    _prepared(os.path.dirname(path))
    fd = os.open(path, os.O_RDONLY | os.O_CREAT | os.O_EXCL, 0)
    os.close(fd)
    try:
        _check(_libc.unshare(CLONE_NEWNET), "unshare(CLONE_NEWNET)")
        _mount("/proc/thread-self/ns/net", path, MS_BIND)
        _loopback_up()
    except BaseException:
        _libc.umount2(path.encode(), MNT_DETACH)
        os.unlink(path)
        raise


def _loopback_up() -> None:
    """`ip link set lo up` for the calling thread's network namespace."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        got = fcntl.ioctl(s, SIOCGIFFLAGS, struct.pack(IFREQ, b"lo", 0))
        flags = struct.unpack(IFREQ, got)[1]
        fcntl.ioctl(s, SIOCSIFFLAGS, struct.pack(IFREQ, b"lo", flags | IFF_UP))


async def create_netns(path: str) -> None:
    """A new network namespace bound at `path` (e.g. /run/netns/NAME), loopback up."""
    await in_thread(lambda: _new_netns(path))


def delete_netns(path: str) -> None:
    """Unbind and remove a namespace made by `create_netns` (or `ip netns add`); idempotent."""
    if _libc.umount2(path.encode(), MNT_DETACH) != 0 and ctypes.get_errno() not in (
            errno.EINVAL, errno.ENOENT):
        _check(-1, f"umount {path}")
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def _spawn_pause(hostname: str) -> int:
    _check(_libc.unshare(CLONE_NEWIPC | CLONE_NEWUTS), "unshare(CLONE_NEWIPC|CLONE_NEWUTS)")
    name = hostname.encode()
    _check(_libc.sethostname(name, len(name)), "sethostname")
    null = os.open(os.devnull, os.O_RDWR)
    try:    # found on PATH; a missing binary is an OSError (ENOENT) naming it
        return spawn.spawn_now(list(PAUSE_ARGV), (null, null, null), setsid=True)
    finally:
        os.close(null)


async def spawn_pause(hostname: str) -> int:
    """Start the pod's pause process in new IPC and UTS namespaces named `hostname`; its pid.
    The caller (our process) is its parent and must reap it."""
    return await in_thread(lambda: _spawn_pause(hostname))
