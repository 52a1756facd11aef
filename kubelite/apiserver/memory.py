"""Returning freed heap to the OS after bursts.

Large responses (a LIST of thousands of objects, JSON encoder buffers) leave glibc's heap
fragmented: the memory is free inside the process but still counted in its RSS. A
periodic malloc_trim gives it back. Where glibc is not the allocator this does nothing.
"""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import gc
import logging

log = logging.getLogger(__name__)

INTERVAL = 10.0
# Allocations between young-generation collections (CPython's default is 700). A request
# allocates thousands of containers; with the default, collections run in the middle of
# nearly every request and promote its short-lived objects, which then make the full
# collections (a scan of every cached object) run dozens of times a minute under load.
GC_YOUNG_THRESHOLD = 50_000


_M_MMAP_THRESHOLD = -3


def pin_mmap_threshold(size: int = 256 * 1024) -> None:
    """Serve big blocks (LIST bodies, TLS buffers) from mmap so freeing them returns the
    memory at once; glibc otherwise raises the threshold after the first big free and
    later big blocks land on the heap, where they fragment it."""
    name = ctypes.util.find_library("c")
    if name:
        try:
            ctypes.CDLL(name).mallopt(_M_MMAP_THRESHOLD, size)
        except (OSError, AttributeError):
            pass


def tune_gc() -> None:
    """Collect young garbage less often and leave what start-up built (schemas, routes,
    the loaded store) out of every later full collection: it lives as long as the process.
    Cyclic garbage is still collected; only how often the collector looks changes."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(GC_YOUNG_THRESHOLD, 20, 20)


def _libc_trim() -> ctypes._NamedFuncPointer | None:  # type: ignore[name-defined]
    name = ctypes.util.find_library("c")
    if not name:
        return None
    try:
        return ctypes.CDLL(name).malloc_trim  # type: ignore[no-any-return]
    except (OSError, AttributeError):
        return None


async def trim_forever(interval: float = INTERVAL) -> None:
    trim = _libc_trim()
    if trim is None:
        log.debug("malloc_trim unavailable; heap trimming off")
        return
    while True:
        await asyncio.sleep(interval)
        trim(0)
