"""Exit statuses of processes that are not our children, from the kernel's proc connector.

A container adopted after an agent restart is no longer our child (its init was re-parented
when the old agent died), so waitpid() cannot give its status and whoever reaps it keeps
it. The kernel also announces every process exit, with the wait status, on the netlink
connector (PROC_EVENT_EXIT, CONFIG_PROC_EVENTS; needs CAP_NET_ADMIN). We listen only while
some adopted container is being watched, and pick out the pids we expect.

The connector belongs to the initial network namespace: an agent started inside another
one opens the socket from a short-lived thread that entered it (as netns does for pods). Only exits are read; nothing is sent on any network. Where none of this is
possible, exits stay unknown (reaper.UNKNOWN_EXIT), as before. containerd avoids the
question altogether with a shim process per container that is the container's parent and
outlives containerd restarts, so it can always wait for the status itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import os
import socket
import struct

from kubelite.agent.network import rtnl
from kubelite.agent.runtime import reaper

log = logging.getLogger(__name__)

NETLINK_CONNECTOR = 11
CN_IDX_PROC, CN_VAL_PROC = 1, 1
PROC_CN_MCAST_LISTEN, PROC_CN_MCAST_IGNORE = 1, 2
PROC_EVENT_EXIT = 0x80000000
NLMSG_DONE = 3
_NLMSG = struct.Struct("=IHHII")       # len, type, flags, seq, pid
_CN_MSG = struct.Struct("=IIIIHH")     # idx, val, seq, ack, len, flags
_EVENT = struct.Struct("=IIQ")         # what, cpu, timestamp
_EXIT = struct.Struct("=IIII")         # pid, tgid, exit_code (a wait status), exit_signal
RCVBUF = 4 << 20


def _control(op: int) -> bytes:
    body = struct.pack("=I", op)
    cn = _CN_MSG.pack(CN_IDX_PROC, CN_VAL_PROC, 0, 0, len(body), 0) + body
    return _NLMSG.pack(_NLMSG.size + len(cn), NLMSG_DONE, 0, 0, 0) + cn


def parse_exits(data: bytes) -> list[tuple[int, int]]:
    """(pid, wait status) of every whole-process exit in one datagram of netlink messages."""
    out, pos = [], 0
    while pos + _NLMSG.size <= len(data):
        length = _NLMSG.unpack_from(data, pos)[0]
        if length < _NLMSG.size:
            break
        event = pos + _NLMSG.size + _CN_MSG.size
        if event + _EVENT.size + _EXIT.size <= min(pos + length, len(data)):
            what = _EVENT.unpack_from(data, event)[0]
            if what == PROC_EVENT_EXIT:
                pid, tgid, status, _ = _EXIT.unpack_from(data, event + _EVENT.size)
                if pid == tgid:   # the thread group leader: the process itself
                    out.append((pid, status))
        pos += (length + 3) & ~3
    return out


def _open() -> socket.socket:
    sock = socket.socket(socket.AF_NETLINK, socket.SOCK_DGRAM, NETLINK_CONNECTOR)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RCVBUF)
        sock.bind((0, CN_IDX_PROC))
        sock.send(_control(PROC_CN_MCAST_LISTEN))
    except OSError:
        sock.close()
        raise
    return sock


def _other_netns() -> list[str]:
    """Where the initial network namespace may be: PID 1's, then our ancestors' (PID 1's
    may be closed to us while a parent's is not)."""
    ours, paths, pid = os.readlink("/proc/self/ns/net"), ["/proc/1/ns/net"], os.getppid()
    while pid > 1:
        with contextlib.suppress(OSError):
            if os.readlink(f"/proc/{pid}/ns/net") != ours:
                paths.append(f"/proc/{pid}/ns/net")
        parent = reaper.parent_pid(pid)
        if parent is None:
            break
        pid = parent
    return paths


def open_listener() -> socket.socket:
    """A subscribed connector socket, from the initial network namespace if need be."""
    try:
        sock = _open()
    except ConnectionRefusedError as e:    # not the initial netns: the connector is not here
        for path in _other_netns():
            with contextlib.suppress(OSError):
                sock = rtnl.run_in_netns(path, _open)
                break
        else:
            raise OSError(e.errno, "no way into the initial network namespace") from e
    sock.setblocking(False)
    return sock


class ExitWatch:
    """Futures for the exit statuses of pids; listens only while some are awaited."""

    def __init__(self) -> None:
        self._sock: socket.socket | None = None
        self._waiting: dict[int, asyncio.Future[int]] = {}
        self.unavailable = ""

    def expect(self, pid: int) -> asyncio.Future[int] | None:
        """Start watching `pid` (call before it can exit); None if exits cannot be seen."""
        if self._sock is None and not self._listen():
            return None
        fut = self._waiting.get(pid)
        if fut is None:
            fut = self._waiting[pid] = asyncio.get_running_loop().create_future()
        return fut

    def forget(self, pid: int) -> None:
        fut = self._waiting.pop(pid, None)
        if fut is not None and not fut.done():
            fut.cancel()
        if not self._waiting:
            self.close()

    def _listen(self) -> bool:
        try:
            self._sock = open_listener()
        except OSError as e:
            if not self.unavailable:
                log.warning("exit statuses of adopted containers are unknown: proc connector "
                            "unavailable error=%s", e)
            self.unavailable = str(e)
            return False
        asyncio.get_running_loop().add_reader(self._sock.fileno(), self._readable)
        return True

    def _readable(self) -> None:
        assert self._sock is not None
        while True:
            try:
                data = self._sock.recv(65536)
            except BlockingIOError:
                return
            except OSError as e:
                if e.errno == errno.ENOBUFS:   # events were dropped: those exits stay unknown
                    log.warning("proc connector overrun error=%s", e)
                    continue
                log.warning("proc connector failed, exits stay unknown error=%s", e)
                self.close()
                return
            for pid, status in parse_exits(data):
                fut = self._waiting.get(pid)
                if fut is not None and not fut.done():
                    fut.set_result(status)

    def close(self) -> None:
        if self._sock is not None:
            asyncio.get_running_loop().remove_reader(self._sock.fileno())
            with contextlib.suppress(OSError):
                self._sock.send(_control(PROC_CN_MCAST_IGNORE))
            self._sock.close()
            self._sock = None
