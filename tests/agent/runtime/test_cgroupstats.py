"""Container usage from cgroup files: the parsers on files captured from a running
container, and on the files of a container running now."""

from __future__ import annotations

import asyncio
import re
import time

import pytest

from kubelite.agent.runtime import cgroupstats, oci, protocol
from tests.agent.runtime.conftest import ctr, pod
from tests.agent.runtime.test_containers import wait_log

# Read from a busybox container (64Mi limit) that wrote 8 MB to its rootfs and went to
# sleep: the page cache of that file is inactive, so it is not in the working set.
V1_MEMORY_STAT = """cache 8007680
rss 122880
rss_huge 0
shmem 0
mapped_file 0
dirty 8007680
writeback 0
pgpgin 2482
pgpgout 497
pgfault 914
pgmajfault 0
inactive_anon 114688
active_anon 8192
inactive_file 8003584
active_file 4096
unevictable 0
hierarchical_memory_limit 67108864
total_cache 8007680
total_rss 122880
total_pgfault 914
total_inactive_anon 114688
total_active_anon 8192
total_inactive_file 8003584
total_active_file 4096
"""
V1 = {"memory.usage_in_bytes": "8699904\n", "memory.stat": V1_MEMORY_STAT,
      "memory.limit_in_bytes": "67108864\n", "cpuacct.usage": "73960429\n",
      "pids.current": "2\n"}
# The same figures in cgroup v2's file formats.
V2 = {"memory.current": "8699904\n",
      "memory.stat": "anon 122880\nfile 8007680\ninactive_anon 114688\nactive_anon 8192\n"
                     "inactive_file 8003584\nactive_file 4096\npgfault 914\n",
      "memory.max": "67108864\n",
      "cpu.stat": "usage_usec 73960\nuser_usec 50000\nsystem_usec 23960\n",
      "pids.current": "2\n"}


@pytest.mark.parametrize(("parse", "files", "want"), [
    (cgroupstats.parse_v1, V1, {"cpu_usage_ns": 73960429, "memory_usage_bytes": 8699904,
                                "memory_working_set_bytes": 696320,
                                "memory_limit_bytes": 64 << 20, "pids": 2}),
    (cgroupstats.parse_v2, V2, {"cpu_usage_ns": 73960000, "memory_usage_bytes": 8699904,
                                "memory_working_set_bytes": 696320,
                                "memory_limit_bytes": 64 << 20, "pids": 2}),
    (cgroupstats.parse_v1, {**V1, "memory.limit_in_bytes": "9223372036854771712\n"},
     {"memory_limit_bytes": 0}),
    (cgroupstats.parse_v2, {**V2, "memory.max": "max\n"}, {"memory_limit_bytes": 0}),
    (cgroupstats.parse_v1, {**V1, "memory.usage_in_bytes": "4096\n"},
     {"memory_working_set_bytes": 0}),
    (cgroupstats.parse_v1, {}, {"cpu_usage_ns": 0, "memory_usage_bytes": 0,
                                "memory_working_set_bytes": 0, "pids": 0}),
], ids=["v1", "v2", "v1-unlimited", "v2-max", "working-set-not-negative", "missing-files"])
def test_parsers(parse, files, want) -> None:  # type: ignore[no-untyped-def]
    got = parse(files)
    assert {k: got[k] for k in want} == want


def _inactive_file(layout: str, memory_stat: str) -> int:
    key = "total_inactive_file" if layout == "v1" else "inactive_file"
    return int(re.search(rf"^{key} (\d+)$", memory_stat, re.MULTILINE)[1])  # type: ignore[index]


async def test_files_of_a_running_container(runtime: oci.OCIRuntime) -> None:
    """Working set = usage - inactive file cache, the limit as set, CPU time that grows."""
    sid = await runtime.run_pod_sandbox(pod())
    script = ("head -c 8000000 /dev/zero > /tmp/cache; echo written; "
              "while :; do :; done")
    cid = await runtime.create_container(sid, ctr("c", "sh", "-c", script, resources=
                                                  protocol.Resources(memory_limit=64 << 20)))
    await runtime.start_container(cid)
    await wait_log(runtime, cid, b"written\n")
    path = runtime.containers[cid].cgroups_path
    layout, files = cgroupstats.read_files(path)
    got = (cgroupstats.parse_v1 if layout == "v1" else cgroupstats.parse_v2)(files)
    usage = got["memory_usage_bytes"]
    assert usage >= 8_000_000
    assert got["memory_working_set_bytes"] == max(
        0, usage - _inactive_file(layout, files["memory.stat"]))
    assert got["memory_limit_bytes"] == 64 << 20 and got["pids"] == 1
    first = got["cpu_usage_ns"]
    deadline = time.monotonic() + 20
    while cgroupstats.read(path)["cpu_usage_ns"] < first + 50_000_000:
        assert time.monotonic() < deadline, "the busy loop's CPU time did not grow"
        await asyncio.sleep(0.05)
