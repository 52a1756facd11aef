"""Turning list/watch options into a predicate over cached entries."""

from __future__ import annotations

from kubelite.api import errors, fields, labels, registry
from kubelite.apiserver import watchcache


def build(rt: registry.ResourceType, namespace: str, label_selector: str,
          field_selector: str) -> watchcache.Predicate:
    """A predicate matching entries in `namespace` (all when "") and both selectors."""
    lsel = labels.parse(label_selector) if label_selector else None
    fsel = fields.parse(field_selector) if field_selector else None
    if fsel is not None:
        supported = fields.supported(rt)
        for name in fsel.field_names():
            if name not in supported:
                raise errors.BadRequest(f"field label not supported: {name}")
    if lsel is None and fsel is None:
        if not namespace:
            return _everything
        return lambda e: e.namespace == namespace

    def predicate(e: watchcache.Entry) -> bool:
        if namespace and e.namespace != namespace:
            return False
        if lsel is not None and not lsel.matches(e.labels):
            return False
        return fsel is None or fsel.matches(e.decode())

    return predicate


def _everything(e: watchcache.Entry) -> bool:
    return True
