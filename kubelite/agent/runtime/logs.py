"""Container log files in the CRI format, written by a copier reading the container's stdio.

Each line: `2024-01-01T00:00:00.000000000Z stdout F text`. A line longer than
MAX_LINE, or the unterminated tail at end of stream, is written with the tag P (partial),
as containerd does, so readers can join it and `kubectl logs` shows the output unchanged.
Files rotate at `max_size` bytes: the current file is renamed `<path>.<UTC time>` and at
most `max_files` files (current included) are kept.
"""

from __future__ import annotations

import asyncio
import datetime
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

MAX_LINE = 16 * 1024


def timestamp(now: float | None = None) -> str:
    """RFC 3339 with nanoseconds in UTC, as the CRI log format wants."""
    ns = time.time_ns() if now is None else int(now * 1e9)
    secs, frac = divmod(ns, 1_000_000_000)
    base = datetime.datetime.fromtimestamp(secs, datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S")
    return f"{base}.{frac:09d}Z"


class LogWriter:
    """Appends CRI lines to one file, rotating by size. Not thread-safe: one event loop."""

    def __init__(self, path: str, *, max_size: int = 10 << 20, max_files: int = 5) -> None:
        self.path = path
        self.max_size = max_size
        self.max_files = max(1, max_files)
        os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
        self.file = open(path, "ab")  # noqa: SIM115 - lives as long as the container
        self.partial: dict[str, bytes] = {"stdout": b"", "stderr": b""}

    def write(self, stream: str, data: bytes) -> None:
        """Frame `data` from `stream` into lines; keep an unterminated tail for later."""
        buf = self.partial[stream] + data
        lines = buf.split(b"\n")
        self.partial[stream] = lines.pop()
        for line in lines:
            while len(line) > MAX_LINE:
                self._emit(stream, b"P", line[:MAX_LINE])
                line = line[MAX_LINE:]
            self._emit(stream, b"F", line)
        while len(self.partial[stream]) >= MAX_LINE:
            chunk, self.partial[stream] = self.partial[stream][:MAX_LINE], self.partial[stream][MAX_LINE:]
            self._emit(stream, b"P", chunk)
        self.file.flush()
        if self.file.tell() >= self.max_size:
            self.rotate()

    def end(self, stream: str) -> None:
        """The stream hit EOF: flush its unterminated tail as a partial line."""
        if self.partial[stream]:
            self._emit(stream, b"P", self.partial[stream])
            self.partial[stream] = b""
            self.file.flush()

    def _emit(self, stream: str, tag: bytes, text: bytes) -> None:
        self.file.write(b"%s %s %s %s\n" % (timestamp().encode(), stream.encode(), tag, text))

    def rotate(self) -> None:
        self.file.close()
        suffix = datetime.datetime.now(datetime.UTC).strftime("%Y%m%d-%H%M%S.%f")
        target = f"{self.path}.{suffix}"
        while os.path.exists(target):  # two rotations within one microsecond
            target += "0"
        os.rename(self.path, target)
        old = rotated_files(self.path)
        for stale in old[: max(0, len(old) - (self.max_files - 1))]:
            os.unlink(stale)
        self.file = open(self.path, "ab")  # noqa: SIM115

    def close(self) -> None:
        for stream in self.partial:
            self.end(stream)
        self.file.close()


def rotated_files(path: str) -> list[str]:
    """Older rotated files of `path`, oldest first."""
    d, base = os.path.split(path)
    names = sorted(n for n in os.listdir(d or ".") if n.startswith(base + "."))
    return [os.path.join(d, n) for n in names]


Listener = Callable[[str, bytes], None]
"""Called with (stream, data) for output as it is copied; b"" when that stream ended."""


class Copier:
    """Reads a container's stdout/stderr pipes (or its tty master) into a LogWriter.

    Listeners (attached clients) see the same bytes live, after they are logged."""

    def __init__(self, writer: LogWriter, fds: dict[str, int]) -> None:
        self.writer = writer
        self.fds = dict(fds)
        self.done = asyncio.Event()
        self.listeners: set[Listener] = set()
        loop = asyncio.get_running_loop()
        for stream, fd in self.fds.items():
            os.set_blocking(fd, False)
            loop.add_reader(fd, self._readable, stream, fd)
        if not self.fds:
            self.done.set()

    def _readable(self, stream: str, fd: int) -> None:
        try:
            data = os.read(fd, 65536)
        except BlockingIOError:
            return
        except OSError:  # EIO on a tty master once the terminal side has closed
            data = b""
        if data:
            self.writer.write(stream, data)
        else:
            self.writer.end(stream)
            self._close(stream)
        for listener in list(self.listeners):
            listener(stream, data)

    def streams(self) -> tuple[str, ...]:
        """The streams still being copied."""
        return tuple(self.fds)

    def _close(self, stream: str) -> None:
        fd = self.fds.pop(stream)
        asyncio.get_running_loop().remove_reader(fd)
        os.close(fd)
        if not self.fds:
            self.done.set()

    def close(self) -> None:
        for stream in list(self.fds):
            self._close(stream)
            for listener in list(self.listeners):
                listener(stream, b"")
        self.writer.close()


@dataclass(frozen=True)
class Line:
    time: str
    stream: str
    partial: bool
    text: bytes


def parse(line: bytes) -> Line:
    """One CRI log line (without its newline)."""
    ts, stream, tag, text = (line.split(b" ", 3) + [b""] * 4)[:4]
    return Line(ts.decode(), stream.decode(), tag == b"P", text)


def read(path: str, *, timestamps: bool = False) -> Iterator[bytes]:
    """The container's output as `kubectl logs` shows it, partial lines rejoined."""
    with open(path, "rb") as f:
        for raw in f:
            line = parse(raw.rstrip(b"\n"))
            prefix = line.time.encode() + b" " if timestamps else b""
            yield prefix + line.text + (b"" if line.partial else b"\n")
