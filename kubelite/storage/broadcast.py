"""In-process fan-out of committed events to watchers.

The writer publishes each committed event once, in revision order; every subscription
whose prefix matches gets it in a bounded queue. Publishing never blocks: a subscription
whose queue is full is marked overflowed and ended, so one slow watcher cannot stall the
writers. Its iterator then raises protocol.WatchOverflow (a Compacted, i.e. 410 Gone).
"""

from __future__ import annotations

import asyncio
import collections

from kubelite.storage import protocol

DEFAULT_QUEUE = 100_000
_END = None   # queue sentinel: the subscription ended (store closed or overflow)


class Subscription:
    """One watcher's buffer of live events."""

    def __init__(self, prefix: str, maxsize: int) -> None:
        self.prefix = prefix
        self.maxsize = maxsize
        self.overflowed = False
        self.ended = False
        self._items: collections.deque[protocol.Event | None] = collections.deque()
        self._ready = asyncio.Event()

    def offer(self, event: protocol.Event) -> bool:
        """Queue an event; False (and the subscription ends) when the buffer is full."""
        if self.ended:
            return False
        if len(self._items) >= self.maxsize:
            self.overflowed = True
            self.end()
            return False
        self._items.append(event)
        self._ready.set()
        return True

    def end(self) -> None:
        if not self.ended:
            self.ended = True
            self._items.append(_END)
            self._ready.set()

    async def next(self) -> protocol.Event | None:
        """The next event, or None once the subscription has ended."""
        while not self._items:
            self._ready.clear()
            await self._ready.wait()
        return self._items.popleft()


class Broadcaster:
    """The set of live subscriptions of one store."""

    def __init__(self, queue_size: int = DEFAULT_QUEUE) -> None:
        self.queue_size = queue_size
        self._subs: set[Subscription] = set()

    def subscribe(self, prefix: str) -> Subscription:
        sub = Subscription(prefix, self.queue_size)
        self._subs.add(sub)
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        self._subs.discard(sub)

    def publish(self, event: protocol.Event) -> None:
        key = event.kv.key
        dropped = [sub for sub in self._subs if key.startswith(sub.prefix) and not sub.offer(event)]
        for sub in dropped:
            self._subs.discard(sub)

    def close(self) -> None:
        for sub in self._subs:
            sub.end()
        self._subs.clear()
