"""Serving a container's CRI log file the way `kubectl logs` shows it.

Records are `<RFC3339Nano> <stream> <P|F> <text>`; a P record continues on the next one,
so the text is written without a newline and only the first record of a line gets the
timestamp prefix. Tail counts whole lines; since-filters compare the fixed-width UTC
timestamps as strings (the writer always emits nine fraction digits and `Z`).
"""

from __future__ import annotations

import asyncio
import datetime
import os
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass

from kubelite.agent.runtime import logs

FOLLOW_POLL_SECONDS = 0.1


class InvalidOptions(ValueError):
    """A query parameter has a value the kubelet would reject."""


def _int(query: Mapping[str, str], key: str) -> int | None:
    raw = query.get(key)
    if raw in (None, ""):
        return None
    try:
        value = int(raw)
    except ValueError:
        raise InvalidOptions(f"invalid {key}: {raw!r}") from None
    if value < 0 or (key == "limitBytes" and value == 0):
        raise InvalidOptions(f"{key} must be {'positive' if key == 'limitBytes' else '>= 0'}")
    return value


def _since_time(raw: str) -> str:
    try:
        parsed = datetime.datetime.fromisoformat(raw)
    except ValueError:
        raise InvalidOptions(f"invalid sinceTime: {raw!r}") from None
    return logs.timestamp(parsed.timestamp())


@dataclass(frozen=True)
class Options:
    follow: bool = False
    previous: bool = False
    timestamps: bool = False
    tail_lines: int | None = None
    limit_bytes: int | None = None
    since: str = ""  # the earliest timestamp to show, in the log's own format

    @classmethod
    def parse(cls, query: Mapping[str, str], *, now: float | None = None) -> Options:
        def flag(key: str) -> bool:
            return query.get(key, "").lower() in ("true", "1")
        since = ""
        seconds = _int(query, "sinceSeconds")
        if seconds is not None:
            since = logs.timestamp((time.time() if now is None else now) - seconds)
        elif query.get("sinceTime"):
            since = _since_time(query["sinceTime"])
        return cls(follow=flag("follow"), previous=flag("previous"),
                   timestamps=flag("timestamps"), tail_lines=_int(query, "tailLines"),
                   limit_bytes=_int(query, "limitBytes"), since=since)


class Renderer:
    """Turns records into output bytes; remembers whether the next record starts a line."""

    def __init__(self, opts: Options) -> None:
        self.opts = opts
        self.at_line_start = True
        self.left = opts.limit_bytes

    def render(self, records: Iterable[logs.Line]) -> bytes:
        out = bytearray()
        for rec in records:
            if self.opts.since and rec.time < self.opts.since:
                continue
            if self.opts.timestamps and self.at_line_start:
                out += rec.time.encode() + b" "
            out += rec.text
            if not rec.partial:
                out += b"\n"
            self.at_line_start = not rec.partial
        if self.left is not None:
            out = out[:self.left]
            self.left -= len(out)
        return bytes(out)

    @property
    def exhausted(self) -> bool:
        return self.left is not None and self.left <= 0


def tail(records: list[logs.Line], lines: int | None) -> list[logs.Line]:
    """The records of the last `lines` whole lines (a trailing partial counts as one)."""
    if lines is None:
        return records
    if lines == 0:
        return []
    ends = 0
    for i in range(len(records) - 1, -1, -1):
        if not records[i].partial or i == len(records) - 1:
            ends += 1
            if ends > lines:
                return records[i + 1:]
    return records


class Reader:
    """Reads whole records from a log file as they are appended."""

    def __init__(self, path: str) -> None:
        self.file = open(path, "rb")  # noqa: SIM115 - closed by close()
        self.rest = b""

    def read(self) -> list[logs.Line]:
        data = self.rest + self.file.read()
        lines = data.split(b"\n")
        self.rest = lines.pop()
        return [logs.parse(line) for line in lines if line]

    def close(self) -> None:
        self.file.close()


Write = Callable[[bytes], Awaitable[None]]


async def stream(path: str, opts: Options, write: Write,
                 running: Callable[[], Awaitable[bool]]) -> None:
    """Write the log; when following, keep writing until the container stops."""
    if not os.path.exists(path):
        return
    reader = Reader(path)
    renderer = Renderer(opts)
    try:
        await write(renderer.render(tail(reader.read(), opts.tail_lines)))
        while opts.follow and not renderer.exhausted:
            alive = await running()  # asked before reading, so nothing written is missed
            chunk = renderer.render(reader.read())
            if chunk:
                await write(chunk)
            elif not alive:
                return
            else:
                await asyncio.sleep(FOLLOW_POLL_SECONDS)
    finally:
        reader.close()
