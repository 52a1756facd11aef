"""Mapping a dependent's informer events (a pod's, say) to the controller that owns it, as
sample-controller's handleObject does.

An owned dependent queues its owner's key, with the owner's expected create or delete
observed; an orphan (no controller reference) queues every owner in its namespace whose
selector matches its labels, since one of them may adopt it. A dependent that changed
owners queues both.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kubelite.client import informer, workqueue
from kubelite.controllers import expectations, ownership

Obj = dict[str, Any]


class Dependents:
    def __init__(self, kind: str, queue: workqueue.WorkQueue[str],
                 expected: expectations.Expectations, owners_in: Callable[[str], list[Obj]],
                 may_adopt: Callable[[Obj, dict[str, str]], bool]) -> None:
        """kind: the owner's kind; owners_in(namespace): its objects there; may_adopt(owner,
        labels): whether its selector takes a dependent with those labels."""
        self.kind = kind
        self._queue = queue
        self._expected = expected
        self._owners_in = owners_in
        self._may_adopt = may_adopt

    def handlers(self) -> informer.Handlers:
        return informer.Handlers(on_add=self.added, on_update=self.updated,
                                 on_delete=self.deleted)

    def owner_key(self, obj: Obj) -> str | None:
        """The key of the object's controller, if that is one of ours."""
        ref = ownership.controller_ref(obj)
        if ref is None or ref.get("kind") != self.kind:
            return None
        return f"{obj['metadata']['namespace']}/{ref['name']}"

    def added(self, obj: Obj) -> None:
        key = self.owner_key(obj)
        if key is not None:
            self._expected.observed_add(key)
            self._queue.add(key)
        elif ownership.controller_ref(obj) is None:
            self._enqueue_adopters(obj)

    def updated(self, old: Obj, new: Obj) -> None:
        if old["metadata"].get("resourceVersion") == new["metadata"].get("resourceVersion"):
            return
        old_key, new_key = self.owner_key(old), self.owner_key(new)
        if old_key and old_key != new_key:
            self._queue.add(old_key)
        if new_key:
            self._queue.add(new_key)
        elif ownership.controller_ref(new) is None:
            self._enqueue_adopters(new)

    def deleted(self, obj: Obj) -> None:
        key = self.owner_key(obj)
        if key is not None:
            self._expected.observed_delete(key)
            self._queue.add(key)

    def _enqueue_adopters(self, obj: Obj) -> None:
        found = obj["metadata"].get("labels") or {}
        for owner in self._owners_in(obj["metadata"]["namespace"]):
            if self._may_adopt(owner, found):
                self._queue.add(informer.key_of(owner))
