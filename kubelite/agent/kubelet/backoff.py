"""Per-key exponential back-off, as the kubelet's flowcontrol.Backoff.

`next(key, now)` starts at `initial` and doubles up to `maximum`; an entry untouched for
twice the maximum starts over. `in_backoff_since(key, event, now)` says whether `event`
(e.g. the time a container finished) is still within the current back-off window.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class _Entry:
    duration: float
    updated: float


@dataclass
class BackOff:
    initial: float = 10.0
    maximum: float = 300.0
    _entries: dict[str, _Entry] = field(default_factory=dict)

    def next(self, key: str, now: float) -> float:
        """Advance the back-off of `key` and return the new duration."""
        entry = self._entries.get(key)
        if entry is None or now - entry.updated > 2 * self.maximum:
            entry = self._entries[key] = _Entry(self.initial, now)
        else:
            entry.duration = min(entry.duration * 2, self.maximum)
            entry.updated = now
        return entry.duration

    def get(self, key: str) -> float:
        entry = self._entries.get(key)
        return entry.duration if entry is not None else 0.0

    def in_backoff_since(self, key: str, event: float, now: float) -> bool:
        entry = self._entries.get(key)
        if entry is None or now - entry.updated > 2 * self.maximum:
            return False
        return now - event < entry.duration

    def reset(self, key: str) -> None:
        self._entries.pop(key, None)

    def forget_prefix(self, prefix: str) -> None:
        """Drop every entry of one pod (keys start with its uid)."""
        for key in [k for k in self._entries if k.startswith(prefix)]:
            del self._entries[key]
