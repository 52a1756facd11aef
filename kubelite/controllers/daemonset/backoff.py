"""Backoff for failed daemon pods, per DaemonSet and node (upstream's failedPodsBackoff).

A node whose kubelet keeps rejecting a daemon pod would otherwise see it deleted and
recreated in a tight loop; each failure on the same node doubles the wait (1 s up to
15 min) before the failed pod is replaced again.
"""

from __future__ import annotations

import time
from collections.abc import Callable

INITIAL = 1.0
MAXIMUM = 900.0


class Backoff:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._by_key: dict[tuple[str, str], tuple[float, float]] = {}   # (delay, since)

    def wait(self, key: str, node: str) -> float:
        """Seconds still to wait before replacing a failed pod on `node` (0: go ahead,
        and the next failure there waits twice as long)."""
        now = self._clock()
        delay, since = self._by_key.get((key, node), (0.0, now))
        if delay and now - since < delay:
            return delay - (now - since)
        self._by_key[(key, node)] = (min(max(delay * 2, INITIAL), MAXIMUM), now)
        return 0.0

    def forget(self, key: str) -> None:
        for k in [k for k in self._by_key if k[0] == key]:
            del self._by_key[k]
