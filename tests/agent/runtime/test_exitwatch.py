"""Exit statuses of processes that are not our children, from the proc connector."""

from __future__ import annotations

import asyncio
import contextlib
import os
import struct
import subprocess
from typing import Any

import pytest

from kubelite.agent.runtime import exitwatch, reaper


def message(what: int, pid: int, tgid: int, status: int) -> bytes:
    event = exitwatch._EVENT.pack(what, 0, 0) + exitwatch._EXIT.pack(pid, tgid, status, 17)
    cn = exitwatch._CN_MSG.pack(1, 1, 0, 0, len(event), 0) + event
    return exitwatch._NLMSG.pack(exitwatch._NLMSG.size + len(cn), 3, 0, 0, 0) + cn


def test_parse_keeps_whole_process_exits_only() -> None:
    fork = message(0x00000001, 10, 10, 0)
    thread_exit = message(exitwatch.PROC_EVENT_EXIT, 11, 10, 0)
    leader_exit = message(exitwatch.PROC_EVENT_EXIT, 10, 10, 7 << 8)
    assert exitwatch.parse_exits(fork + thread_exit + leader_exit) == [(10, 7 << 8)]
    assert exitwatch.parse_exits(leader_exit[:20]) == []       # truncated: nothing
    assert exitwatch.parse_exits(struct.pack("=I", 0) + b"\0" * 12) == []


def orphan(tmp_path: Any, code: int) -> int:
    """A process that is not our child (its parent shell is gone); it exits with `code`
    once the file `go` exists."""
    go = os.path.join(tmp_path, "go")
    script = f"(while [ ! -f {go} ]; do sleep 0.05; done; exit {code}) >/dev/null 2>&1 & echo $!"
    out = subprocess.run(["sh", "-c", script], capture_output=True, text=True, check=True)
    return int(out.stdout)


@pytest.mark.skipif(os.geteuid() != 0, reason="the proc connector needs CAP_NET_ADMIN")
async def test_the_exit_status_of_a_process_that_is_not_our_child(tmp_path: Any) -> None:
    pid = orphan(tmp_path, 7)
    watch = exitwatch.ExitWatch()
    status = watch.expect(pid)
    assert status is not None, watch.unavailable
    try:
        os.close(os.open(os.path.join(tmp_path, "go"), os.O_CREAT | os.O_WRONLY))
        assert reaper.exit_code(await asyncio.wait_for(status, 10)) == 7
    finally:
        watch.forget(pid)
        with contextlib.suppress(ChildProcessError):   # ours if this process is a subreaper
            os.waitpid(pid, 0)  # noqa: ASYNC222 - it has exited: no wait
    assert watch._sock is None   # nothing left to wait for: no longer listening
