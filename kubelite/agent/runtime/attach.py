"""Attaching to a running container's own stdio (`kubectl attach`).

Output: the log copier already reads the container's stdout/stderr (or its terminal); an
attached session listens to it and sees output from now on, live. Input: the container's
stdin is a pipe (or its terminal) whose write end the runtime holds; a session writes
through a duplicate of it, so detaching never closes the container's stdin, except with
stdinOnce (and no tty), where the first session's end closes it, as containerd does.
Detaching (kill) leaves the container running; the session ends by itself when the
container's output ends.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from typing import Any

from kubelite.agent.runtime import console, container, logs, protocol


class _StdinWriter(asyncio.StreamWriter):
    """A writer to the container's stdin that reports its close once."""

    def __init__(self, *args: Any, on_close: Callable[[], None]) -> None:
        super().__init__(*args)
        self._on_close: Callable[[], None] | None = on_close

    def close(self) -> None:
        super().close()
        if self._on_close is not None:
            callback, self._on_close = self._on_close, None
            callback()


async def stdin_writer(fd: int, on_close: Callable[[], None]) -> asyncio.StreamWriter:
    """An asyncio writer over a duplicate of `fd`; `on_close` runs when the session closes it."""
    loop = asyncio.get_running_loop()
    transport, proto = await loop.connect_write_pipe(
        lambda: asyncio.streams.FlowControlMixin(loop), os.fdopen(os.dup(fd), "wb", 0))
    return _StdinWriter(transport, proto, None, loop, on_close=on_close)


class Attached:
    """One attach session; satisfies protocol.ExecProcess (wait() is 0 once output ends)."""

    def __init__(self, copier: logs.Copier, *, tty_fd: int,
                 stdin: asyncio.StreamWriter | None) -> None:
        self.copier = copier
        self.tty_fd = tty_fd
        self.stdin = stdin
        self.stdout = asyncio.StreamReader()
        self.stderr: asyncio.StreamReader | None = None if tty_fd >= 0 else asyncio.StreamReader()
        self._open = set(copier.streams())
        if not self._open:
            self._end()
        else:
            copier.listeners.add(self._output)

    def _reader(self, stream: str) -> asyncio.StreamReader:
        return self.stderr if stream == "stderr" and self.stderr is not None else self.stdout

    def _output(self, stream: str, data: bytes) -> None:
        if data:
            self._reader(stream).feed_data(data)
            return
        self._open.discard(stream)
        if not self._open:
            self._end()

    def _end(self) -> None:
        self.copier.listeners.discard(self._output)
        for reader in (self.stdout, self.stderr):
            if reader is not None and not reader.at_eof():
                reader.feed_eof()

    def resize(self, width: int, height: int) -> None:
        """The kernel signals SIGWINCH to the terminal's foreground process itself."""
        if self.tty_fd >= 0:
            console.resize(self.tty_fd, width, height)

    async def wait(self) -> int:
        await self.stdout.read()
        return 0

    def kill(self) -> None:
        """Detach: stop listening; the container keeps running."""
        self._end()


async def open_session(c: container.Container, *, stdin: bool) -> Attached:
    """Attach to running container `c`; stdin only if it was started with stdin open."""
    if c.copier is None:
        raise protocol.RuntimeFailure(f"container {c.id} has no output to attach to "
                                      "(its terminal did not survive an agent restart)")
    tty = c.config.tty
    fd = c.tty_fd if tty else c.stdin_fd
    writer = None
    if stdin and c.config.stdin and fd >= 0:
        def closed() -> None:
            if c.config.stdin_once and not tty and c.stdin_fd >= 0:
                os.close(c.stdin_fd)
                c.stdin_fd = -1
        writer = await stdin_writer(fd, closed)
    return Attached(c.copier, tty_fd=c.tty_fd if tty else -1, stdin=writer)
