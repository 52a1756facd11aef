"""Attach sessions over a real log copier reading real pipes."""

from __future__ import annotations

import asyncio
import os
from typing import Any

from kubelite.agent.runtime import attach, logs


async def test_a_session_sees_output_live_and_ends_with_it(tmp_path: Any) -> None:
    (out_r, out_w), (err_r, err_w) = os.pipe(), os.pipe()
    copier = logs.Copier(logs.LogWriter(str(tmp_path / "c.log")), {"stdout": out_r,
                                                                    "stderr": err_r})
    copied = asyncio.Event()
    copier.listeners.add(lambda _stream, _data: copied.set())
    os.write(out_w, b"before\n")
    await asyncio.wait_for(copied.wait(), 5)   # copied before the session started
    session = attach.Attached(copier, tty_fd=-1, stdin=None)
    late = attach.Attached(copier, tty_fd=-1, stdin=None)
    late.kill()   # detached at once: sees nothing, ends
    os.write(out_w, b"live\n")
    os.write(err_w, b"oops\n")
    os.close(out_w)
    os.close(err_w)
    assert session.stderr is not None
    assert await asyncio.wait_for(session.stdout.read(), 5) == b"live\n"
    assert await asyncio.wait_for(session.stderr.read(), 5) == b"oops\n"
    assert await session.wait() == 0
    assert await late.stdout.read() == b""
    assert len(copier.listeners) == 1   # only the test's own listener is left
    copier.close()


async def test_stdin_once_closes_the_container_stdin_with_the_session() -> None:
    read_end, write_end = os.pipe()
    closed: list[bool] = []
    writer = await attach.stdin_writer(write_end, lambda: closed.append(True))
    writer.write(b"hi\n")
    await writer.drain()
    writer.close()
    writer.close()
    assert closed == [True]                # reported once
    assert os.read(read_end, 10) == b"hi\n"
    os.close(write_end)                    # the runtime's own end (closed on stdinOnce)
    # EOF once the session's duplicate is closed too (its transport closes it soon)
    read = asyncio.get_running_loop().run_in_executor(None, os.read, read_end, 10)
    assert await asyncio.wait_for(read, 5) == b""
    os.close(read_end)
