"""Expectations: creations and deletions a controller has asked for but not yet seen.

A controller that acts on an informer cache would otherwise act twice: after creating
pods it may sync again before the pods reach its cache. Until the expected events arrive
(or a timeout passes, in case one was lost) the controller does not act on that key.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

TIMEOUT = 300.0


@dataclass
class _Expected:
    adds: int
    deletes: int
    at: float


class Expectations:
    def __init__(self) -> None:
        self._by_key: dict[str, _Expected] = {}

    def expect(self, key: str, adds: int = 0, deletes: int = 0) -> None:
        self._by_key[key] = _Expected(adds, deletes, time.monotonic())

    def observed_add(self, key: str) -> None:
        e = self._by_key.get(key)
        if e is not None:
            e.adds -= 1

    def observed_delete(self, key: str) -> None:
        e = self._by_key.get(key)
        if e is not None:
            e.deletes -= 1

    def satisfied(self, key: str) -> bool:
        e = self._by_key.get(key)
        if e is None:
            return True
        return (e.adds <= 0 and e.deletes <= 0) or time.monotonic() - e.at > TIMEOUT

    def forget(self, key: str) -> None:
        self._by_key.pop(key, None)
