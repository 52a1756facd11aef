"""An informer cache overlaid with the objects this controller just wrote.

The binder writes a volume and then its claim in one sync; the informer shows those
writes a moment later. Reading through the overlay keeps the next sync from acting on
the older copy (upstream's storeVolumeUpdate/storeClaimUpdate). An overlay entry yields
to the informer's copy as soon as that is as new, and vanishes when the object does.
"""

from __future__ import annotations

from typing import Any

from kubelite.client import informer

Obj = dict[str, Any]


def _rv(obj: Obj) -> int:
    try:
        return int(obj["metadata"].get("resourceVersion") or 0)
    except ValueError:
        return 0


class Assumed:
    def __init__(self, inf: informer.Informer) -> None:
        self.informer = inf
        self._mine: dict[str, Obj] = {}
        inf.add_handlers(informer.Handlers(on_delete=self._forget))

    def _forget(self, obj: Obj) -> None:
        self._mine.pop(informer.key_of(obj), None)

    def assume(self, obj: Obj) -> Obj:
        """Remember an object the server returned from our write; returns it."""
        self._mine[informer.key_of(obj)] = obj
        return obj

    def get(self, key: str) -> Obj | None:
        cached = self.informer.get(key)
        mine = self._mine.get(key)
        if cached is None or mine is None:
            self._mine.pop(key, None)
            return cached
        if _rv(mine) > _rv(cached):
            return mine
        del self._mine[key]
        return cached

    def list(self) -> list[Obj]:
        out = []
        for obj in self.informer.list():
            got = self.get(informer.key_of(obj))
            if got is not None:
                out.append(got)
        return out
