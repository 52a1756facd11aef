"""A container's resource usage from its cgroup files (cgroup v1, or v2 where mounted).

The figures are the ones the kubelet reports (through cAdvisor): cumulative CPU time,
memory usage, and the working set = usage - inactive file cache (never below 0), the
figure `kubectl top` shows and evictions use. Parsing is separate from reading, so the
parsers can be checked against the files of a real container.
"""

from __future__ import annotations

from collections.abc import Mapping

from kubelite.agent.runtime import cgroups

# The files each layout needs: (controller, file name).
V1_FILES = (("memory", "memory.usage_in_bytes"), ("memory", "memory.stat"),
            ("memory", "memory.limit_in_bytes"), ("cpuacct", "cpuacct.usage"),
            ("pids", "pids.current"))
V2_FILES = (("unified", "memory.current"), ("unified", "memory.stat"),
            ("unified", "memory.max"), ("unified", "cpu.stat"), ("unified", "pids.current"))
_UNLIMITED = 1 << 62   # v1 reports "no limit" as a page-rounded 2^63 - 1


def working_set(usage: int, inactive_file: int) -> int:
    """Usage minus the inactive file cache the kernel can drop first, as cAdvisor computes."""
    return max(0, usage - inactive_file)


def parse_v1(files: Mapping[str, str]) -> dict[str, int]:
    """Usage from cgroup v1 files, keyed by file name (missing files count as 0)."""
    usage = cgroups.first_int(files.get("memory.usage_in_bytes", ""))
    mstat = cgroups.keyed(files.get("memory.stat", ""))
    limit = cgroups.first_int(files.get("memory.limit_in_bytes", ""))
    return {
        "cpu_usage_ns": cgroups.first_int(files.get("cpuacct.usage", "")),
        "memory_usage_bytes": usage,
        "memory_working_set_bytes": working_set(usage, mstat.get("total_inactive_file", 0)),
        "memory_limit_bytes": 0 if limit >= _UNLIMITED else limit,
        "pids": cgroups.first_int(files.get("pids.current", "")),
    }


def parse_v2(files: Mapping[str, str]) -> dict[str, int]:
    """Usage from cgroup v2 files, keyed by file name ("max" means no limit)."""
    usage = cgroups.first_int(files.get("memory.current", ""))
    mstat = cgroups.keyed(files.get("memory.stat", ""))
    raw_limit = files.get("memory.max", "").strip()
    cpu = cgroups.keyed(files.get("cpu.stat", ""))
    return {
        "cpu_usage_ns": cpu.get("usage_usec", 0) * 1000,
        "memory_usage_bytes": usage,
        "memory_working_set_bytes": working_set(usage, mstat.get("inactive_file", 0)),
        "memory_limit_bytes": int(raw_limit) if raw_limit.isdigit() else 0,
        "pids": cgroups.first_int(files.get("pids.current", "")),
    }


def read_files(path: str) -> tuple[str, dict[str, str]]:
    """("v1" or "v2", file name -> text) for cgroup `path`, in the layout the host uses."""
    layout, wanted = ("v1", V1_FILES) if "memory" in cgroups.mounts() else ("v2", V2_FILES)
    return layout, {name: cgroups.read_file(ctrl, path, name) for ctrl, name in wanted}


def read(path: str) -> dict[str, int]:
    """CPU time (ns), memory usage / working set / limit (bytes), pids and OOM kills of
    cgroup `path`: the fields of protocol.ContainerStats besides id and timestamp."""
    layout, files = read_files(path)
    out = parse_v1(files) if layout == "v1" else parse_v2(files)
    out["oom_kills"] = cgroups.oom_kills(path)
    return out
