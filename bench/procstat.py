"""What the benchmarks read of processes in /proc: CPU time, and a server's child processes.

CPU time is what the benchmarks compare across runs on a shared machine: it moves less
with the load than wall-clock rates do.
"""

from __future__ import annotations

import os

TICK = os.sysconf("SC_CLK_TCK")


def stat_fields(pid: int) -> list[str]:
    """The fields of /proc/<pid>/stat after the command name (the state first)."""
    with open(f"/proc/{pid}/stat") as f:
        return f.read().rsplit(")", 1)[1].split()


def cpu_seconds(pid: int) -> float:
    """User + system CPU time the process has used so far."""
    fields = stat_fields(pid)
    return (int(fields[11]) + int(fields[12])) / TICK


def reaped_children_cpu_seconds(pid: int) -> float:
    """User + system CPU time of the process's children it has waited for (runc, ...)."""
    fields = stat_fields(pid)
    return (int(fields[13]) + int(fields[14])) / TICK


def children(pid: int, command: str) -> list[int]:
    """The child processes of `pid` that run `kubelite <command>` (a server's scheduler,
    its ingress)."""
    with open(f"/proc/{pid}/task/{pid}/children") as f:
        kids = [int(p) for p in f.read().split()]
    found = []
    for kid in kids:
        try:
            with open(f"/proc/{kid}/cmdline", "rb") as f:
                if f"kubelite.cli\0{command}\0".encode() in f.read():
                    found.append(kid)
        except OSError:
            continue
    return found
