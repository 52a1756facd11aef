"""Turning list/watch options into a predicate over cached entries."""

from __future__ import annotations

from kubelite.api import fields, labels, registry
from kubelite.apiserver import watchcache


def build(rt: registry.ResourceType, namespace: str, label_selector: str,
          field_selector: str) -> watchcache.Predicate:
    """A predicate matching entries in `namespace` (all when "") and both selectors."""
    lsel = labels.parse(label_selector) if label_selector else None
    fsel = fields.parse(field_selector) if field_selector else None
    if fsel is not None:
        fields.validate(rt, fsel)
        if fsel.empty():
            fsel = None
    if lsel is not None and lsel.empty():
        lsel = None
    if lsel is None and fsel is None:
        if not namespace:
            return _everything
        return lambda e: e.namespace == namespace

    def predicate(e: watchcache.Entry) -> bool:
        if namespace and e.namespace != namespace:
            return False
        if lsel is not None and not lsel.matches(e.labels):
            return False
        if fsel is None:
            return True
        return fsel.matches_fields(e.fields or fields.field_set(rt, e.decode()))

    return predicate


def _everything(e: watchcache.Entry) -> bool:
    return True


def fields_fn(rt: registry.ResourceType) -> watchcache.FieldsFn:
    """What the cache keeps beside each object so field selectors need no decoding."""
    return lambda obj: fields.field_set(rt, obj)
