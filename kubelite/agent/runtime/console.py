"""Terminals: receive a container's pty master from runc over a --console-socket."""

from __future__ import annotations

import array
import asyncio
import fcntl
import os
import shutil
import socket
import struct
import tempfile
import termios

from kubelite.agent.runtime import fdwait


class ConsoleSocket:
    """A listening unix socket runc connects to, sending the pty master as SCM_RIGHTS."""

    def __init__(self) -> None:
        # unix socket paths are limited to 107 bytes: keep it short, outside the bundle
        self.dir = tempfile.mkdtemp(prefix="kubelite-console-")
        self.path = os.path.join(self.dir, "sock")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(self.path)
        self.sock.listen(1)
        self.sock.setblocking(False)

    async def receive(self) -> int:
        """The master the runtime sends; all on the event loop, so cancelling leaves no
        thread behind blocked on a runtime that failed half-way."""
        loop = asyncio.get_running_loop()
        conn, _ = await loop.sock_accept(self.sock)
        with conn:
            conn.setblocking(False)
            while True:
                try:
                    _, fds, _, _ = socket.recv_fds(conn, 4096, 1)
                    break
                except BlockingIOError:
                    await fdwait.readable(conn)
        if not fds:
            raise OSError("runc sent no terminal file descriptor")
        return fds[0]

    def close(self) -> None:
        self.sock.close()
        shutil.rmtree(self.dir, ignore_errors=True)


def resize(fd: int, width: int, height: int) -> None:
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", height, width, 0, 0))


def size(fd: int) -> tuple[int, int]:
    buf = array.array("H", [0, 0, 0, 0])
    fcntl.ioctl(fd, termios.TIOCGWINSZ, buf)
    return buf[1], buf[0]
