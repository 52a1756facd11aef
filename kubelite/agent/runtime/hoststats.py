"""The whole machine's resource usage, as the kubelet reports it for its Node.

CPU: the non-idle time of every CPU in /proc/stat (user, nice, system, irq, softirq,
steal; guest time is already inside user). Memory: the root memory cgroup's usage minus
its inactive file cache where cgroup v1 is mounted (cAdvisor's root container), else
/proc/meminfo's used memory (MemTotal - MemFree) minus Inactive(file).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from kubelite.agent.runtime import cgroups, cgroupstats

_NON_IDLE = (0, 1, 2, 5, 6, 7)   # user nice system [idle iowait] irq softirq steal


@dataclass(frozen=True)
class HostUsage:
    cpu_usage_ns: int              # cumulative since boot, all CPUs
    memory_usage_bytes: int
    memory_working_set_bytes: int
    memory_total_bytes: int
    boot_time: float               # Unix seconds


def parse_proc_stat(text: str, clock_ticks: int) -> tuple[int, float]:
    """(non-idle CPU nanoseconds of all CPUs, boot time) from /proc/stat."""
    cpu_ns, boot = 0, 0.0
    for line in text.splitlines():
        fields = line.split()
        if fields and fields[0] == "cpu":
            ticks = [int(v) for v in fields[1:]]
            cpu_ns = sum(ticks[i] for i in _NON_IDLE if i < len(ticks)) * 10**9 // clock_ticks
        elif fields and fields[0] == "btime":
            boot = float(fields[1])
    return cpu_ns, boot


def parse_meminfo(text: str) -> dict[str, int]:
    """/proc/meminfo as bytes by key ("MemTotal", "Inactive(file)", ...)."""
    out = {}
    for line in text.splitlines():
        key, _, rest = line.partition(":")
        parts = rest.split()
        if parts and parts[0].isdigit():
            out[key] = int(parts[0]) * (1024 if parts[1:] == ["kB"] else 1)
    return out


def memory_from_meminfo(info: Mapping[str, int]) -> tuple[int, int]:
    """(usage, working set) of the machine from /proc/meminfo."""
    usage = max(0, info.get("MemTotal", 0) - info.get("MemFree", 0))
    return usage, cgroupstats.working_set(usage, info.get("Inactive(file)", 0))


def _read(path: str) -> str:
    with open(path, encoding="ascii") as f:
        return f.read()


def read() -> HostUsage:
    """The machine's usage now (reads /proc and, on cgroup v1, the root memory cgroup)."""
    cpu_ns, boot = parse_proc_stat(_read("/proc/stat"), os.sysconf("SC_CLK_TCK"))
    info = parse_meminfo(_read("/proc/meminfo"))
    usage, working = memory_from_meminfo(info)
    if "memory" in cgroups.mounts():
        root = cgroupstats.parse_v1({name: cgroups.read_file(ctrl, "/", name)
                                     for ctrl, name in cgroupstats.V1_FILES if ctrl == "memory"})
        if root["memory_usage_bytes"]:
            usage, working = root["memory_usage_bytes"], root["memory_working_set_bytes"]
    return HostUsage(cpu_usage_ns=cpu_ns, memory_usage_bytes=usage,
                     memory_working_set_bytes=working,
                     memory_total_bytes=info.get("MemTotal", 0), boot_time=boot)
