"""Container stdout/stderr through named pipes in the bundle, so they outlive the agent.

The container gets each FIFO opened read-write: holding a read end itself, it never gets
SIGPIPE when no agent reads (it blocks once the pipe buffer fills instead). The agent reads
with its own read-only end, and a restarted agent opens the FIFOs again and keeps copying.
When the container's processes exit no writer is left and the agent's reader sees EOF.
"""

from __future__ import annotations

import os

STREAMS = ("stdout", "stderr")


def _path(bundle: str, stream: str) -> str:
    return os.path.join(bundle, f"{stream}.fifo")


def create(bundle: str) -> tuple[dict[str, int], tuple[int, int]]:
    """FIFOs for a new container: (the agent's readers by stream, the container's stdout/stderr)."""
    readers: dict[str, int] = {}
    writers: list[int] = []
    try:
        for stream in STREAMS:
            os.mkfifo(_path(bundle, stream), 0o600)
            readers[stream] = os.open(_path(bundle, stream), os.O_RDONLY | os.O_NONBLOCK)
            writers.append(os.open(_path(bundle, stream), os.O_RDWR))
    except BaseException:
        for fd in [*readers.values(), *writers]:
            os.close(fd)
        raise
    return readers, (writers[0], writers[1])


def reopen(bundle: str) -> dict[str, int]:
    """The agent's readers of an adopted container's FIFOs; empty if it has none (a tty)."""
    readers: dict[str, int] = {}
    for stream in STREAMS:
        try:
            readers[stream] = os.open(_path(bundle, stream), os.O_RDONLY | os.O_NONBLOCK)
        except OSError:
            continue
    return readers
