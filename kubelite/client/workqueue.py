"""A rate-limited work queue of keys, in the manner of client-go's workqueue.

Invariants: a key is never processed by two workers at once; adding a key that is
already queued does nothing (duplicates merge); adding a key that is being processed
queues it again once `done` is called; failures retry with per-key exponential backoff.
"""

from __future__ import annotations

import asyncio
import collections
import heapq
import itertools
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)


class ShutDown(Exception):
    """get() on a queue that was shut down."""


class WorkQueue(Generic[K]):
    def __init__(self, *, base_delay: float = 0.005, max_delay: float = 60.0,
                 clock: Callable[[], float] | None = None) -> None:
        self._queue: collections.deque[K] = collections.deque()
        self._dirty: set[K] = set()
        self._processing: set[K] = set()
        self._failures: dict[K, int] = {}
        self._delayed: list[tuple[float, int, K]] = []
        self._seq = itertools.count()
        self._base, self._max = base_delay, max_delay
        self._clock = clock or (lambda: asyncio.get_running_loop().time())
        self._wakeup = asyncio.Event()
        self._shutdown = False

    def __len__(self) -> int:
        return len(self._queue)

    def add(self, key: K) -> None:
        if self._shutdown or key in self._dirty:
            return
        self._dirty.add(key)
        if key not in self._processing:
            self._queue.append(key)
            self._wakeup.set()

    def add_after(self, key: K, delay: float) -> None:
        if delay <= 0:
            self.add(key)
            return
        heapq.heappush(self._delayed, (self._clock() + delay, next(self._seq), key))
        self._wakeup.set()

    def add_rate_limited(self, key: K) -> None:
        n = self._failures.get(key, 0)
        self._failures[key] = n + 1
        self.add_after(key, min(self._base * (2 ** n), self._max))

    def forget(self, key: K) -> None:
        self._failures.pop(key, None)

    def retries(self, key: K) -> int:
        return self._failures.get(key, 0)

    def done(self, key: K) -> None:
        self._processing.discard(key)
        if key in self._dirty:
            self._queue.append(key)
            self._wakeup.set()

    def _promote_due(self) -> float | None:
        """Move due delayed keys into the queue; seconds until the next one, if any."""
        now = self._clock()
        while self._delayed and self._delayed[0][0] <= now:
            _, _, key = heapq.heappop(self._delayed)
            self.add(key)
        return self._delayed[0][0] - now if self._delayed else None

    async def get(self) -> K:
        """The next key to process; the caller must call done(key) afterwards."""
        while True:
            if self._shutdown:
                raise ShutDown()
            wait = self._promote_due()
            if self._queue:
                key = self._queue.popleft()
                self._dirty.discard(key)
                self._processing.add(key)
                return key
            self._wakeup.clear()
            try:
                await asyncio.wait_for(self._wakeup.wait(), wait)
            except TimeoutError:
                pass

    def shut_down(self) -> None:
        self._shutdown = True
        self._wakeup.set()
