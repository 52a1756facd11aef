"""The machine's usage from /proc: parsers on captured text, and the live reading."""

from __future__ import annotations

import time

import pytest

from kubelite.agent.runtime import hoststats

PROC_STAT = """cpu  453573 0 95962 1481938 36351 0 6105 1983 0 0
cpu0 190067 0 42898 792522 8855 0 2305 951 0 0
cpu1 263505 0 53064 689415 27496 0 3800 1032 0 0
intr 12345 0 0
ctxt 987654
btime 1795739258
processes 4321
"""
MEMINFO = """MemTotal:       24684096 kB
MemFree:        21733324 kB
MemAvailable:   23276080 kB
Buffers:           19420 kB
Cached:          1538948 kB
Inactive(file):   951000 kB
HugePages_Total:       0
"""


def test_proc_stat_counts_non_idle_time() -> None:
    cpu_ns, boot = hoststats.parse_proc_stat(PROC_STAT, 100)
    # user + nice + system + irq + softirq + steal; idle and iowait are not use
    assert cpu_ns == (453573 + 0 + 95962 + 0 + 6105 + 1983) * 10**7
    assert boot == 1795739258.0


@pytest.mark.parametrize(("text", "want"), [
    (MEMINFO, ((24684096 - 21733324) * 1024, (24684096 - 21733324 - 951000) * 1024)),
    ("MemTotal: 100 kB\nMemFree: 10 kB\nInactive(file): 500 kB\n", (90 * 1024, 0)),
], ids=["captured", "working-set-not-negative"])
def test_meminfo(text: str, want: tuple[int, int]) -> None:
    info = hoststats.parse_meminfo(text)
    assert info["MemTotal"] == int(text.split()[1]) * 1024
    assert info.get("HugePages_Total", 0) == 0
    assert hoststats.memory_from_meminfo(info) == want


def test_reading_this_machine() -> None:
    first = hoststats.read()
    assert 0 < first.memory_working_set_bytes <= first.memory_usage_bytes
    assert first.memory_usage_bytes <= first.memory_total_bytes
    assert 0 < first.boot_time < time.time()
    end = time.process_time() + 0.2
    while time.process_time() < end:   # use some CPU ourselves
        pass
    assert hoststats.read().cpu_usage_ns >= first.cpu_usage_ns + 100_000_000
