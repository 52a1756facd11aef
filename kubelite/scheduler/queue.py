"""The scheduling queue: activeQ, backoffQ and the unschedulable pods.

- activeQ pops by priority (higher first), then by the time the pod was queued.
- A pod that failed waits out an exponential backoff (1s, 2s, 4s ... capped at 10s per
  attempt) in backoffQ before it becomes active again.
- A pod no node fits waits among the unschedulable pods until a cluster event that one of
  the plugins that rejected it registered for (node added, pod deleted ...) moves it
  back; if an event arrived while its cycle ran, it goes straight to backoffQ instead.
  After 5 minutes without such an event it is retried anyway.
- Pods with scheduling gates are held until an update removes the gates.

Single-threaded (one event loop); `pop` is async, every other method is not. Time comes
from an injected clock so tests run on virtual time; `flush()` applies due transitions
(the wiring calls it every second, as upstream does; `pop` calls it too).
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from kubelite.scheduler import protocol

DEFAULT_INITIAL_BACKOFF = 1.0
DEFAULT_MAX_BACKOFF = 10.0
DEFAULT_MAX_UNSCHEDULABLE = 300.0


class Clock(Protocol):
    def now(self) -> float: ...


class MonotonicClock:
    def now(self) -> float:
        return time.monotonic()


def pod_key(pod: dict[str, Any]) -> str:
    """The queue's identity of a pod: its UID, or namespace/name before it has one."""
    meta = pod.get("metadata") or {}
    return meta.get("uid") or f"{meta.get('namespace') or 'default'}/{meta.get('name') or ''}"


@dataclass
class QueuedPodInfo:
    """A pod waiting to be scheduled and its scheduling history."""

    pod: dict[str, Any]
    key: str
    timestamp: float  # when it was (re)queued
    initial_attempt_timestamp: float | None = None
    attempts: int = 0
    cycle: int = 0  # scheduling cycle that popped it last
    unschedulable_plugins: set[str] = field(default_factory=set)
    seq: int = 0

    @property
    def priority(self) -> int:
        return (self.pod.get("spec") or {}).get("priority") or 0


def _gated(pod: dict[str, Any]) -> bool:
    return bool((pod.get("spec") or {}).get("schedulingGates"))


class SchedulingQueue:
    """activeQ + backoffQ + unschedulable pods (see module docstring)."""

    def __init__(
        self,
        *,
        clock: Clock | None = None,
        initial_backoff: float = DEFAULT_INITIAL_BACKOFF,
        max_backoff: float = DEFAULT_MAX_BACKOFF,
        max_unschedulable: float = DEFAULT_MAX_UNSCHEDULABLE,
        plugins_for_events: dict[protocol.ClusterEvent, set[str]] | None = None,
    ) -> None:
        self.clock = clock or MonotonicClock()
        self.initial_backoff, self.max_backoff = initial_backoff, max_backoff
        self.max_unschedulable = max_unschedulable
        self.plugins_for_events = plugins_for_events or {}
        self._active: dict[str, QueuedPodInfo] = {}
        self._active_heap: list[tuple[int, float, int, str]] = []
        self._backoff: dict[str, QueuedPodInfo] = {}
        self._backoff_heap: list[tuple[float, int, str]] = []
        self._unschedulable: dict[str, QueuedPodInfo] = {}
        self._gated: dict[str, QueuedPodInfo] = {}
        self._in_flight: dict[str, QueuedPodInfo] = {}
        self._seq = itertools.count()
        self.scheduling_cycle = 0
        self._move_request_cycle = -1
        self._wakeup = asyncio.Event()

    # adding and removing pods
    def add(self, pod: dict[str, Any]) -> None:
        """A new pod to schedule (an unbound pod for this scheduler appeared)."""
        key = pod_key(pod)
        if self._find(key) is not None or key in self._in_flight:
            self.update(pod)
            return
        info = QueuedPodInfo(pod, key, self.clock.now())
        if _gated(pod):
            self._gated[key] = info
        else:
            self._push_active(info)

    def update(self, pod: dict[str, Any]) -> None:
        """The pod changed; a change may make an unschedulable or gated pod worth retrying."""
        key = pod_key(pod)
        if (pod.get("spec") or {}).get("nodeName"):
            self.delete(pod)
            return
        if key in self._in_flight:
            self._in_flight[key].pod = pod
            return
        info = self._find(key)
        if info is None:
            self.add(pod)
            return
        old, info.pod = info.pod, pod
        if key in self._active:
            self._push_active(info)  # priority may have changed; the stale entry is skipped
        elif key in self._gated and not _gated(pod):
            del self._gated[key]
            self._push_active(info)
        elif key in self._unschedulable and _spec_or_labels_changed(old, pod):
            self._move(info)

    def delete(self, pod_or_key: dict[str, Any] | str) -> None:
        key = pod_or_key if isinstance(pod_or_key, str) else pod_key(pod_or_key)
        for pool in (self._active, self._backoff, self._unschedulable, self._gated):
            pool.pop(key, None)  # heap entries of removed pods are skipped lazily

    def _find(self, key: str) -> QueuedPodInfo | None:
        for pool in (self._active, self._backoff, self._unschedulable, self._gated):
            if key in pool:
                return pool[key]
        return None

    # popping
    def pop_nowait(self) -> QueuedPodInfo | None:
        """The next pod to schedule, or None; starts a scheduling cycle for it."""
        self.flush()
        while self._active_heap:
            _, _, seq, key = heapq.heappop(self._active_heap)
            info = self._active.get(key)
            if info is None or info.seq != seq:
                continue
            del self._active[key]
            self.scheduling_cycle += 1
            info.cycle = self.scheduling_cycle
            info.attempts += 1
            if info.initial_attempt_timestamp is None:
                info.initial_attempt_timestamp = self.clock.now()
            self._in_flight[key] = info
            return info
        return None

    async def pop(self) -> QueuedPodInfo:
        """Wait for the next pod to schedule."""
        while True:
            info = self.pop_nowait()
            if info is not None:
                return info
            self._wakeup.clear()
            try:
                await asyncio.wait_for(self._wakeup.wait(), timeout=self._next_due())
            except TimeoutError:
                pass

    def _next_due(self) -> float | None:
        """Seconds until the earliest backoff ends (None: nothing to wait for)."""
        while self._backoff_heap:
            expiry, seq, key = self._backoff_heap[0]
            info = self._backoff.get(key)
            if info is not None and info.seq == seq:
                return max(expiry - self.clock.now(), 0.0)
            heapq.heappop(self._backoff_heap)
        return None

    # after a cycle
    def done(self, key: str) -> None:
        """The pod's cycle ended and it was bound (or dropped): stop tracking it."""
        self._in_flight.pop(key, None)

    def add_unschedulable(self, info: QueuedPodInfo, unschedulable_plugins: set[str]) -> None:
        """No node fit: wait for a cluster event, or back off if one came during the cycle."""
        self._in_flight.pop(info.key, None)
        info.timestamp = self.clock.now()
        info.unschedulable_plugins = set(unschedulable_plugins)
        if self._move_request_cycle >= info.cycle:
            self._push_backoff(info)
        else:
            self._unschedulable[info.key] = info

    def add_backoff(self, info: QueuedPodInfo) -> None:
        """The cycle or binding failed with an error: retry after the backoff."""
        self._in_flight.pop(info.key, None)
        info.timestamp = self.clock.now()
        self._push_backoff(info)

    # cluster events
    def on_event(self, event: protocol.ClusterEvent, accept: Callable[[QueuedPodInfo], bool] | None = None) -> int:
        """Move unschedulable pods that a plugin interested in `event` rejected; returns the count."""
        self._move_request_cycle = self.scheduling_cycle
        interested = self.plugins_for_events.get(event, set())
        moved = 0
        for info in list(self._unschedulable.values()):
            plugins = info.unschedulable_plugins
            if plugins and not plugins & interested:
                continue
            if accept is not None and not accept(info):
                continue
            self._move(info)
            moved += 1
        return moved

    def flush(self) -> None:
        """Activate pods whose backoff ended and retry pods unschedulable for too long."""
        now = self.clock.now()
        while self._backoff_heap and self._backoff_heap[0][0] <= now:
            _, seq, key = heapq.heappop(self._backoff_heap)
            info = self._backoff.get(key)
            if info is not None and info.seq == seq:
                del self._backoff[key]
                self._push_active(info)
        for info in list(self._unschedulable.values()):
            if now - info.timestamp > self.max_unschedulable:
                self._move(info)

    # internals
    def backoff_duration(self, info: QueuedPodInfo) -> float:
        """initial * 2^(attempts-1), capped at max."""
        duration = self.initial_backoff
        for _ in range(1, info.attempts):
            duration *= 2
            if duration >= self.max_backoff:
                return self.max_backoff
        return min(duration, self.max_backoff)

    def _backoff_expiry(self, info: QueuedPodInfo) -> float:
        return info.timestamp + self.backoff_duration(info)

    def _move(self, info: QueuedPodInfo) -> None:
        self._unschedulable.pop(info.key, None)
        if info.attempts and self._backoff_expiry(info) > self.clock.now():
            self._push_backoff(info)
        else:
            self._push_active(info)

    def _push_active(self, info: QueuedPodInfo) -> None:
        info.seq = next(self._seq)
        self._active[info.key] = info
        heapq.heappush(self._active_heap, (-info.priority, info.timestamp, info.seq, info.key))
        self._wakeup.set()

    def _push_backoff(self, info: QueuedPodInfo) -> None:
        info.seq = next(self._seq)
        self._backoff[info.key] = info
        heapq.heappush(self._backoff_heap, (self._backoff_expiry(info), info.seq, info.key))
        self._wakeup.set()

    def pending(self) -> dict[str, int]:
        """Pods per pool (for metrics and tests)."""
        return {
            "active": len(self._active), "backoff": len(self._backoff),
            "unschedulable": len(self._unschedulable), "gated": len(self._gated),
        }


def _spec_or_labels_changed(old: dict[str, Any], new: dict[str, Any]) -> bool:
    old_meta, new_meta = old.get("metadata") or {}, new.get("metadata") or {}
    return old.get("spec") != new.get("spec") or old_meta.get("labels") != new_meta.get("labels")
